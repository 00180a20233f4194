import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { Code } from "@connectrpc/connect";
import { ErrorReason, ErrorReasonSchema, ProviderError } from "../src/index.js";
import { type ClientProtocol, createProviderClient } from "../src/client/index.js";
import { codeOfReason } from "../src/errors/reason-codes.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { stubProvider } from "./stub-provider.js";

const reasons = ErrorReasonSchema.values
  .map((v) => v.number as ErrorReason)
  .filter((r) => r !== ErrorReason.UNSPECIFIED && r !== ErrorReason.INTERNAL);

// The provider throws the error whose reason number is the VM id's suffix.
const provider = stubProvider({
  describe: (request) => {
    const reason = Number(request.vmId.replace("vm-", "")) as ErrorReason;
    if (reason === ErrorReason.INTERNAL) throw new Error("database password is hunter2");
    throw new ProviderError(reason, `failure ${reason}`, {
      field: reason === ErrorReason.INVALID_SPEC ? "class.cpu" : undefined,
      retryAfterMs: reason === ErrorReason.RETRYABLE ? 1500 : undefined,
    });
  },
});

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer(provider);
});
afterAll(() => test.close());

describe.each<[ClientProtocol, "1.1" | "2"]>([
  ["connect", "2"],
  ["connect", "1.1"],
  ["grpc", "2"],
  ["grpc-web", "2"],
  ["grpc-web", "1.1"],
])("over %s on HTTP/%s", (protocol, httpVersion) => {
  it.each(reasons)("reason %s arrives as the same typed error", async (reason) => {
    const client = createProviderClient(test.server.url, { protocol, httpVersion, retry: false });
    try {
      const error = await client.describe({ vmId: `vm-${reason}` }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ProviderError.is(error, reason)).toBe(true);
      const typed = error as ProviderError;
      expect(typed.rawMessage).toBe(`failure ${reason}`);
      expect(typed.code).toBe(codeOfReason[reason]);
      expect(typed.field).toBe(reason === ErrorReason.INVALID_SPEC ? "class.cpu" : undefined);
      expect(typed.retryAfterMs).toBe(reason === ErrorReason.RETRYABLE ? 1500 : undefined);
    } finally {
      client.close();
    }
  });

  it("an unexpected exception arrives as INTERNAL without its message", async () => {
    const client = createProviderClient(test.server.url, { protocol, httpVersion, retry: false });
    try {
      const error = (await client
        .describe({ vmId: `vm-${ErrorReason.INTERNAL}` })
        .catch((e: unknown) => e)) as ProviderError;
      expect(ProviderError.is(error, ErrorReason.INTERNAL)).toBe(true);
      expect(error.code).toBe(Code.Internal);
      expect(error.message).not.toContain("hunter2");
      expect(error.message).toMatch(
        /the provider's log has the details under request id [0-9a-f-]{36}/,
      );
    } finally {
      client.close();
    }
  });
});

it("maps every reason to its own Connect code", () => {
  const codes = [...reasons, ErrorReason.INTERNAL].map((r) => codeOfReason[r]);
  expect(new Set(codes).size).toBe(codes.length);
});
