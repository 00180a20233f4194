import { describe, expect, it } from "@jest/globals";
import { ServeConfigError } from "./serve-options.js";
import { formatServeFlagsHelp, serveFlagsHelp, serveOptionsFromFlags } from "./run-provider.js";

describe("serve flags", () => {
  it("documents the addresses a service defaults to", () => {
    expect(serveFlagsHelp).toMatch(
      /--listen .*\(default :9443\)\n.*--ops-listen .*\(default :8080\)/,
    );
    const manager = formatServeFlagsHelp({ listen: ":9090", opsListen: ":9091" });
    expect(manager).toMatch(/--listen .*\(default :9090\)\n.*--ops-listen .*\(default :9091\)/);
    expect(manager).not.toContain("9443");
    expect(serveFlagsHelp).toContain("--allow-any-client");
    expect(manager).not.toContain("--allow-any-client");
  });

  it("reads the transfer listener's address and URL, from flags or the environment", () => {
    expect(serveOptionsFromFlags({}, {})).not.toHaveProperty("transferListen");
    expect(
      serveOptionsFromFlags(
        { "transfer-listen": ":9444" },
        { VIRTRIGAUD_TRANSFER_URL: "https://a.example:9444" },
      ),
    ).toMatchObject({ transferListen: ":9444", transferUrl: "https://a.example:9444" });
    expect(() => serveOptionsFromFlags({ "transfer-url": "https://a.example:9444" }, {})).toThrow(
      "--transfer-url needs --transfer-listen",
    );
  });

  it("allows any client only when asked, by flag or variable", () => {
    expect(serveOptionsFromFlags({}, {})).not.toHaveProperty("allowAnyClient");
    expect(serveOptionsFromFlags({ "allow-any-client": true }, {})).toMatchObject({
      allowAnyClient: true,
    });
    expect(serveOptionsFromFlags({}, { VIRTRIGAUD_ALLOW_ANY_CLIENT: "true" })).toMatchObject({
      allowAnyClient: true,
    });
  });

  it("maps flags to serve options", () => {
    expect(
      serveOptionsFromFlags(
        {
          listen: "127.0.0.1:9000",
          "ops-listen": "off",
          "tls-cert": "c.pem",
          "tls-key": "k.pem",
          "tls-client-ca": "ca.pem",
          "drain-timeout": "5s",
          "rate-limit-qps": "50",
          "log-level": "debug",
        },
        {},
      ),
    ).toEqual({
      logLevel: "debug",
      insecure: false,
      listen: "127.0.0.1:9000",
      opsListen: false,
      tls: { certFile: "c.pem", keyFile: "k.pem", clientCaFile: "ca.pem" },
      drainTimeoutMs: 5000,
      rateLimit: { qps: 50 },
    });
  });

  it("maps the limit flags", () => {
    expect(
      serveOptionsFromFlags(
        {
          insecure: true,
          "max-message-size": "8Mi",
          "max-connections": "100",
          "header-timeout": "10s",
          "request-timeout": "1m",
          "idle-timeout": "5m",
          "write-timeout": "45s",
        },
        {},
      ),
    ).toMatchObject({
      readMaxBytes: 8 * 2 ** 20,
      maxConnections: 100,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      idleTimeoutMs: 300_000,
      writeTimeoutMs: 45_000,
    });
    expect(serveOptionsFromFlags({}, { VIRTRIGAUD_MAX_MESSAGE_SIZE: "1048576" })).toMatchObject({
      readMaxBytes: 1_048_576,
    });
  });

  it("falls back to VIRTRIGAUD_* variables, flags first", () => {
    const options = serveOptionsFromFlags(
      { listen: "127.0.0.1:1" },
      { VIRTRIGAUD_LISTEN: "0.0.0.0:2", VIRTRIGAUD_INSECURE: "true", VIRTRIGAUD_LOG_LEVEL: "warn" },
    );
    expect(options).toMatchObject({ listen: "127.0.0.1:1", insecure: true, logLevel: "warn" });
  });

  it.each([
    [{ "tls-cert": "c.pem" }, /go together/],
    [{ "tls-client-ca": "ca.pem" }, /needs --tls-cert/],
    [{ "log-level": "loud" }, /--log-level/],
    [{ "rate-limit-qps": "-3" }, /positive/],
    [{ "drain-timeout": "soon" }, /--drain-timeout/],
    [{ "rate-limit-burst": "5" }, /needs --rate-limit-qps/],
    [{ "max-message-size": "4M" }, /--max-message-size/],
    [{ "write-timeout": "soon" }, /--write-timeout/],
    [{ "max-connections": "-1" }, /positive/],
  ])("refuses %j", (values, message) => {
    expect(() => serveOptionsFromFlags(values, {})).toThrow(ServeConfigError);
    expect(() => serveOptionsFromFlags(values, {})).toThrow(message);
  });
});
