import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { GuestTestbed } from "@virtrigaud/testbed";

const run = promisify(execFile);

/** A guest login: its address, user and private key. */
export interface GuestLogin {
  address: string;
  user: string;
  key: string;
}

/**
 * One SSH login to a guest running `true`, through the test bed's sshd whose
 * sessions run in libvirtd's network namespace (the guests' network is
 * there, never on the host's). True when it succeeded.
 */
async function trySsh(testbed: GuestTestbed, login: GuestLogin): Promise<boolean> {
  const proxy = `ssh -i ${testbed.sshKeyFile} -p ${testbed.namespaceSshPort} -o UserKnownHostsFile=${testbed.knownHosts} -o BatchMode=yes -W %h:%p root@127.0.0.1`;
  try {
    await run(
      "ssh",
      [
        "-i",
        login.key,
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=5",
        "-o",
        `ProxyCommand=${proxy}`,
        `${login.user}@${login.address}`,
        "true",
      ],
      { timeout: 30_000 },
    );
    return true;
  } catch {
    return false;
  }
}

/** Tries SSH every `intervalMs` until a login succeeds; false at the deadline. */
export async function sshUntil(
  testbed: GuestTestbed,
  login: GuestLogin,
  deadline: number,
  intervalMs = 1000,
): Promise<boolean> {
  while (Date.now() < deadline) {
    const started = Date.now();
    if (await trySsh(testbed, login)) return true;
    await sleep(Math.max(0, intervalMs - (Date.now() - started)));
  }
  return false;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
