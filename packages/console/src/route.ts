/**
 * Hash routes (`#/space/people/objects`): the server serves one page at /console and never needs
 * to know the console's paths, and every view has a URL that can be bookmarked and reloaded.
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { readonly page: 'spaces' }
  | { readonly page: 'objects'; readonly space: string }
  | { readonly page: 'object'; readonly space: string; readonly key: string }
  | { readonly page: 'search'; readonly space: string }
  | { readonly page: 'changes' }
  | { readonly page: 'metrics' }
  | { readonly page: 'health' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [first, space, second, key] = parts;
  if (first === 'changes' || first === 'metrics' || first === 'health') return { page: first };
  if (first === 'space' && space) {
    if (second === 'search') return { page: 'search', space };
    if (second === 'object' && key !== undefined) return { page: 'object', space, key };
    return { page: 'objects', space };
  }
  return { page: 'spaces' };
}

export function hrefOf(route: Route): string {
  const e = encodeURIComponent;
  switch (route.page) {
    case 'objects': return `#/space/${e(route.space)}`;
    case 'object': return `#/space/${e(route.space)}/object/${e(route.key)}`;
    case 'search': return `#/space/${e(route.space)}/search`;
    default: return `#/${route.page}`;
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
