// The bearer token the dashboard sends on every API call: kept in sessionStorage (gone with the tab), taken from a
// `#token=…` login link (`berth dashboard --url`) and wiped from the address bar at once.

const key = 'berth.token';
const listeners = new Set<() => void>();

export function currentToken(): string | undefined {
  return sessionStorage.getItem(key) ?? undefined;
}

export function setToken(token: string | undefined): void {
  if (token === undefined || token === '') sessionStorage.removeItem(key);
  else sessionStorage.setItem(key, token);
  for (const l of listeners) l();
}

export function onTokenChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** A `#token=…` fragment becomes the session's token; the address bar keeps only the route. */
export function takeTokenFromLocation(): void {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match?.[1] === undefined) return;
  setToken(decodeURIComponent(match[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/`);
}
