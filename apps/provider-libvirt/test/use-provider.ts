import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { promisify } from "node:util";
import { type LogLevel, ProviderError, type TaskRef, createLogger } from "@virtrigaud/contracts";
import { type TestServer, startTestServer } from "@virtrigaud/contracts/testing";
import { createLibvirtHost } from "../src/host/libvirt-host.js";
import { createSshTransport, type SshTransportOptions } from "../src/host/ssh-transport.js";
import type { LibvirtProviderOptions } from "../src/libvirt-options.js";
import { type LibvirtProvider, createLibvirtProvider } from "../src/libvirt-provider.js";
import { testbed } from "./testbed.js";

const run = promisify(execFile);

/** The pool the provider tests use, made by the provider itself in the test bed's directory. */
export const testPool = "vrtg-test-pool";

/** The SSH transport options of the test bed. */
export function sshOptions(overrides: Partial<SshTransportOptions> = {}): SshTransportOptions {
  return {
    host: testbed.sshHost,
    port: testbed.sshPort,
    username: testbed.sshUser,
    privateKey: testbed.sshKey,
    knownHostsFile: testbed.knownHosts,
    initialBackoffMs: 20,
    maxBackoffMs: 500,
    ...overrides,
  };
}

/** Starts the provider over SSH against the test bed, served by the real harness. */
export async function useProvider(
  options: Partial<LibvirtProviderOptions> = {},
  ssh: Partial<SshTransportOptions> = {},
): Promise<{ test: TestServer; provider: LibvirtProvider; close(): Promise<void> }> {
  const host = createLibvirtHost({
    uri: testbed.uri,
    transport: createSshTransport(sshOptions(ssh)),
  });
  const provider = createLibvirtProvider({
    host,
    storagePool: testPool,
    createPoolDir: testbed.poolDir,
    defaultShutdownTimeoutSeconds: 3,
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
  const dir = `${testbed.dir}/images`;
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
