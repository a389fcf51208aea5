# syntax=docker/dockerfile:1
# Build: compile src and routes only (tsconfig.build.json: no bench, no tests) and the results
# page, with dev dependencies. Run: production dependencies only, non-root, Node 24 LTS, signals straight to
# node (no shell wrapper).
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY routes ./routes
# The results page: Vite builds web/ into dist/web, its API types from the committed document.
COPY openapi ./openapi
COPY web ./web
RUN npm run build

FROM node:24-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The command: `docker run --rm IMAGE bin/headprobe.js example.com` (it runs dist/ here).
COPY bin ./bin
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Semi-spaces of 8 MB from the start: fewer scavenges, so fewer milliseconds-long
# pauses in the timings of targets in flight (bench/README.md, "Timing accuracy").
CMD ["node", "--min-semi-space-size=8", "dist/src/server.js"]
