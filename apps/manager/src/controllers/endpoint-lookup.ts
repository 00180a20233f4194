import { lookup as dnsLookup } from "node:dns";
import type { LookupFunction } from "node:net";
import { isIP } from "node:net";
import {
  type EndpointAllowlist,
  judgeEndpointHost,
  judgeResolvedAddresses,
} from "./endpoint-allowlist.js";

/** The host of an endpoint URL, without IPv6 brackets; "" when it is no URL. */
function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    return "";
  }
}

function resolveAll(host: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses.map((a) => a.address)),
    ),
  );
}

/**
 * Why `endpoint` is outside the allowlist now, or undefined: its host is
 * judged, and a host name is resolved and every address judged too (what a
 * name points to may change after the Provider was applied).
 */
export async function judgeEndpointNow(
  list: EndpointAllowlist,
  endpoint: string,
): Promise<string | undefined> {
  const host = hostOf(endpoint);
  const problem = judgeEndpointHost(list, host);
  if (problem || isIP(host)) return problem;
  let addresses: string[];
  try {
    addresses = await resolveAll(host);
  } catch (err) {
    return `the host ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? "error"})`;
  }
  return judgeResolvedAddresses(list, host, addresses);
}

/**
 * A `lookup` for the connections to providers: it resolves every address
 * of the name and fails the connection unless each is allowed, so a name
 * that points elsewhere between two checks is still not connected to.
 */
export function allowlistLookup(list: EndpointAllowlist): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, "", 0);
      const problem =
        judgeEndpointHost(list, hostname) ??
        judgeResolvedAddresses(
          list,
          hostname,
          addresses.map((a) => a.address),
        );
      if (problem)
        return callback(
          Object.assign(new Error(`provider endpoint refused: ${problem}`), {
            code: "ENOTALLOWED",
          }),
          "",
          0,
        );
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      return callback(null, first?.address ?? "", first?.family ?? 4);
    });
  };
}
