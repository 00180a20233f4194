import { isIP } from "node:net";

/**
 * Whether a listen host is a loopback address: "localhost", 127.0.0.0/8,
 * ::1 or an IPv4-mapped 127 address. Every other name (and "", every
 * interface) is not: a name could resolve anywhere.
 */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  const kind = isIP(host);
  if (kind === 4) return host.startsWith("127.");
  if (kind === 6) {
    const lower = host.toLowerCase();
    return lower === "::1" || /^(0:){5}ffff:127\.|^::ffff:127\./.test(lower);
  }
  return false;
}
