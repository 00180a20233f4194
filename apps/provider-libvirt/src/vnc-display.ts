/**
 * Where a domain's VNC display listens, from `virsh vncdisplay` (`ADDR:N`,
 * `:N` when it listens on every address, `[ADDR]:N` for IPv6): the address
 * to reach from the host (its loopback when it listens everywhere) and the
 * port, 5900 + N. Undefined when the domain has no VNC display.
 */
export function vncAddressOf(display: string): { address: string; port: number } | undefined {
  const match = /^(.*):(\d+)$/.exec(display.trim());
  if (!match) return undefined;
  let address = match[1] ?? "";
  if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
  if (address === "" || address === "0.0.0.0" || address === "::") address = "127.0.0.1";
  return { address, port: 5900 + Number(match[2]) };
}
