import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type BootTimes, type GuestShape, qemuStartedAt } from "./boot-times.js";
import { type GuestLogin, sshUntil } from "./guest-ssh.js";
import type { GuestTestbed } from "@virtrigaud/testbed";

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const bins = {
  manager: join(repoRoot, "apps/manager/dist/main.js"),
  vrtg: join(repoRoot, "apps/manager/dist/vrtg/cli.js"),
  libvirt: join(repoRoot, "apps/provider-libvirt/dist/main.js"),
};

/** A server the bench started. */
export interface Server {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts a built server (the manager or provider-libvirt) with `args` and
 * waits until it logs that it serves.
 *
 * @throws Error when it exits first or does not serve within 30 s.
 */
export function startServer(which: "manager" | "libvirt", args: string[]): Promise<Server> {
  const child = spawn(
    process.execPath,
    [bins[which], "--insecure", "--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", ...args],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let buffered = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${which} did not start`)), 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.includes("serving")) continue;
        const entry = JSON.parse(line) as { msg: string; url: string };
        if (!entry.msg.endsWith("serving")) continue;
        clearTimeout(timer);
        resolve({
          child,
          url: entry.url,
          stop: async () => {
            child.kill("SIGTERM");
            await exited;
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`${which} exited before serving`)));
  });
}

/** Runs the built vrtg against the manager; its stdout, or an error with its stderr. */
export async function vrtg(server: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [bins.vrtg, "--server", server, ...args], {
    maxBuffer: 16 << 20,
  });
  return stdout;
}

/** The stack the manager path needs, applied once before the timed runs. */
export function stackManifests(testbed: GuestTestbed, providerUrl: string, shape: GuestShape) {
  return `apiVersion: infra.virtrigaud.io/v1beta1
kind: Provider
metadata:
  name: kvm
spec:
  type: libvirt
  endpoint: ${providerUrl}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMClass
metadata:
  name: bench
spec:
  cpu: ${shape.cpu}
  memory: ${shape.memoryMib}Mi
  firmware: BIOS
  diskDefaults:
    sizeGiB: ${shape.rootGib}
  addressPolicy:
    requiredForReady: true
    timeout: 10m
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMImage
metadata:
  name: debian
spec:
  source:
    libvirt:
      path: ${JSON.stringify(testbed.image)}
---
apiVersion: infra.virtrigaud.io/v1beta1
kind: VMNetworkAttachment
metadata:
  name: nat
spec:
  network:
    libvirt:
      networkName: ${testbed.network}
`;
}

/**
 * The path under test, as a user takes it: `vrtg apply` of a VirtualMachine
 * with the cloud-init, `vrtg wait --for condition=Ready` (the class's address
 * policy makes Ready wait for the guest's address), `vrtg get` for the
 * address, then SSH every second until a login succeeds. Each step is a
 * process of its own, as from a shell. The VM is deleted afterwards.
 */
export async function bootThroughManager(
  server: string,
  dir: string,
  shape: GuestShape,
  name: string,
  login: Omit<GuestLogin, "address">,
  testbed: GuestTestbed,
  deadline: number,
): Promise<BootTimes> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: ${name}
spec:
  providerRef:
    name: kvm
  classRef:
    name: bench
  imageRef:
    name: debian
  networks:
    - name: nat
  userData:
    cloudInit:
      inline: ${JSON.stringify(shape.userData)}
`,
  );
  const started = Date.now();
  try {
    await vrtg(server, "apply", "-f", file);
    const timeout = `${Math.max(1, Math.ceil((deadline - Date.now()) / 1000))}s`;
    await vrtg(server, "wait", "vm", name, "--for", "condition=Ready", "--timeout", timeout);
    const vm = JSON.parse(await vrtg(server, "get", "vm", name, "-o", "json")) as {
      status?: { addresses?: Array<{ address: string }> };
    };
    const address = vm.status?.addresses?.find((a) => !a.address.includes(":"))?.address;
    if (!address) throw new Error(`${name}: Ready without an address`);
    const addressAt = Date.now();
    if (!(await sshUntil(testbed, { ...login, address }, deadline)))
      throw new Error(`${name}: no SSH login before the deadline`);
    const sshAt = Date.now();
    const qemuAt = qemuStartedAt(
      readFileSync(join(testbed.dir, "log", "qemu", `${name}.log`), "utf8"),
    );
    return {
      toQemuStartMs: qemuAt - started,
      toAddressMs: addressAt - started,
      toSshMs: sshAt - started,
    };
  } finally {
    await vrtg(server, "delete", "vm", name, "--wait", "--timeout", "120s").catch(() => "");
  }
}
