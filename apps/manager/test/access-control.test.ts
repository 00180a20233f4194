import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it, jest } from "@jest/globals";
import { Kind, ManagerService } from "@virtrigaud/proto/manager";
import { type JWK, type KeyInput, SignJWT, exportJWK, generateKeyPair } from "jose";
import { startProviderProcess } from "@virtrigaud/contracts/testing";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { type ServerProcess, eventually, runManager, spawnManager, vrtg } from "./processes.js";

// A dozen vrtg processes and three managers on a busy 2-core machine.
jest.setTimeout(180_000);

const dir = mkdtempSync(join(tmpdir(), "access-control-"));
const tokenFile = join(dir, "tokens");
const tokens = {
  root: "root-token-0123456789",
  vic: "viewer-token-0123456789",
  eddie: "editor-token-0123456789",
  olga: "operator-token-0123456789",
  mallory: "nobody-token-0123456789",
  leaver: "revoked-token-0123456789",
  bea: "binder-token-0123456789",
};
type User = keyof typeof tokens | "none";

/** A token file line made by the manager's own hash-token helper. */
function hashLine(token: string, name: string, groups = ""): string {
  const bin = join(__dirnameOf(), "../dist/main.js");
  return execFileSync(process.execPath, [bin, "hash-token", name, ...(groups ? [groups] : [])], {
    input: token,
    env: { ...process.env, NODE_OPTIONS: "" },
  })
    .toString()
    .trim();
}
function __dirnameOf(): string {
  return new URL(".", import.meta.url).pathname;
}

let issuer: Server;
let issuerUrl: string;
let signingKey: KeyInput;
let strangerKey: KeyInput;
let manager: ServerProcess;
let lines: Record<User, string>;
/** Every JWT a test made, good or bad: none may reach the log. */
const issuedJwts: string[] = [];

const vmClass = (name: string, namespace: string) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: ${name}, namespace: ${namespace}}
spec: {cpu: 1, memory: 1Gi}
`;

const rbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: auditors-view}
subjects: [{kind: Group, name: auditors, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: viewer, apiGroup: rbac.authorization.k8s.io}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: editors, namespace: team-a}
subjects: [{kind: User, name: eddie}]
roleRef: {kind: ClusterRole, name: editor}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: class-operator, namespace: team-a}
rules:
  - apiGroups: [""]
    resources: [vmclasses]
    verbs: [get, list]
  - resources: [vmclasses]
    verbs: [update]
    resourceNames: [small]
`;
const operatorBinding = `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: operators, namespace: team-a}
subjects: [{kind: User, name: olga}]
roleRef: {kind: Role, name: class-operator}
`;

function raw(protocol: "connect" | "grpc", user: User) {
  const headers: Record<string, string> =
    user === "none" ? {} : { authorization: `Bearer ${tokens[user]}` };
  const transport =
    protocol === "grpc"
      ? createGrpcTransport({ baseUrl: manager.url })
      : createConnectTransport({ baseUrl: manager.url, httpVersion: "1.1" });
  return { client: createClient(ManagerService, transport), headers };
}

/** The outcome of a raw call: "ok" or the Connect code's name. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "ok";
  } catch (err) {
    return Code[ConnectError.from(err).code] ?? "unknown";
  }
}

function applyRequest(manifest: string) {
  const [doc] = parseManifests(manifest, "test");
  return { resource: decodeManifest(doc?.manifest) };
}

beforeAll(async () => {
  // An OIDC issuer of the test's own: discovery and JWKS on 127.0.0.1.
  const pair = await generateKeyPair("RS256");
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair("RS256")).privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  issuer = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration")
      res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/jwks` }));
    else if (req.url === "/jwks") res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => issuer.listen(0, "127.0.0.1", resolve));
  issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;

  lines = {
    root: hashLine(tokens.root, "root"),
    vic: hashLine(tokens.vic, "vic", "auditors,staff"),
    eddie: hashLine(tokens.eddie, "eddie"),
    olga: hashLine(tokens.olga, "olga"),
    mallory: hashLine(tokens.mallory, "mallory"),
    leaver: hashLine(tokens.leaver, "leaver", "auditors"),
    bea: hashLine(tokens.bea, "bea"),
    none: "",
  };
  writeFileSync(tokenFile, `# test tokens\n${Object.values(lines).join("\n")}\n`);
  manager = await spawnManager(join(dir, "data"), [
    "--token-file",
    tokenFile,
    "--oidc-issuer",
    issuerUrl,
    "--oidc-audience",
    "virtrigaud",
    "--oidc-groups-claim",
    "roles",
    "--bootstrap-admin",
    "user:root",
  ]);
});

afterAll(async () => {
  await manager?.stop();
  issuer?.close();
  rmSync(dir, { recursive: true, force: true });
});

const as = (user: User, ...args: string[]) =>
  vrtg(manager.url, args, undefined, user === "none" ? {} : { VIRTRIGAUD_TOKEN: tokens[user] });
const applyAs = (user: User, manifest: string) =>
  vrtg(
    manager.url,
    ["apply", "-f", "-"],
    manifest,
    user === "none" ? {} : { VIRTRIGAUD_TOKEN: tokens[user] },
  );

describe("access control against a running manager", () => {
  it("lets the bootstrap administrator grant roles, and a RoleBinding then lets another user act", async () => {
    expect((await as("olga", "get", "vmclass", "small", "-n", "team-a")).code).toBe(1);
    const applied = await applyAs(
      "root",
      `${rbac}---\n${vmClass("small", "team-a")}---\n${vmClass("small", "default")}`,
    );
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    const denied = await as("olga", "get", "vmclass", "small", "-n", "team-a");
    expect(denied.code).toBe(1);
    expect(denied.stderr).toBe(
      'error: "olga" may not get vmclasses team-a/small: no role bound to the caller allows it\n',
    );
    expect((await applyAs("root", operatorBinding)).code).toBe(0);
    expect((await as("olga", "get", "vmclass", "small", "-n", "team-a")).code).toBe(0);
    const yaml = (await as("root", "get", "rolebinding", "operators", "-n", "team-a", "-o", "yaml"))
      .stdout;
    expect(yaml).toContain("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n");
    expect(yaml).toContain("roleRef:\n  kind: Role\n  name: class-operator\n");
    // Cluster-scoped kinds are in no namespace: vrtg names none.
    expect((await as("root", "get", "clusterroles", "-n", "team-a")).stderr).toBe(
      "No clusterroles found.\n",
    );
    // Cluster-scoped kinds are found whatever namespace a request names, watches included.
    const { client, headers } = raw("grpc", "root");
    let firstName: string | undefined;
    for await (const change of client.watch(
      { kind: Kind.CLUSTER_ROLE_BINDING, namespace: "team-a" },
      { headers },
    )) {
      firstName = change.resource?.kind.value?.metadata?.name;
      break;
    }
    expect(firstName).toBe("auditors-view");
    expect(
      (
        await client.get(
          { kind: Kind.CLUSTER_ROLE_BINDING, namespace: "x", name: "auditors-view" },
          { headers },
        )
      ).resource?.kind.value?.metadata?.namespace,
    ).toBe("cluster");
  });

  // [case, user, vrtg args or a manifest to apply, expected raw code]
  const table: Array<[string, User, { args: string[] } | { apply: string }, string]> = [
    ["viewer gets", "vic", { args: ["get", "vmclass", "small", "-n", "team-a"] }, "ok"],
    ["viewer lists every namespace", "vic", { args: ["get", "vmclasses", "-A"] }, "ok"],
    ["viewer reads events", "vic", { args: ["events", "-n", "team-a"] }, "ok"],
    ["viewer creates", "vic", { apply: vmClass("new", "team-a") }, "PermissionDenied"],
    [
      "viewer deletes",
      "vic",
      { args: ["delete", "vmclass", "small", "-n", "team-a"] },
      "PermissionDenied",
    ],
    ["viewer reads roles", "vic", { args: ["get", "roles", "-n", "team-a"] }, "PermissionDenied"],
    ["editor creates in its namespace", "eddie", { apply: vmClass("edited", "team-a") }, "ok"],
    [
      "editor updates in its namespace",
      "eddie",
      { apply: vmClass("small", "team-a").replace("cpu: 1", "cpu: 2") },
      "ok",
    ],
    [
      "editor elsewhere",
      "eddie",
      { args: ["get", "vmclass", "small", "-n", "default"] },
      "PermissionDenied",
    ],
    ["editor every namespace", "eddie", { args: ["get", "vmclasses", "-A"] }, "PermissionDenied"],
    [
      "editor grants",
      "eddie",
      { apply: operatorBinding.replace("olga", "eddie") },
      "PermissionDenied",
    ],
    ["custom role gets", "olga", { args: ["get", "vmclass", "small", "-n", "team-a"] }, "ok"],
    [
      "custom role updates its named one",
      "olga",
      { apply: vmClass("small", "team-a").replace("cpu: 1", "cpu: 3") },
      "ok",
    ],
    ["custom role creates", "olga", { apply: vmClass("other", "team-a") }, "PermissionDenied"],
    [
      "custom role deletes",
      "olga",
      { args: ["delete", "vmclass", "small", "-n", "team-a"] },
      "PermissionDenied",
    ],
    [
      "custom role other namespace",
      "olga",
      { args: ["get", "vmclasses", "-n", "default"] },
      "PermissionDenied",
    ],
    ["admin lists cluster roles", "root", { args: ["get", "clusterrolebindings"] }, "ok"],
    ["admin deletes", "root", { args: ["delete", "vmclass", "small", "-n", "default"] }, "ok"],
    ["nobody", "mallory", { args: ["get", "vmclasses", "-n", "team-a"] }, "PermissionDenied"],
    ["no credentials", "none", { args: ["get", "vmclasses", "-n", "team-a"] }, "Unauthenticated"],
  ];

  it.each(table)("%s: through vrtg", async (_case, user, action, expected) => {
    const result =
      "apply" in action ? await applyAs(user, action.apply) : await as(user, ...action.args);
    expect({ code: result.code, denied: /may not|no credentials/.test(result.stderr) }).toEqual({
      code: expected === "ok" ? 0 : 1,
      denied: expected !== "ok",
    });
  });

  it.each(table)(
    "%s: through raw Connect and gRPC calls",
    async (_case, user, action, expected) => {
      for (const protocol of ["connect", "grpc"] as const) {
        const { client, headers } = raw(protocol, user);
        const call = async () => {
          if ("apply" in action) return client.apply(applyRequest(action.apply), { headers });
          const [verb, kind, ...rest] = action.args;
          const ns = rest.includes("-n") ? (rest[rest.indexOf("-n") + 1] ?? "") : "default";
          const name = rest[0] && !rest[0].startsWith("-") ? rest[0] : undefined;
          const k = kind?.startsWith("vmclass")
            ? Kind.VM_CLASS
            : kind?.startsWith("role")
              ? Kind.ROLE
              : Kind.CLUSTER_ROLE_BINDING;
          if (verb === "events")
            return client.listEvents(
              { namespace: kind === "-n" ? (rest[0] ?? "") : "" },
              { headers },
            );
          if (verb === "delete") {
            // There to delete, whatever an earlier case did.
            await raw("grpc", "root").client.apply(applyRequest(vmClass(name ?? "", ns)), {
              headers: { authorization: `Bearer ${tokens.root}` },
            });
            return client.delete({ kind: k, namespace: ns, name: name ?? "" }, { headers });
          }
          if (name) return client.get({ kind: k, namespace: ns, name }, { headers });
          return client.list(
            { kind: k, namespace: ns, allNamespaces: rest.includes("-A") },
            { headers },
          );
        };
        expect(`${protocol}: ${await outcome(call)}`).toBe(`${protocol}: ${expected}`);
      }
    },
  );

  it("refuses a Role or binding that grants more than its author holds", async () => {
    const binder = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: binder, namespace: team-a}
rules: [{resources: [rolebindings], verbs: [create, get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: binders, namespace: team-a}
subjects: [{kind: User, name: bea}]
roleRef: {kind: Role, name: binder}
`;
    expect((await applyAs("root", binder)).code).toBe(0);
    const bindingOf = (
      name: string,
      roleKind: string,
      role: string,
    ) => `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ${name}, namespace: team-a}
subjects: [{kind: User, name: bea}]
roleRef: {kind: ${roleKind}, name: ${role}}
`;
    // Writing RoleBindings is not enough to bind herself an administrator ...
    const admin = await applyAs("bea", bindingOf("bea-admin", "ClusterRole", "admin"));
    expect(admin.code).toBe(1);
    expect(admin.stderr).toContain(
      '"bea" may not grant what it does not hold in namespace team-a: get secrets, get providers, get vmclasses, get vmimages',
    );
    const operator = await applyAs("bea", bindingOf("bea-operator", "Role", "class-operator"));
    expect(operator.stderr).toContain("may not grant what it does not hold");
    // ... but she may pass on what she holds.
    expect((await applyAs("bea", bindingOf("bea-binder", "Role", "binder"))).code).toBe(0);
    // A namespace administrator may grant within the namespace, not beyond it.
    const nsAdmin = await applyAs(
      "root",
      operatorBinding
        .replace("olga", "bea")
        .replace("operators", "bea-ns-admin")
        .replace("kind: Role, name: class-operator", "kind: ClusterRole, name: admin"),
    );
    expect(nsAdmin.code).toBe(0);
    expect((await applyAs("bea", bindingOf("bea-admin", "ClusterRole", "admin"))).code).toBe(0);
    const everywhere = await applyAs(
      "bea",
      `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bea-everywhere}
subjects: [{kind: User, name: bea}]
roleRef: {kind: ClusterRole, name: admin}
`,
    );
    expect(everywhere.code).toBe(1);
    expect(everywhere.stderr).toContain('"bea" may not create clusterrolebindings');
  });

  it("shows a Watch of every kind only the kinds the caller may watch, and refuses one of none", async () => {
    const { client, headers } = raw("grpc", "vic");
    const abort = new AbortController();
    const seen = new Set<string>();
    const stream = client.watch({ namespace: "team-a" }, { headers, signal: abort.signal });
    const reading = (async () => {
      for await (const change of stream) {
        if (change.resource?.kind.case) seen.add(change.resource.kind.case);
        if (seen.has("vmClass")) break;
      }
    })();
    await reading;
    abort.abort();
    expect(seen).toEqual(new Set(["vmClass"]));
    const olga = raw("grpc", "olga");
    expect(
      await outcome(() =>
        olga.client
          .watch({ namespace: "team-a" }, { headers: olga.headers })
          [Symbol.asyncIterator]()
          .next(),
      ),
    ).toBe("PermissionDenied");
  });

  it("reads the token from --token-file and from the config file's contexts", async () => {
    const whoami = async (args: string[], env: NodeJS.ProcessEnv = {}) =>
      (
        JSON.parse(
          (await vrtg(manager.url, [...args, "auth", "whoami", "-o", "json"], undefined, env))
            .stdout,
        ) as { name: string }
      ).name;
    writeFileSync(join(dir, "vic.token"), `${tokens.vic}\n`);
    writeFileSync(join(dir, "olga.token"), `${tokens.olga}\n`);
    expect(await whoami(["--token-file", join(dir, "vic.token")])).toBe("vic");
    const config = join(dir, "vrtg.yaml");
    writeFileSync(
      config,
      `current-context: eddie
contexts:
  - {name: eddie, server: ${manager.url}, namespace: team-a, token: ${tokens.eddie}}
  - {name: olga, server: ${manager.url}, token-file: olga.token}
`,
    );
    // olga's token file is named relative to the config file, as kubeconfig paths are.
    const env = { VRTG_CONFIG: config };
    expect(await whoami([], env)).toBe("eddie");
    // The context's namespace: eddie may create VMs in team-a.
    expect(
      (await vrtg(manager.url, ["auth", "can-i", "create", "vm"], undefined, env)).stdout,
    ).toBe("yes\n");
    expect(await whoami(["--context", "olga"], env)).toBe("olga");
    expect((await vrtg(manager.url, ["config", "use-context", "olga"], undefined, env)).code).toBe(
      0,
    );
    expect(await whoami([], env)).toBe("olga");
    expect((await vrtg(manager.url, ["config", "get-contexts"], undefined, env)).stdout).toContain(
      "* olga",
    );
    // The environment variable wins over the file, a flag over both.
    expect(await whoami([], { ...env, VIRTRIGAUD_TOKEN: tokens.vic })).toBe("vic");
    expect(await whoami(["--token", tokens.root], { ...env, VIRTRIGAUD_TOKEN: tokens.vic })).toBe(
      "root",
    );
  });

  it("answers whoami and can-i (exit 0 for yes, 1 for no)", async () => {
    const me = await as("vic", "auth", "whoami", "-o", "json");
    expect(JSON.parse(me.stdout)).toEqual({
      name: "vic",
      groups: ["auditors", "staff"],
      method: "token",
    });
    const yes = await as("eddie", "auth", "can-i", "create", "vm", "-n", "team-a");
    expect([yes.code, yes.stdout]).toEqual([0, "yes\n"]);
    const no = await as("eddie", "auth", "can-i", "create", "rolebindings", "-n", "team-a");
    expect([no.code, no.stdout]).toEqual([1, "no\n"]);
    const named = await as("olga", "auth", "can-i", "update", "vmclass", "small", "-n", "team-a");
    expect(named.code).toBe(0);
    expect(
      (await as("olga", "auth", "can-i", "update", "vmclass", "other", "-n", "team-a")).code,
    ).toBe(1);
  });

  it("refuses a token removed from the token file within one second, without a restart", async () => {
    const { client, headers } = raw("grpc", "leaver");
    expect(await outcome(() => client.whoAmI({}, { headers }))).toBe("ok");
    const removed = Date.now();
    writeFileSync(
      tokenFile,
      `${Object.entries(lines)
        .filter(([user]) => user !== "leaver")
        .map(([, line]) => line)
        .join("\n")}\n`,
    );
    let refusedAfter: number | undefined;
    while (Date.now() - removed < 3000) {
      if ((await outcome(() => client.whoAmI({}, { headers }))) === "Unauthenticated") {
        refusedAfter = Date.now() - removed;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    process.stdout.write(`token refused ${refusedAfter} ms after its line was removed\n`);
    expect(refusedAfter).toBeDefined();
    expect(refusedAfter).toBeLessThan(1000);
    // The others still work.
    expect(await outcome(() => raw("grpc", "vic").client.whoAmI({}, raw("grpc", "vic")))).toBe(
      "ok",
    );
  });

  it("accepts a good OIDC token and refuses a wrong audience, an expired one and another key's", async () => {
    const jwt = (key: KeyInput, claims: { aud?: string; exp?: number; sub?: string }) =>
      new SignJWT({ roles: ["auditors"] })
        .setProtectedHeader({ alg: "RS256", kid: "k1" })
        .setIssuer(issuerUrl)
        .setSubject(claims.sub ?? "oscar")
        .setAudience(claims.aud ?? "virtrigaud")
        .setIssuedAt()
        .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 300)
        .sign(key)
        .then((token) => {
          issuedJwts.push(token);
          return token;
        });
    const transport = createGrpcTransport({ baseUrl: manager.url });
    const client = createClient(ManagerService, transport);
    const call = async (token: string) =>
      client.whoAmI({}, { headers: { authorization: `Bearer ${token}` } });
    const good = await call(await jwt(signingKey, {}));
    // As Kubernetes names OIDC users of a claim other than email: ISSUER#sub.
    expect(good).toMatchObject({
      name: `${issuerUrl}#oscar`,
      groups: ["auditors"],
      method: "oidc",
    });
    // So an issuer's user named root is not the bootstrap administrator root.
    const root = await vrtg(
      manager.url,
      ["auth", "can-i", "create", "clusterrolebindings"],
      undefined,
      {
        VIRTRIGAUD_TOKEN: await jwt(signingKey, { sub: "root" }),
      },
    );
    expect([root.code, root.stdout]).toEqual([1, "no\n"]);
    // The groups claim binds: auditors view everything.
    const viewer = await vrtg(manager.url, ["get", "vmclasses", "-A"], undefined, {
      VIRTRIGAUD_TOKEN: await jwt(signingKey, {}),
    });
    expect(viewer.code).toBe(0);
    for (const [what, token, message] of [
      ["wrong audience", await jwt(signingKey, { aud: "someone-else" }), /aud/],
      ["expired", await jwt(signingKey, { exp: Math.floor(Date.now() / 1000) - 120 }), /exp/],
      ["another key", await jwt(strangerKey, {}), /signature/],
    ] as const) {
      const refused = await call(token).catch((e: unknown) => ConnectError.from(e));
      expect([what, (refused as ConnectError).code]).toEqual([what, Code.Unauthenticated]);
      expect((refused as ConnectError).rawMessage).toMatch(message);
      expect((refused as ConnectError).rawMessage).not.toContain(token);
    }
  });
});

describe("the manager's log, after all of the above", () => {
  it("keeps every token out of the manager's log", () => {
    const log = JSON.stringify(manager.logs);
    // The refusals are in it (their messages), the credentials are not.
    expect(log).toContain("the bearer token is not known");
    for (const token of [...Object.values(tokens), ...issuedJwts]) expect(log).not.toContain(token);
  });
});

describe("limits per identity", () => {
  let limited: ServerProcess;
  beforeAll(async () => {
    limited = await spawnManager(join(dir, "limited-data"), [
      "--token-file",
      tokenFile,
      "--bootstrap-admin",
      "user:root",
      "--bootstrap-admin",
      "user:eddie",
      "--rate-limit-per-identity",
      "20",
      "--max-watches-per-identity",
      "2",
    ]);
  });
  afterAll(() => limited?.stop());
  const clientAs = (user: keyof typeof tokens) => {
    const client = createClient(ManagerService, createGrpcTransport({ baseUrl: limited.url }));
    return { client, headers: { authorization: `Bearer ${tokens[user]}` } };
  };

  it("caps the watches one identity holds open, and frees a place when one ends", async () => {
    const root = clientAs("root");
    await root.client.apply(applyRequest(vmClass("small", "default")), { headers: root.headers });
    const aborts: AbortController[] = [];
    /** Opens a watch and reads its first change: then the manager holds it. */
    const open = async (user: keyof typeof tokens) => {
      const { client, headers } = clientAs(user);
      const abort = new AbortController();
      aborts.push(abort);
      const stream = client
        .watch({ kind: Kind.VM_CLASS, namespace: "default" }, { headers, signal: abort.signal })
        [Symbol.asyncIterator]();
      await stream.next();
      return abort;
    };
    const first = await open("root");
    await open("root");
    const third = await open("root").catch((e: unknown) => ConnectError.from(e));
    expect((third as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((third as ConnectError).rawMessage).toBe(
      '"root" holds 2 open watches, the most one identity may (--max-watches-per-identity); end one first',
    );
    // Another identity has its own places.
    await open("eddie");
    first.abort();
    await eventually(() => open("root").then(() => true), 5000, "a watch after one ended");
    for (const abort of aborts) abort.abort();
  });

  it("sheds one identity's calls above its rate, not another's", async () => {
    const vic = clientAs("vic");
    const messages = await Promise.all(
      Array.from({ length: 60 }, () =>
        vic.client.whoAmI({}, { headers: vic.headers }).then(
          () => "ok",
          (e: unknown) => ConnectError.from(e).rawMessage,
        ),
      ),
    );
    expect(messages.filter((m) => m === "ok").length).toBeLessThan(40);
    expect(messages.filter((m) => m !== "ok")[0]).toBe(
      '"vic" is over its rate limit of 20 calls per second (--rate-limit-per-identity)',
    );
    const eddie = clientAs("eddie");
    expect(await outcome(() => eddie.client.whoAmI({}, { headers: eddie.headers }))).toBe("ok");
  });
});

describe("a manager under mutual TLS", () => {
  const pki = join(dir, "mtls");
  let mtls: ServerProcess;
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: pki, stdio: "pipe" });
  const leaf = (name: string, subject: string, ext: string) => {
    writeFileSync(join(pki, `${name}.ext`), ext);
    openssl(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-subj",
      subject,
      "-out",
      `${name}.csr`,
    );
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    );
  };
  beforeAll(async () => {
    execFileSync("mkdir", ["-p", pki]);
    openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      "ca.key",
      "-subj",
      "/CN=test-ca",
      "-days",
      "2",
      "-out",
      "ca.crt",
    );
    leaf("server", "/CN=manager", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    // As Kubernetes reads a client certificate: CN the user, each O a group.
    leaf("carol", "/O=ops/O=dev/CN=carol", "extendedKeyUsage=clientAuth\n");
    leaf("dave", "/CN=dave", "extendedKeyUsage=clientAuth\n");
    mtls = await startProviderProcess({
      args: [
        new URL("../dist/main.js", import.meta.url).pathname,
        "--data",
        join(dir, "mtls-data"),
        "--listen",
        "127.0.0.1:0",
        "--ops-listen",
        "127.0.0.1:0",
        "--tls-cert",
        join(pki, "server.crt"),
        "--tls-key",
        join(pki, "server.key"),
        "--tls-client-ca",
        join(pki, "ca.crt"),
        "--bootstrap-admin",
        "group:ops",
      ],
      timeoutMs: 20_000,
    });
  });
  afterAll(() => mtls?.stop());
  const withCert = (who: string, ...args: string[]) =>
    vrtg(mtls.url, [
      "--ca",
      join(pki, "ca.crt"),
      "--cert",
      join(pki, `${who}.crt`),
      "--key",
      join(pki, `${who}.key`),
      ...args,
    ]);

  it("names the caller by its certificate's subject: CN the user, O the groups", async () => {
    const me = await withCert("carol", "auth", "whoami", "-o", "json");
    expect(JSON.parse(me.stdout)).toEqual({
      name: "carol",
      groups: ["ops", "dev"],
      method: "certificate",
    });
    // Group ops is the bootstrap administrator; dave is nobody.
    expect((await withCert("carol", "auth", "can-i", "create", "clusterrolebindings")).stdout).toBe(
      "yes\n",
    );
    const dave = await withCert("dave", "get", "vmclasses");
    expect(dave.code).toBe(1);
    expect(dave.stderr).toContain('"dave" may not list vmclasses in namespace default');
  });
});

describe("a manager that would serve everyone", () => {
  it("on loopback with no authentication, takes every caller for the administrator anonymous", async () => {
    const open = await spawnManager(join(dir, "open-loopback"));
    try {
      const me = await vrtg(open.url, ["auth", "whoami", "-o", "json"]);
      expect(JSON.parse(me.stdout)).toEqual({ name: "anonymous", groups: [], method: "anonymous" });
      expect((await vrtg(open.url, ["auth", "can-i", "delete", "clusterroles"])).stdout).toBe(
        "yes\n",
      );
    } finally {
      await open.stop();
    }
  });

  it("refuses TLS on a non-loopback address with no authentication, exit 2", async () => {
    const pki = join(dir, "pki");
    execFileSync("mkdir", ["-p", pki]);
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "s.key",
        "-subj",
        "/CN=manager",
        "-days",
        "2",
        "-out",
        "s.crt",
      ],
      { cwd: pki, stdio: "pipe" },
    );
    const result = await runManager([
      "--data",
      join(dir, "open"),
      "--listen",
      "0.0.0.0:0",
      "--ops-listen",
      "127.0.0.1:0",
      "--tls-cert",
      join(pki, "s.crt"),
      "--tls-key",
      join(pki, "s.key"),
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "without authentication: every caller would be an administrator",
    );
  });
});
