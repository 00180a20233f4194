import { useEffect } from "react";
import { expiryOf } from "./token-expiry";

// setTimeout takes at most 2^31-1 ms (24.8 days); a later expiry re-arms.
const longestTimer = 2 ** 31 - 1;

/**
 * Calls `onExpired` when `token` expires, if it says when: the page then
 * asks to log in again rather than showing what a watch opened before the
 * expiry still sends (the manager refuses the token's next calls anyway).
 */
export function useLogoutAtExpiry(token: string | undefined, onExpired: () => void): void {
  useEffect(() => {
    const expiry = token ? expiryOf(token) : undefined;
    if (expiry === undefined) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      const left = expiry - Date.now();
      if (left <= 0) onExpired();
      else timer = setTimeout(arm, Math.min(left, longestTimer));
    };
    arm();
    return () => clearTimeout(timer);
  }, [token, onExpired]);
}
