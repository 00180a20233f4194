import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type ProviderProcess, startProviderProcess } from "@virtrigaud/contracts/testing";

const built = (relative: string, project: string): string => {
  const path = fileURLToPath(new URL(relative, import.meta.url));
  if (!existsSync(path))
    throw new Error(`${path} is missing: build it first (npx nx run @virtrigaud/${project}:build)`);
  return path;
};
const managerBin = () => built("../../manager/dist/main.js", "manager");
const vrtgBin = () => built("../../manager/dist/vrtg/cli.js", "manager");
const mockBin = () => built("../../provider-mock/dist/main.js", "provider-mock");
/** The console as `vite build` made it. */
export const consoleDist = () => {
  built("../dist/index.html", "console");
  return fileURLToPath(new URL("../dist", import.meta.url));
};

/** The bearer tokens of the test's users: an administrator and a viewer. */
export const tokens = {
  admin: "console-admin-token-0123456789",
  viewer: "console-viewer-token-0123456789",
};

const tokenLine = (token: string, name: string) =>
  `sha256:${createHash("sha256").update(token).digest("hex")} ${name}`;

/** A provider-mock and a manager serving the console, as separate processes on 127.0.0.1. */
export interface ConsoleStack {
  mock: ProviderProcess;
  manager: ProviderProcess;
  /** Runs vrtg against the manager as the administrator, with `stdin`. */
  vrtg(args: string[], stdin?: string): Promise<string>;
  stop(): Promise<void>;
}

/** A provider-mock of its own on 127.0.0.1, with `args` (faults, disk sizes) beside its address flags. */
export function startMockProvider(args: readonly string[] = []): Promise<ProviderProcess> {
  return startProviderProcess({
    args: [
      mockBin(),
      "--insecure",
      "--listen",
      "127.0.0.1:0",
      "--ops-listen",
      "127.0.0.1:0",
      ...args,
    ],
  });
}

/**
 * `mockArgs`: more flags for the stack's provider-mock; `managerArgs` go to
 * the manager after the stack's own (--oidc-issuer ... for an OIDC test).
 */
export async function startConsoleStack(
  dir: string,
  options: { mockArgs?: readonly string[]; managerArgs?: readonly string[] } = {},
): Promise<ConsoleStack> {
  const tokenFile = join(dir, "tokens");
  writeFileSync(
    tokenFile,
    `${tokenLine(tokens.admin, "admin")}\n${tokenLine(tokens.viewer, "vic")}\n`,
    { mode: 0o600 },
  );
  const mock = await startMockProvider(options.mockArgs);
  const manager = await startProviderProcess({
    args: [
      managerBin(),
      "--insecure",
      "--listen",
      "127.0.0.1:0",
      "--ops-listen",
      "127.0.0.1:0",
      "--data",
      join(dir, "data"),
      "--token-file",
      tokenFile,
      "--bootstrap-admin",
      "user:admin",
      "--console-dir",
      consoleDist(),
      "--health-interval",
      "300ms",
      "--drift-page-interval",
      "200ms",
      ...(options.managerArgs ?? []),
    ],
    timeoutMs: 20_000,
  }).catch(async (err: unknown) => {
    await mock.stop();
    throw err;
  });
  const vrtg = async (args: string[], stdin = "") => {
    const run = promisify(execFile)(
      process.execPath,
      [vrtgBin(), "--server", manager.url, ...args],
      {
        env: { ...process.env, NODE_OPTIONS: "", VIRTRIGAUD_TOKEN: tokens.admin },
      },
    );
    run.child.stdin?.end(stdin);
    return (await run).stdout;
  };
  return {
    mock,
    manager,
    vrtg,
    async stop() {
      await manager.stop();
      await mock.stop();
    },
  };
}

/** A Provider, a class, an image and a network on the mock, in `namespace`. */
export function stackManifest(mockUrl: string, namespace: string): string {
  return `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata: {name: mock, namespace: ${namespace}}
spec: {type: mock, endpoint: "${mockUrl}"}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata: {name: small, namespace: ${namespace}}
spec: {cpu: 1, memory: 1Gi, firmware: BIOS}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata: {name: debian, namespace: ${namespace}}
spec: {source: {libvirt: {path: /var/lib/libvirt/images/debian-12.qcow2}}}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata: {name: default-net, namespace: ${namespace}}
spec: {network: {libvirt: {networkName: default, model: virtio}}}
`;
}

/** A VM on that stack, labelled app=`app`. */
export function vmManifest(name: string, namespace: string, app: string): string {
  return `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata: {name: ${name}, namespace: ${namespace}, labels: {app: ${app}}}
spec:
  providerRef: {name: mock}
  classRef: {name: small}
  imageRef: {name: debian}
  networks: [{name: default-net}]
  powerState: On
`;
}

/** The built-in viewer ClusterRole, everywhere, for the user "vic". */
export const viewerBinding = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: vic-views}
subjects: [{kind: User, name: vic, apiGroup: rbac.authorization.k8s.io}]
roleRef: {kind: ClusterRole, name: viewer, apiGroup: rbac.authorization.k8s.io}
`;
