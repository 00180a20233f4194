import { readFileSync } from "node:fs";
import { Agent, fetch } from "undici";
import { type VimClient, type VimClientOptions, createVimClient } from "../client/vim-client.js";

/** Where a vcsim serves and how to reach it: the test bed's, or one `startVcsim` started. */
export interface VcsimEndpoint {
  /** The SDK endpoint, `https://127.0.0.1:PORT/sdk`. */
  url: string;
  username: string;
  password: string;
  /** The server's certificate (PEM), to verify it against. */
  caFile: string;
  /** The certificate's SHA-256 thumbprint, to pin it. */
  thumbprint: string;
}

/** The vcsim test bed (tools/testbed/vcsim): its endpoint and the template it adds. */
export interface VcsimTestbed extends VcsimEndpoint {
  /** The name of the VM template the test bed adds (`vrtg-template`). */
  template: string;
}

/**
 * The vcsim test bed's environment: the `VIRTRIGAUD_VCSIM_*` variables that
 * tools/testbed/vcsim/start.sh writes to `$VIRTRIGAUD_TESTBED/vcsim.env`.
 *
 * @throws Error naming the first variable that is not set, and saying how to
 * set them.
 */
export function vcsimFromEnv(): VcsimTestbed {
  const get = (name: string) => {
    const value = process.env[name];
    if (!value) {
      throw new Error(
        `${name} is not set: run tools/testbed/up.sh vcsim and source .testbed/vcsim.env`,
      );
    }
    return value;
  };
  return {
    url: get("VIRTRIGAUD_VCSIM_URL"),
    username: get("VIRTRIGAUD_VCSIM_USERNAME"),
    password: get("VIRTRIGAUD_VCSIM_PASSWORD"),
    caFile: get("VIRTRIGAUD_VCSIM_CA_FILE"),
    thumbprint: get("VIRTRIGAUD_VCSIM_THUMBPRINT"),
    template: get("VIRTRIGAUD_VCSIM_TEMPLATE"),
  };
}

/**
 * A client of a vcsim (by default the test bed's), verifying its certificate
 * against its CA file, with keepalive off unless `overrides` turn it on.
 *
 * @throws Error when `endpoint` is left out and the test bed's environment is
 * not set (see `vcsimFromEnv`).
 */
export function vcsimClient(
  overrides: Partial<VimClientOptions> = {},
  endpoint: VcsimEndpoint = vcsimFromEnv(),
): VimClient {
  return createVimClient({
    url: endpoint.url,
    username: endpoint.username,
    password: endpoint.password,
    tls: { caFile: endpoint.caFile },
    keepAliveMs: 0,
    ...overrides,
  });
}

/** Options of `vcsimStats`. */
export interface VcsimStatsOptions {
  /**
   * Only the calls sent with this User-Agent (a client made with
   * `vcsimClient({ userAgent })`): what one test caused, whatever other tests
   * sharing the vcsim do meanwhile. Default: every call.
   */
  userAgent?: string;
}

/**
 * The SOAP calls a vcsim (by default the test bed's) has served since it
 * started or its counts were last reset (POST /virtrigaud/stats/reset), by
 * method; with `userAgent`, those of the requests that sent it. tools/vcsim
 * counts them; reading them is not one.
 *
 * @throws Error when `endpoint` is left out and the test bed's environment is
 * not set; the fetch's error when vcsim cannot be reached.
 */
export async function vcsimStats(
  endpoint: Pick<VcsimEndpoint, "url" | "caFile"> = vcsimFromEnv(),
  options: VcsimStatsOptions = {},
): Promise<Record<string, number>> {
  const dispatcher = new Agent({ connect: { ca: readFileSync(endpoint.caFile) } });
  const url = new URL("/virtrigaud/stats", endpoint.url);
  if (options.userAgent !== undefined) url.searchParams.set("userAgent", options.userAgent);
  try {
    const res = await fetch(url, { dispatcher });
    return (await res.json()) as Record<string, number>;
  } finally {
    await dispatcher.close();
  }
}

/** A name unique to this run, for objects a test makes in a shared vcsim. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
