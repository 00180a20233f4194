import { afterEach, describe, expect, it } from "@jest/globals";
import { fetch } from "undici";
import {
  ThumbprintMismatchError,
  VimConnectionError,
  type VimClient,
  type VimTlsOptions,
} from "../src/index.js";
import { vcsimClient, vcsimFromEnv } from "../src/testing/index.js";

const clients: VimClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
const use = (tls: VimTlsOptions) => {
  const client = vcsimClient({ tls });
  clients.push(client);
  return client;
};

describe("TLS", () => {
  it("verifies the server against a CA file", async () => {
    await expect(use({ caFile: vcsimFromEnv().caFile }).login()).resolves.toMatchObject({
      userName: vcsimFromEnv().username,
    });
  });

  it("refuses a self-signed server by default", async () => {
    const error = await use({})
      .login()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VimConnectionError);
    expect((error as Error).message).toMatch(/self[- ]signed|unable to verify|certificate/i);
  });

  it("accepts a pinned thumbprint in any notation, and refuses another", async () => {
    const pin = vcsimFromEnv().thumbprint;
    await expect(
      use({ thumbprint: pin.replaceAll(":", "").toLowerCase() }).login(),
    ).resolves.toBeDefined();
    const wrong = pin.replace(/^../, pin.startsWith("00") ? "11" : "00");
    const error = await use({ thumbprint: wrong })
      .login()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VimConnectionError);
    expect((error as VimConnectionError).cause).toBeInstanceOf(ThumbprintMismatchError);
  });

  it("skips verification only for the client that asks, never for the process", async () => {
    await expect(use({ insecure: true }).login()).resolves.toBeDefined();
    expect(process.env["NODE_TLS_REJECT_UNAUTHORIZED"]).toBeUndefined();
    // Another request in the same process still verifies.
    await expect(fetch(vcsimFromEnv().url, { method: "POST", body: "" })).rejects.toThrow();
  });

  it("refuses both a thumbprint and insecure, and a malformed thumbprint", () => {
    expect(() =>
      vcsimClient({ tls: { insecure: true, thumbprint: vcsimFromEnv().thumbprint } }),
    ).toThrow(/not both/);
    expect(() => vcsimClient({ tls: { thumbprint: "AB:CD" } })).toThrow(/64 hexadecimal/);
  });
});
