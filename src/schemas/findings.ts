// What a result's head says beyond its fields: security findings with a score and grade,
// technology hints, and the Alt-Svc advertisement. Computed from the status, headers,
// redirects and TLS facts only (src/findings/); the body is never read.
import { z } from 'zod';

export const findingSeverities = ['info', 'low', 'medium', 'high'] as const;
export const FindingSeverity = z.enum(findingSeverities);
export type FindingSeverity = z.infer<typeof FindingSeverity>;

export const findingCategories = [
  'hsts',
  'csp',
  'x-frame-options',
  'x-content-type-options',
  'referrer-policy',
  'cookies',
  'cors',
  'cross-origin-resource-policy',
  'cross-origin-opener-policy',
  'cross-origin-embedder-policy',
  'redirection',
  'tls',
  'disclosure',
] as const;
export const FindingCategory = z.enum(findingCategories);
export type FindingCategory = z.infer<typeof FindingCategory>;

export const FindingEvidence = z
  .object({
    header: z.string().describe('The header (as received) the finding was read from.'),
    value: z.string(),
  })
  .meta({ id: 'FindingEvidence' });
export type FindingEvidence = z.infer<typeof FindingEvidence>;

export const Finding = z
  .object({
    id: z
      .string()
      .describe(
        'Stable id (README, "Findings"); the scored ones are the MDN HTTP Observatory test ' +
          'results of the same name.',
      ),
    category: FindingCategory,
    severity: FindingSeverity,
    message: z.string(),
    scoreModifier: z
      .int()
      .describe('What this finding adds to the score (0 for the ones not scored).'),
    evidence: FindingEvidence.nullable().describe('The header it was read from, if any.'),
  })
  .meta({ id: 'Finding' });
export type Finding = z.infer<typeof Finding>;

export const grades = [
  'A+',
  'A',
  'A-',
  'B+',
  'B',
  'B-',
  'C+',
  'C',
  'C-',
  'D+',
  'D',
  'D-',
  'F',
] as const;
export const Grade = z.enum(grades);
export type Grade = z.infer<typeof Grade>;

export const Technology = z
  .object({
    name: z.string(),
    category: z
      .string()
      .describe(
        'web-server, app-server, cdn, proxy, load-balancer, hosting, security, language, ' +
          'framework or cms.',
      ),
    version: z.string().nullable().describe('When the header gives one.'),
    evidence: FindingEvidence,
  })
  .meta({ id: 'Technology' });
export type Technology = z.infer<typeof Technology>;

export const AltService = z
  .object({
    protocol: z.string().describe('ALPN id, e.g. h3, h3-29, h2.'),
    host: z.string().nullable().describe('Null: the same host as the response.'),
    port: z.int(),
    maxAge: z.int().describe('Seconds (ma=, 86400 when absent).'),
  })
  .meta({ id: 'AltService' });
export type AltService = z.infer<typeof AltService>;

export const AltSvc = z
  .object({
    http3: z.boolean().describe('True when an h3 (or draft h3-NN) alternative is advertised.'),
    clear: z.boolean().describe('Alt-Svc: clear (the server withdraws its alternatives).'),
    services: z.array(AltService),
  })
  .describe("The final response's Alt-Svc header, parsed (RFC 7838); no QUIC probe is made.")
  .meta({ id: 'AltSvc' });
export type AltSvc = z.infer<typeof AltSvc>;
