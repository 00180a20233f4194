import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createLogger } from "@virtrigaud/contracts";
import {
  Kind,
  ManagerService,
  MigrationPhase,
  SubjectSchema,
  type VMMigration,
} from "@virtrigaud/proto/manager";
import { tokenLine } from "../src/auth/token-file.js";
import { type Manager, startManager } from "../src/manager.js";
import { decodeManifest } from "../src/manifest/manifest-codec.js";
import { parseManifests } from "../src/manifest/parse-manifests.js";
import { eventually } from "./processes.js";

const dir = mkdtempSync(join(tmpdir(), "migration-api-"));
let manager: Manager;
const tokens = { root: "root-token-0123", vic: "viewer-token-0123", mia: "migrator-token-0123" };

beforeAll(async () => {
  writeFileSync(
    join(dir, "tokens"),
    Object.entries(tokens)
      .map(([name, token]) => tokenLine(token, name, []))
      .join("\n") + "\n",
  );
  manager = await startManager({
    dataDir: join(dir, "data"),
    logger: createLogger({ level: "silent" }),
    serve: { listen: "127.0.0.1:0", insecure: true, opsListen: false, handleSignals: false },
    auth: {
      tokenFile: join(dir, "tokens"),
      bootstrapAdmins: [create(SubjectSchema, { kind: "User", name: "root" })],
    },
  });
  await apply("root", rbac);
});
afterAll(async () => {
  await manager.close();
  rmSync(dir, { recursive: true, force: true });
});

function client(user: keyof typeof tokens) {
  const c = createClient(
    ManagerService,
    createGrpcTransport({ baseUrl: manager.server?.url ?? "" }),
  );
  const headers = { authorization: `Bearer ${tokens[user]}` };
  return {
    apply: async (yaml: string) =>
      Promise.all(
        parseManifests(yaml, "test").map(({ manifest }) =>
          c.apply({ resource: decodeManifest(manifest) }, { headers }),
        ),
      ),
    list: (namespace: string) => c.list({ kind: Kind.VM_MIGRATION, namespace }, { headers }),
  };
}
const apply = (user: keyof typeof tokens, yaml: string) => client(user).apply(yaml);
const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );

const rbac = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: vic-views}
subjects: [{kind: User, name: vic}]
roleRef: {kind: ClusterRole, name: viewer}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: migrator, namespace: team}
rules:
  - {verbs: [get, list, create], resources: [vmmigrations]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: mia-migrates, namespace: team}
subjects: [{kind: User, name: mia}]
roleRef: {kind: Role, name: migrator}
`;

const migration = (
  name: string,
  namespace: string,
  extra = "",
) => `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  source:
    vmRef: {name: web}
  target:
    name: web-kvm
    providerRef: {name: kvm}
${extra}`;

describe("VMMigration through the API", () => {
  it("refuses each unsupported or contradictory field by name, storing nothing", async () => {
    const cases: Array<[string, string]> = [
      ["  storage:\n    type: pvc\n", "resource.vm_migration.spec.storage.type"],
      [
        "  storage:\n    type: directory\n    path: /etc\n",
        "resource.vm_migration.spec.storage.path",
      ],
      ["  options:\n    compress: true\n", "resource.vm_migration.spec.options.compress"],
      [
        "  options:\n    verifyChecksums: false\n",
        "resource.vm_migration.spec.options.verify_checksums",
      ],
      [
        "  options:\n    validationChecks: {checkConnectivity: true}\n",
        "resource.vm_migration.spec.options.validation_checks.check_connectivity",
      ],
      ["  options:\n    timeout: soon\n", "resource.vm_migration.spec.options.timeout"],
    ];
    for (const [extra, field] of cases) {
      const err = await refusal(apply("root", migration("bad", "default", extra)));
      expect(err?.code).toBe(Code.InvalidArgument);
      expect(err?.rawMessage).toContain(field);
    }
    // A format not in the enum is refused by the manifest's decoding, before any call.
    const format = await refusal(
      apply("root", migration("bad", "default", "  options:\n    diskFormat: ova\n")),
    );
    expect(format?.message).toContain("spec.options.diskFormat: must be one of qcow2, vmdk, raw");
    const target = `apiVersion: infra.virtrigaud.io/v1beta1
kind: VMMigration
metadata: {name: bad}
spec:
  source: {vmRef: {name: web}}
  target:
    name: web-kvm
    providerRef: {name: kvm}
    imageRef: {name: debian}
`;
    expect((await refusal(apply("root", target)))?.rawMessage).toContain(
      "resource.vm_migration.spec.target.image_ref",
    );
    const both = target.replace(
      "    imageRef: {name: debian}\n",
      "    networks: [{name: lan}]\n    networkMappings: [{sourceNetwork: a, targetNetwork: {name: b}}]\n",
    );
    expect((await refusal(apply("root", both)))?.rawMessage).toContain(
      "resource.vm_migration.spec.target.network_mappings",
    );
    expect((await client("root").list("default")).resources).toHaveLength(0);
  });

  it("is authorized like the other kinds: by its plural in roles, read by viewers, written by whom a Role lets", async () => {
    // The viewer reads, and may not write.
    expect((await client("vic").list("team")).resources).toHaveLength(0);
    expect((await refusal(apply("vic", migration("m1", "team"))))?.code).toBe(
      Code.PermissionDenied,
    );
    // A Role naming vmmigrations lets mia create one in its namespace, and nowhere else.
    await apply("mia", migration("m1", "team"));
    expect((await client("mia").list("team")).resources).toHaveLength(1);
    expect((await refusal(apply("mia", migration("m2", "default"))))?.code).toBe(
      Code.PermissionDenied,
    );
    expect((await refusal(client("mia").list("default")))?.code).toBe(Code.PermissionDenied);
  });

  it("fails a migration of a VM that does not exist, and refuses to change what it moves once begun", async () => {
    const m = await eventually(
      () => {
        const found = manager.store.get(Kind.VM_MIGRATION, "team", "m1") as VMMigration | undefined;
        return found?.status?.phase === MigrationPhase.FAILED ? found : undefined;
      },
      15_000,
      "m1 Failed",
    );
    expect(m.status?.conditions.find((c) => c.type === "Ready")?.reason).toBe("SourceNotFound");
    expect(m.status?.startTime).toBeDefined();
    const moved = migration("m1", "team").replace("name: web-kvm", "name: elsewhere");
    const err = await refusal(apply("root", moved));
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toContain("resource.vm_migration.spec.target:");
  });
});
