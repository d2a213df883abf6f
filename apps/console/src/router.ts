// Routes in the URL's hash (`#/topics/orders`): the node serves one file, and a link to a page can
// be shared or reloaded.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'overview' }
  | { page: 'topics' }
  | { page: 'topic'; name: string }
  | { page: 'groups' }
  | { page: 'group'; id: string }
  | { page: 'cluster' }
  | { page: 'missing'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const [first, second] = parts;
  if (parts.length === 0) return { page: 'overview' };
  if (first === 'topics') return second === undefined ? { page: 'topics' } : { page: 'topic', name: second };
  if (first === 'groups') return second === undefined ? { page: 'groups' } : { page: 'group', id: second };
  if (first === 'cluster' && parts.length === 1) return { page: 'cluster' };
  return { page: 'missing', path };
}

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
