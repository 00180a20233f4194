// The bearer token lives in this tab's sessionStorage only: gone when the tab
// closes, never in localStorage, a cookie, a URL or a log line.
const key = "virtrigaud.console.token";

/** The token this tab logged in with, if any. */
export function readToken(): string | undefined {
  return sessionStorage.getItem(key) ?? undefined;
}

export function saveToken(token: string): void {
  sessionStorage.setItem(key, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(key);
}
