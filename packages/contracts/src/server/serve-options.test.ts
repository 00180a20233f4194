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

/** Plaintext, which serves loopback addresses only. */
const plain = { insecure: true, listen: "127.0.0.1:9443" };

it("applies production defaults", () => {
  expect(compileServeOptions({ tls: { certFile: "tls.crt", keyFile: "tls.key" } })).toMatchObject({
    listen: { host: "", port: 9443 },
    opsListen: { host: "", port: 8080 },
    drainTimeoutMs: 30_000,
    healthCheckIntervalMs: 10_000,
    handleSignals: true,
    readMaxBytes: 4 * 2 ** 20,
    maxConnections: 4096,
    headersTimeoutMs: 30_000,
    requestTimeoutMs: 60_000,
    idleTimeoutMs: 120_000,
    writeTimeoutMs: 30_000,
  });
});

it.each([
  [{ readMaxBytes: 1.5 }, /readMaxBytes must be a whole number/],
  [{ readMaxBytes: 2 ** 33 }, /readMaxBytes must be a whole number from 1 to 4294967295/],
  [{ maxConnections: 0 }, /maxConnections must be a positive number/],
  [{ headersTimeoutMs: 5000, requestTimeoutMs: 1000 }, /must be at least headersTimeoutMs/],
  [{ writeTimeoutMs: 2 ** 31 }, /writeTimeoutMs must be at most/],
])("refuses limits out of range: %j", (limits, message) => {
  expect(() => compileServeOptions({ ...plain, ...limits })).toThrow(message);
});

it("raises the default request timeout to a longer header timeout", () => {
  expect(compileServeOptions({ ...plain, headersTimeoutMs: 90_000 })).toMatchObject({
    headersTimeoutMs: 90_000,
    requestTimeoutMs: 90_000,
  });
});

it("refuses to serve without TLS unless insecure is explicit", () => {
  expect(() => compileServeOptions({})).toThrow(/refusing to serve without TLS/);
  expect(() => compileServeOptions({ ...plain, drainTimeoutMs: -1 })).toThrow(/drainTimeoutMs/);
});

it.each(["127.0.0.1:0", "127.8.9.10:1", "localhost:0", "[::1]:0", "[::ffff:127.0.0.1]:0"])(
  "serves plaintext on the loopback address %s",
  (listen) => {
    expect(() => compileServeOptions({ insecure: true, listen })).not.toThrow();
  },
);

it.each([":0", "0.0.0.0:0", "[::]:0", "10.0.0.1:0", "myhost:0", "localhost.example.com:0"])(
  "refuses plaintext on %s, saying how to serve instead",
  (listen) => {
    expect(() => compileServeOptions({ insecure: true, listen })).toThrow(
      /^refusing plaintext on .+ \(port 0\): without TLS anyone who reaches it may call every method; listen on a loopback address \(--listen 127\.0\.0\.1:0\) or serve mutual TLS/,
    );
  },
);

it("refuses plaintext transfers off loopback, and a transfer URL that is not a base URL", () => {
  const plain = { insecure: true, listen: "127.0.0.1:0" };
  expect(compileServeOptions({ ...plain, transferListen: "127.0.0.1:0" }).transferListen).toEqual({
    host: "127.0.0.1",
    port: 0,
  });
  expect(() => compileServeOptions({ ...plain, transferListen: ":9444" })).toThrow(
    /^refusing plaintext transfers on every interface \(port 9444\)/,
  );
  expect(() =>
    compileServeOptions({ ...plain, transferListen: "127.0.0.1:0", transferUrl: "a.example:1" }),
  ).toThrow(/transferUrl "a.example:1" is not a base URL/);
});
