import { expect, it } from "@jest/globals";
import { ServeConfigError, compileServeOptions, parseListenAddress } from "./serve-options.js";

it.each([
  ["127.0.0.1:9443", { host: "127.0.0.1", port: 9443 }],
  [":8080", { host: "", port: 8080 }],
  ["[::1]:0", { host: "::1", port: 0 }],
  ["localhost:1", { host: "localhost", port: 1 }],
])("parses %s", (text, address) => {
  expect(parseListenAddress(text)).toEqual(address);
});

it.each(["9443", "host:", "host:70000", "a:b:c"])("refuses %s", (text) => {
  expect(() => parseListenAddress(text)).toThrow(ServeConfigError);
});

it("applies production defaults", () => {
  expect(compileServeOptions({ insecure: true })).toMatchObject({
    listen: { host: "", port: 9443 },
    opsListen: { host: "", port: 8080 },
    drainTimeoutMs: 30_000,
    healthCheckIntervalMs: 10_000,
    handleSignals: true,
  });
});

it("refuses to serve without TLS unless insecure is explicit", () => {
  expect(() => compileServeOptions({})).toThrow(/refusing to serve without TLS/);
  expect(() => compileServeOptions({ insecure: true, drainTimeoutMs: -1 })).toThrow(
    /drainTimeoutMs/,
  );
});

it("a server on every interface reports a URL clients can use", async () => {
  const { serveProvider } = await import("./serve-provider.js");
  const { createLogger } = await import("../logging/create-logger.js");
  const server = await serveProvider(
    {
      validate: () => Promise.resolve({}),
      getCapabilities: () => Promise.resolve({}),
      create: () => Promise.resolve({}),
      delete: () => Promise.resolve({}),
      power: () => Promise.resolve({}),
      reconfigure: () => Promise.resolve({}),
      describe: () => Promise.resolve({}),
      listVMs: () => Promise.resolve({}),
      getTask: () => Promise.resolve({}),
    },
    {
      listen: ":0",
      opsListen: false,
      insecure: true,
      handleSignals: false,
      logger: createLogger({ level: "silent" }),
    },
  );
  try {
    expect(server.url).toMatch(/^http:\/\/localhost:\d+$/);
  } finally {
    await server.close();
  }
});
