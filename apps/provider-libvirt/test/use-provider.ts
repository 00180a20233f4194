import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { promisify } from "node:util";
import { type LogLevel, ProviderError, type TaskRef, createLogger } from "@virtrigaud/contracts";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  type ProviderProcess,
  type TestServer,
  startProviderProcess,
  startTestServer,
} from "@virtrigaud/contracts/testing";
import type { HostTransport } from "../src/host/host-transport.js";
import { createLibvirtHost } from "../src/host/libvirt-host.js";
import { createSshTransport, type SshTransportOptions } from "../src/host/ssh-transport.js";
import type { LibvirtProviderOptions } from "../src/libvirt-options.js";
import { type LibvirtProvider, createLibvirtProvider } from "../src/libvirt-provider.js";
import { repoRoot, sshKey, testbed } from "./testbed.js";
import { libvirtHostFlags, libvirtTestbed } from "@virtrigaud/testbed";

const run = promisify(execFile);

/** The pool the provider tests use, made by the provider itself in the test bed's directory. */
export const testPool = "vrtg-test-pool";

/** The SSH transport options of the test bed. */
export function sshOptions(overrides: Partial<SshTransportOptions> = {}): SshTransportOptions {
  return {
    host: testbed().sshHost,
    port: testbed().sshPort,
    username: testbed().sshUser,
    privateKey: sshKey(),
    knownHostsFile: testbed().knownHosts,
    initialBackoffMs: 20,
    maxBackoffMs: 500,
    ...overrides,
  };
}

/** How a test changes the host client of `useProvider`. */
export interface TestHostOptions {
  /** The directory the provider's scratch directories are made in. Default: /tmp. */
  scratchRoot?: string;
  /** Wraps the SSH transport, to watch or break what goes to the host. */
  wrapTransport?: (transport: HostTransport) => HostTransport;
}

/** Starts the provider over SSH against the test bed, served by the real harness. */
export async function useProvider(
  options: Partial<LibvirtProviderOptions> = {},
  ssh: Partial<SshTransportOptions> = {},
  hostOptions: TestHostOptions = {},
): Promise<{ test: TestServer; provider: LibvirtProvider; close(): Promise<void> }> {
  const transport = createSshTransport(sshOptions(ssh));
  const host = createLibvirtHost({
    uri: testbed().uri,
    transport: hostOptions.wrapTransport ? hostOptions.wrapTransport(transport) : transport,
    ...(hostOptions.scratchRoot ? { scratchRoot: hostOptions.scratchRoot } : {}),
  });
  const provider = createLibvirtProvider({
    host,
    storagePool: testPool,
    createPoolDir: testbed().poolDir,
    defaultShutdownTimeoutSeconds: 3,
    // Tests of the collector turn it on; elsewhere its sweeps would only add host calls.
    orphans: false,
    // VRTG_TEST_LOG=debug shows the provider's log, task failures included.
    logger: createLogger({
      level: (process.env["VRTG_TEST_LOG"] ?? "error") as LogLevel,
      destination: { write: (line: string) => process.stderr.write(line) },
    }),
    ...options,
  });
  const test = await startTestServer(provider);
  return {
    test,
    provider,
    async close() {
      await test.close();
      await provider.close();
    },
  };
}

/** Waits for a task of the test server's provider, failing with its error. */
export async function done(test: TestServer, task: TaskRef | undefined): Promise<void> {
  await test.client.waitForTask(task, {
    timeoutMs: 110_000,
    pollIntervalMs: 100,
    maxPollIntervalMs: 250,
  });
}

/** A blank qcow2 disk image on the host (no OS: the guest sits in the BIOS and ignores ACPI). */
export async function blankImage(name: string, sizeMib = 64): Promise<string> {
  const dir = `${testbed().dir}/images`;
  await mkdir(dir, { recursive: true });
  const path = `${dir}/${name}.qcow2`;
  await run("qemu-img", ["create", "-q", "-f", "qcow2", path, `${sizeMib}M`]);
  return path;
}

/** The ProviderError `promise` rejects with; throws when it resolves or rejects with anything else. */
export async function errorOf(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ProviderError))
    throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}

const providerMain = join(repoRoot, "apps/provider-libvirt/dist/main.js");

/**
 * Starts the built provider binary against the test bed over SSH, with the
 * test pool and `extra` flags: a real process, for tests that kill it.
 *
 * @throws Error when the binary is not built.
 */
export async function startProviderBinary(extra: string[] = []): Promise<ProviderProcess> {
  if (!existsSync(providerMain)) {
    throw new Error(
      `${providerMain} is missing: build first (npx tsc -b apps/provider-libvirt/tsconfig.lib.json)`,
    );
  }
  return startProviderProcess({
    args: [
      providerMain,
      "--listen",
      "127.0.0.1:0",
      "--ops-listen",
      "off",
      "--insecure",
      ...libvirtHostFlags(libvirtTestbed()),
      "--storage-pool",
      testPool,
      "--create-pool-dir",
      testbed().poolDir,
      "--shutdown-timeout",
      "5s",
      ...extra,
    ],
  });
}
