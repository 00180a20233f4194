import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** How to reach the libvirt test bed's guests: its sshd port inside libvirtd's namespaces. */
export interface GuestJump {
  /** The test bed's sshd port whose sessions run in libvirtd's network namespace. */
  port: string;
  key: string;
  knownHosts: string;
}

/** The jump into the libvirt test bed's namespaces, from its environment. */
export function guestJumpFromEnv(): GuestJump {
  const get = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run tools/testbed/up.sh libvirt`);
    return value;
  };
  return {
    port: get("VIRTRIGAUD_LIBVIRT_NAMESPACE_SSH_PORT"),
    key: get("VIRTRIGAUD_LIBVIRT_SSH_KEY"),
    knownHosts: get("VIRTRIGAUD_LIBVIRT_SSH_KNOWN_HOSTS"),
  };
}

/**
 * Runs `command` on a guest over SSH as `user` with `key`. The guests'
 * network lives inside the test bed's network namespace, never the host's:
 * the connection goes through the test bed's namespace sshd (`ssh -W`, as
 * ProxyJump does). A fresh guest's host key is unknown, so it is not checked.
 *
 * @throws Error with ssh's message when the login or the command fails.
 */
export async function guestSsh(
  jump: GuestJump,
  target: { address: string; user: string; key: string },
  command: string,
  timeoutMs = 60_000,
): Promise<string> {
  const proxy = [
    "ssh",
    `-i ${jump.key}`,
    `-p ${jump.port}`,
    `-o UserKnownHostsFile=${jump.knownHosts}`,
    "-o BatchMode=yes",
    "-W %h:%p",
    "root@127.0.0.1",
  ].join(" ");
  const { stdout } = await run(
    "ssh",
    [
      "-i",
      target.key,
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "LogLevel=ERROR",
      "-o",
      "ConnectTimeout=15",
      "-o",
      `ProxyCommand=${proxy}`,
      `${target.user}@${target.address}`,
      command,
    ],
    { timeout: timeoutMs },
  );
  return stdout.trim();
}
