import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { isMessage } from "@bufbuild/protobuf";
import { DescribeRequestSchema } from "@virtrigaud/proto";
import {
  type Interceptor,
  type UnaryRequest,
  createContextKey,
  createContextValues,
} from "@connectrpc/connect";
import { ErrorReason, ProviderError } from "../src/index.js";
import { createProviderClient } from "../src/client/index.js";
import { type TestServer, startTestServer } from "../src/testing/index.js";
import { stubProvider } from "./stub-provider.js";

// Describe fails with UNAVAILABLE as many times as the VM id says, then answers.
const failuresLeft = new Map<string, number>();
const provider = stubProvider({
  describe: (request) => {
    const left = failuresLeft.get(request.vmId) ?? 0;
    if (left > 0) {
      failuresLeft.set(request.vmId, left - 1);
      throw ProviderError.unavailable(`down ${left}`);
    }
    return Promise.resolve({ exists: true });
  },
});

let test: TestServer;
beforeAll(async () => {
  test = await startTestServer(provider);
});
afterAll(() => test.close());

const retry = { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 1 };

/** An interceptor that records what passes through it. */
function recorder(seen: string[], label: string): Interceptor {
  return (next) => async (req) => {
    seen.push(`${label} ${req.method.localName}`);
    try {
      return await next(req);
    } catch (err) {
      seen.push(`${label} failed ${ProviderError.is(err) ? ErrorReason[err.reason] : String(err)}`);
      throw err;
    }
  };
}

it("runs call interceptors once per call, around the retries, and attempt interceptors per attempt", async () => {
  const seen: string[] = [];
  const client = createProviderClient(test.server.url, {
    retry,
    callInterceptors: [recorder(seen, "call")],
    interceptors: [recorder(seen, "attempt")],
  });
  try {
    failuresLeft.set("vm-a", 2);
    expect(await client.describe({ vmId: "vm-a" })).toMatchObject({ exists: true });
    expect(seen.filter((s) => s.startsWith("call"))).toEqual(["call describe"]);
    expect(seen.filter((s) => s === "attempt describe")).toHaveLength(3);
  } finally {
    client.close();
  }
});

it("gives call interceptors the error the call ends with, typed", async () => {
  const seen: string[] = [];
  const client = createProviderClient(test.server.url, {
    retry,
    callInterceptors: [recorder(seen, "call")],
  });
  try {
    failuresLeft.set("vm-b", 5);
    const error = await client.describe({ vmId: "vm-b" }).catch((e: unknown) => e);
    expect(ProviderError.is(error, ErrorReason.UNAVAILABLE)).toBe(true);
    expect(seen).toEqual(["call describe", "call failed UNAVAILABLE"]);
  } finally {
    client.close();
  }
});

it("applies call interceptors first outermost, with the normalised request and the caller's context values", async () => {
  const order: string[] = [];
  const tag = createContextKey("none");
  let request: UnaryRequest | undefined;
  const client = createProviderClient(test.server.url, {
    callInterceptors: [
      (next) => (req) => {
        order.push("outer");
        return next(req);
      },
      (next) => (req) => {
        order.push("inner");
        request = req as UnaryRequest;
        return next(req);
      },
    ],
  });
  try {
    await client.describe({ vmId: "vm-c" }, { contextValues: createContextValues().set(tag, "x") });
    expect(order).toEqual(["outer", "inner"]);
    expect(isMessage(request?.message, DescribeRequestSchema)).toBe(true);
    expect(request?.message).toMatchObject({ vmId: "vm-c" });
    expect(request?.contextValues.get(tag)).toBe("x");
    expect(request?.url).toBe(`${test.server.url}/virtrigaud.provider.v1.ProviderService/Describe`);
  } finally {
    client.close();
  }
});

it("lets a call interceptor refuse a call, or give it a signal of its own", async () => {
  let sent = 0;
  const stop = new AbortController();
  const client = createProviderClient(test.server.url, {
    callInterceptors: [
      (next) => (req) => {
        if (req.method.localName === "validate") throw ProviderError.unavailable("refused");
        return next({ ...req, signal: stop.signal });
      },
    ],
    interceptors: [
      (next) => (req) => {
        sent++;
        return next(req);
      },
    ],
  });
  try {
    const refused = await client.validate({}).catch((e: unknown) => e);
    expect(ProviderError.is(refused, ErrorReason.UNAVAILABLE)).toBe(true);
    expect(sent).toBe(0);
    stop.abort();
    const canceled = await client.describe({ vmId: "vm-d" }).catch((e: unknown) => e);
    expect(ProviderError.is(canceled, ErrorReason.CANCELED)).toBe(true);
  } finally {
    client.close();
  }
});
