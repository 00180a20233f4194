import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import { type ServiceClient, createServiceClient } from "@virtrigaud/contracts/client";
import {
  type Condition,
  Kind,
  ManagerService,
  type Provider as ProviderResource,
} from "@virtrigaud/proto/manager";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { fromResource } from "../src/manifest/kinds.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import {
  type FakeEndpoint,
  startGarbageServer,
  startHttp2WebServer,
  startRequestCountingProxy,
  startResettingServer,
  startTlsServer,
  startWebServer,
} from "./endpoint-fakes.js";
import {
  type ServerProcess,
  eventually,
  metricValue,
  providerCalls,
  runManager,
  scrape,
  spawnManager,
  spawnMock,
  vrtg,
} from "./processes.js";

// Everyday mistakes in a Provider's endpoint or TLS files, against the real
// manager process: none may crash or wedge it, or make a restart fail; each
// is refused at apply when it can be known then, and otherwise shows as
// Ready=False with a reason that says what is wrong, probed back on the
// documented backoff (1 s, 2 s, 4 s ... 30 s) whatever the failure.

function providerYaml(name: string, endpoint: string, tls: Record<string, string> = {}): string {
  const tlsLines = Object.entries(tls)
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}\n`)
    .join("");
  return `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: ${name}
spec:
  type: mock
  endpoint: ${endpoint}
${tlsLines ? `  tls:\n${tlsLines}` : ""}`;
}

/** A self-signed client certificate and its key, a key of another, and files that are no PEM. */
function makeTlsFiles(dir: string) {
  mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  for (const name of ["client", "other"])
    openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-subj",
      `/CN=${name}`,
      "-days",
      "2",
      "-out",
      `${name}.crt`,
    );
  writeFileSync(join(dir, "hostname.txt"), "provider-1.example\n");
  execFileSync("mkfifo", [join(dir, "fifo.key")]);
  const f = (name: string) => join(dir, name);
  return {
    cert: f("client.crt"),
    key: f("client.key"),
    otherKey: f("other.key"),
    notPem: f("hostname.txt"),
    fifo: f("fifo.key"),
  };
}

/** Stops a process, and kills it if it does not stop (a wedged one ignores SIGTERM). */
async function stopOrKill(proc: ServerProcess | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 5000);
  await proc.stop();
  clearTimeout(timer);
}

describe("Providers at endpoints that are no provider, against the manager process", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-endpoints-"));
  const dataDir = join(dir, "data");
  const files = makeTlsFiles(join(dir, "tls"));
  // A link inside the directory that leads out of it.
  const outsideLink = join(dir, "outside.crt");
  symlinkSync("/etc/hostname", outsideLink);
  let manager: ServerProcess | undefined;
  let api: ServiceClient<typeof ManagerService>;
  const fakes: Record<string, FakeEndpoint> = {};

  const apply = async (yaml: string) => {
    for (const { manifest } of parseManifests(yaml, "test"))
      await api.apply({ resource: decodeManifest(manifest) });
  };
  const provider = async (name: string) => {
    const { resource } = await api.get({ kind: Kind.PROVIDER, name });
    return fromResource(resource)?.message as ProviderResource;
  };
  const ready = async (name: string): Promise<Condition | undefined> =>
    (await provider(name)).status?.conditions.find((c) => c.type === "Ready");
  /** Waits until the Provider is Ready=False with `reason`, and returns the condition. */
  const notReady = (name: string, reason: string, timeoutMs = 10_000) =>
    eventually(
      async () => {
        const condition = await ready(name);
        return condition?.reason === reason ? condition : undefined;
      },
      timeoutMs,
      `${name} Ready=False ${reason}`,
    );
  const alive = () => manager?.child.exitCode === null && manager.child.signalCode === null;
  const start = async (args: string[] = []) => {
    // The test's directory is the only one whose files Providers may name.
    manager = await spawnManager(dataDir, ["--provider-tls-dir", dir, ...args]);
    api = createServiceClient(ManagerService, manager.url, { retry: false });
  };

  beforeAll(async () => {
    fakes["web"] = await startWebServer();
    fakes["garbage"] = await startGarbageServer();
    fakes["resets"] = await startResettingServer();
    fakes["h2web"] = await startHttp2WebServer();
    fakes["plainAtHttps"] = await startWebServer();
    fakes["untrusted"] = await startTlsServer(readFileSync(files.cert), readFileSync(files.key));
    await start();
  });
  afterAll(async () => {
    api?.close();
    await stopOrKill(manager);
    for (const fake of Object.values(fakes)) await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("stays up and answers while Providers name an HTTP/1.1 server and its own ops port", async () => {
    const ops = manager?.opsUrl ?? "";
    await apply(
      providerYaml("web", `http://${fakes["web"]?.address}`) + "---\n" + providerYaml("ops", ops),
    );
    const web = await notReady("web", "WrongProtocol");
    expect(web.message).toMatch(/at http:\/\/127\.0\.0\.1:\d+ does not speak HTTP\/2/);
    const self = await notReady("ops", "WrongProtocol");
    expect(self.message).toMatch(/does not speak HTTP\/2/);
    expect((await provider("web")).status?.healthy).toBe(false);
    // Everything else is served: the API, vrtg, the ops port.
    const listed = await vrtg(manager?.url ?? "", ["get", "provider"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/web\s+mock\s+http:\/\/127\.0\.0\.1:\d+\s+False\s+Open/);
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    expect(alive()).toBe(true);
  });

  it("tells vrtg at an HTTP/1.1 server, or with a key that is no key, what is wrong, and exits non-zero", async () => {
    const result = await vrtg(`http://${fakes["web"]?.address}`, ["get", "vm"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /^error: the manager at http:\/\/127\.0\.0\.1:\d+ does not speak HTTP\/2: is it an HTTP\/1\.1 server/,
    );
    expect(result.stderr).not.toMatch(/Unhandled|ERR_HTTP2|at .*\.js:\d+/);
    expect(result.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    // A key file that is no key: the flag named, no stack.
    const badKey = await vrtg("https://127.0.0.1:1", [
      "--cert",
      files.cert,
      "--key",
      files.notPem,
      "get",
      "vm",
    ]);
    expect(badKey).toMatchObject({
      code: 2,
      stderr: `error: --key: "${files.notPem}" is not a PEM private key\n`,
    });
  });

  it("probes each failing endpoint on the documented backoff, whatever the failure, and logs little", async () => {
    fakes["managerApi"] = await startRequestCountingProxy(Number(new URL(manager?.url ?? "").port));
    const endpoints: Record<string, { endpoint: string; reason: string; fake?: string }> = {
      garbage: { endpoint: `http://${fakes["garbage"]?.address}`, reason: "WrongProtocol" },
      resets: { endpoint: `http://${fakes["resets"]?.address}`, reason: "ProviderUnavailable" },
      "h2-web": {
        endpoint: `http://${fakes["h2web"]?.address}`,
        reason: "NotAProvider",
        fake: "h2web",
      },
      "other-service": {
        endpoint: `http://${fakes["managerApi"]?.address}`,
        reason: "NotAProvider",
        fake: "managerApi",
      },
      "plain-at-https": {
        endpoint: `https://${fakes["plainAtHttps"]?.address}`,
        reason: "WrongProtocol",
        fake: "plainAtHttps",
      },
      untrusted: {
        endpoint: `https://${fakes["untrusted"]?.address}`,
        reason: "TLSHandshakeFailed",
      },
      closed: { endpoint: "http://127.0.0.1:1", reason: "ProviderUnavailable" },
    };
    await apply(
      Object.entries(endpoints)
        .map(([name, { endpoint }]) => providerYaml(name, endpoint))
        .join("---\n"),
    );
    // The window opens once every Provider has failed its first probe.
    for (const [name, { reason }] of Object.entries(endpoints)) await notReady(name, reason);
    expect((await ready("other-service"))?.message).toMatch(
      /does not serve virtrigaud\.provider\.v1\.ProviderService\/Validate/,
    );
    const fakeOf = (name: string) => fakes[endpoints[name]?.fake ?? name];
    const served = (name: string) => fakeOf(name)?.count() ?? 0;
    const validateCalls = async () =>
      metricValue(
        await scrape(manager as ServerProcess),
        "virtrigaud_manager_provider_calls_total",
        {
          provider: "default/closed",
          method: "validate",
        },
      ) ?? 0;
    const names = Object.keys(endpoints).filter((n) => n !== "closed");
    const before = Object.fromEntries(names.map((n) => [n, served(n)]));
    const closedBefore = await validateCalls();
    const logsBefore = manager?.logs.length ?? 0;
    const windowMs = 8000;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const probes = Object.fromEntries(names.map((n) => [n, served(n) - (before[n] ?? 0)]));
    const closedProbes = (await validateCalls()) - closedBefore;
    const logBytes = (manager?.logs.slice(logsBefore) ?? []).reduce(
      (sum, line) => sum + JSON.stringify(line).length,
      0,
    );

    // After the first probe failed, the next come 1 s, 3 s and 7 s later: 3
    // in the window, and 4 at most with the timers' slack. A probe is one
    // Validate, which the client repeats (3 attempts in all) only when the
    // provider cannot be reached (the resetting server).
    // At least one, so probing goes on.
    const offSchedule = names.filter((name) => {
      const attempts = name === "resets" ? 3 : 1;
      return (probes[name] ?? 0) < 1 || (probes[name] ?? 0) > 4 * attempts;
    });
    expect({ offSchedule, probes }).toEqual({ offSchedule: [], probes });
    expect(closedProbes).toBeGreaterThanOrEqual(1);
    expect(closedProbes).toBeLessThanOrEqual(4);
    // Repeated failures of the same kind log nothing new at info.
    expect(logBytes).toBeLessThan(16 * 1024);
    expect(alive()).toBe(true);
  }, 60_000);

  it("refuses at apply a Provider that can never work, naming the field, and stores nothing", async () => {
    const https = "https://127.0.0.1:1";
    const cases: Array<[string, string, Record<string, string>, string, RegExp]> = [
      [
        "a key file that is no key",
        https,
        { certFile: files.cert, keyFile: files.notPem },
        "spec.tls.key_file",
        /is not a PEM private key$/,
      ],
      [
        "a certificate file that holds a key",
        https,
        { certFile: files.key, keyFile: files.key },
        "spec.tls.cert_file",
        /is not a PEM certificate$/,
      ],
      [
        "a key of another certificate",
        https,
        { certFile: files.cert, keyFile: files.otherKey },
        "spec.tls.key_file",
        /does not match/,
      ],
      [
        "a key file that does not exist",
        https,
        { certFile: files.cert, keyFile: join(dir, "none.key") },
        "spec.tls.key_file",
        /does not exist$/,
      ],
      [
        "a key file that is a FIFO",
        https,
        { certFile: files.cert, keyFile: files.fifo },
        "spec.tls.key_file",
        /is not a regular file$/,
      ],
      [
        "a key file that is a directory",
        https,
        { certFile: files.cert, keyFile: dir },
        "spec.tls.key_file",
        /is not a regular file$/,
      ],
      [
        "a CA file outside the manager's --provider-tls-dir",
        https,
        { caFile: "/etc/hostname" },
        "spec.tls.ca_file",
        /"\/etc\/hostname" is outside ".*", the only directory the manager reads provider TLS files from$/,
      ],
      [
        "a link in the directory to a file outside it",
        https,
        { caFile: outsideLink },
        "spec.tls.ca_file",
        /is outside ".*", the only directory the manager reads provider TLS files from$/,
      ],
      [
        "a relative key file",
        https,
        { certFile: files.cert, keyFile: "client.key" },
        "spec.tls.key_file",
        /absolute/,
      ],
      [
        "a CA file with no certificate",
        https,
        { caFile: files.notPem },
        "spec.tls.ca_file",
        /holds no PEM certificate$/,
      ],
      [
        "a certificate without its key",
        https,
        { certFile: files.cert },
        "spec.tls.key_file",
        /is required/,
      ],
      [
        "TLS on an http endpoint",
        "http://127.0.0.1:1",
        { serverName: "provider" },
        "spec.tls",
        /https/,
      ],
      ["an endpoint without a port", "http://127.0.0.1", {}, "spec.endpoint", /port/],
      ["an endpoint that is not http(s)", "ftp://127.0.0.1:21", {}, "spec.endpoint", /http/],
      [
        "an endpoint with credentials",
        "http://user:secret@127.0.0.1:1",
        {},
        "spec.endpoint",
        /no user or password/,
      ],
    ];
    for (const [what, endpoint, tls, field, message] of cases) {
      const error = await apply(providerYaml("refused", endpoint, tls)).catch(
        (err: unknown) => err,
      );
      expect([what, ProviderError.is(error, ErrorReason.INVALID_SPEC)]).toEqual([what, true]);
      expect([what, (error as ProviderError).field]).toEqual([what, `resource.provider.${field}`]);
      expect([what, (error as ProviderError).rawMessage]).toEqual([
        what,
        expect.stringMatching(message),
      ]);
      expect((error as ProviderError).message).not.toMatch(/BEGIN|secret/);
    }
    const missing = await provider("refused").catch((err: unknown) => err);
    expect(ProviderError.is(missing, ErrorReason.NOT_FOUND)).toBe(true);
    // vrtg says it in the manifest's words.
    writeFileSync(
      join(dir, "bad-key.yaml"),
      providerYaml("refused", https, { certFile: files.cert, keyFile: files.notPem }),
    );
    const applied = await vrtg(manager?.url ?? "", ["apply", "-f", join(dir, "bad-key.yaml")]);
    expect(applied.code).toBe(4);
    expect(applied.stderr).toMatch(
      /spec\.tls\.keyFile: ".*hostname\.txt" is not a PEM private key/,
    );
    expect(alive()).toBe(true);
  });

  it("restarts with that store, serves, and reports TLS files that went bad while it was down", async () => {
    const good = join(dir, "tls", "good");
    mkdirSync(good);
    const copy = (from: string, name: string) => {
      writeFileSync(join(good, name), readFileSync(from));
      return join(good, name);
    };
    const keyFile = copy(files.key, "client.key");
    const caFile = copy(files.cert, "ca.crt");
    await apply(
      providerYaml("mtls", "https://127.0.0.1:1", { certFile: files.cert, keyFile }) +
        "---\n" +
        providerYaml("trusting", "https://127.0.0.1:1", { caFile }),
    );
    await notReady("mtls", "ProviderUnavailable");
    await notReady("trusting", "ProviderUnavailable");
    api.close();
    await stopOrKill(manager);
    writeFileSync(keyFile, readFileSync(files.notPem));
    rmSync(caFile);

    await start();
    const mtls = await notReady("mtls", "InvalidSpec");
    expect(mtls.message).toBe(`spec.tls.keyFile: "${keyFile}" is not a PEM private key`);
    const trusting = await notReady("trusting", "InvalidSpec");
    expect(trusting.message).toBe(`spec.tls.caFile: "${caFile}" does not exist`);
    // The HTTP/1.1 endpoints from before are probed again, and it stays up.
    await eventually(
      async () =>
        (metricValue(
          await scrape(manager as ServerProcess),
          "virtrigaud_manager_provider_calls_total",
          {
            provider: "default/web",
            method: "validate",
          },
        ) ?? 0) >= 2,
      10_000,
      "web probed twice after the restart",
    );
    expect((await ready("web"))?.reason).toBe("WrongProtocol");
    expect((await vrtg(manager?.url ?? "", ["get", "provider", "ops"])).code).toBe(0);
    expect((await fetch(`${manager?.opsUrl}/healthz`)).status).toBe(200);
    expect(alive()).toBe(true);
  }, 60_000);
});

describe("Provider endpoints limited by --provider-endpoints, against the manager process", () => {
  const dir = mkdtempSync(join(tmpdir(), "vrtg-allowlist-"));
  const started: ServerProcess[] = [];
  const clients: Array<ServiceClient<typeof ManagerService>> = [];
  afterAll(async () => {
    for (const client of clients) client.close();
    for (const proc of started.reverse()) await stopOrKill(proc);
    rmSync(dir, { recursive: true, force: true });
  });

  const startWith = async (data: string, endpoints: string) => {
    const manager = await spawnManager(join(dir, data), ["--provider-endpoints", endpoints]);
    started.push(manager);
    const api = createServiceClient(ManagerService, manager.url, { retry: false });
    clients.push(api);
    const apply = async (yaml: string) => {
      for (const { manifest } of parseManifests(yaml, "test"))
        await api.apply({ resource: decodeManifest(manifest) });
    };
    const ready = async (name: string) => {
      const { resource } = await api.get({ kind: Kind.PROVIDER, name });
      const p = fromResource(resource)?.message as ProviderResource;
      return p.status?.conditions.find((c) => c.type === "Ready");
    };
    return { apply, ready };
  };

  it("refuses at apply an endpoint outside the list, naming spec.endpoint, and serves one inside", async () => {
    const mock = await spawnMock();
    started.push(mock);
    const port = new URL(mock.url).port;
    const m = await startWith("inside", "localhost, *.providers.example.com, 127.0.0.0/8, ::1");
    for (const [endpoint, why] of [
      ["http://10.1.2.3:9443", /the address 10\.1\.2\.3 is in no network of --provider-endpoints/],
      ["http://[fd00::1]:9443", /the address fd00::1 is in no network/],
      ["https://provider.example.com:9443", /the host provider\.example\.com is not listed/],
      ["https://providers.example.com:9443", /the host providers\.example\.com is not listed/],
    ] as const) {
      const error = await m.apply(providerYaml("outside", endpoint)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ProviderError.is(error, ErrorReason.INVALID_SPEC)).toBe(true);
      expect(error).toMatchObject({ field: "resource.provider.spec.endpoint" });
      expect((error as ProviderError).rawMessage).toMatch(why);
    }
    // A name that matches a pattern is taken at apply (it resolves to nothing: not Ready).
    await m.apply(providerYaml("patterned", "https://a.providers.example.com:9443"));
    // Inside, by name (localhost resolves into 127.0.0.0/8 and ::1) and by address.
    await m.apply(providerYaml("by-name", `http://localhost:${port}`));
    await m.apply(providerYaml("by-address", `http://127.0.0.1:${port}`));
    for (const name of ["by-name", "by-address"])
      await eventually(
        async () => ((await m.ready(name))?.reason === "Ready" ? true : undefined),
        10_000,
        `${name} Ready`,
      );
    const patterned = await eventually(
      async () => {
        const c = await m.ready("patterned");
        return c?.reason === "EndpointNotAllowed" ? c : undefined;
      },
      10_000,
      "patterned EndpointNotAllowed",
    );
    expect(patterned.message).toMatch(/the host a\.providers\.example\.com does not resolve/);
  }, 60_000);

  it("resolves a listed name when it connects, and refuses it when an address is outside", async () => {
    const mock = await spawnMock();
    started.push(mock);
    const port = new URL(mock.url).port;
    // localhost is listed by name, but resolves to 127.0.0.1, in no listed network.
    const m = await startWith("resolved", "localhost, 10.0.0.0/8");
    await m.apply(providerYaml("named", `http://localhost:${port}`));
    const refused = await eventually(
      async () => {
        const c = await m.ready("named");
        return c?.reason === "EndpointNotAllowed" ? c : undefined;
      },
      10_000,
      "named Ready=False EndpointNotAllowed",
    );
    expect(refused.message).toMatch(
      /^spec\.endpoint is not allowed: the host localhost resolves to (127\.0\.0\.1|::1)/,
    );
    // The provider was never called.
    expect(await providerCalls(mock.opsUrl ?? "")).toEqual({});
  }, 60_000);

  it("refuses to start with a list that does not parse, with exit code 2", async () => {
    const result = await runManager([
      "--insecure",
      "--listen",
      "127.0.0.1:0",
      "--data",
      join(dir, "never"),
      "--provider-endpoints",
      "10.0.0.0/33",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--provider-endpoints: "10\.0\.0\.0\/33" is no host name/);
  });
});
