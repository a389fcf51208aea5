// Two pages: / (submit, recent jobs) and /jobs/{id} (one job). Real paths, so a job's URL can
// be shared and reloaded: the service answers both with this page.
import { useEffect, useState } from 'preact/hooks';

export type Route = { page: 'home' } | { page: 'job'; id: string };

export function routeOf(path: string): Route {
  const match = /^\/jobs\/([^/]+)\/?$/.exec(path);
  return match === null ? { page: 'home' } : { page: 'job', id: decodeURIComponent(match[1]!) };
}

export function navigate(path: string): void {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location.pathname));
  useEffect(() => {
    const onPop = () => setRoute(routeOf(location.pathname));
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  return route;
}
