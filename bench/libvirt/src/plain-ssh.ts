import { readFileSync } from "node:fs";
import ssh2 from "ssh2";
import type { LibvirtTestbed } from "@virtrigaud/testbed";

/**
 * The baseline: plain virsh over SSH, one exec per command, as a client
 * without a long-lived shell runs it (`ssh host virsh -c URI ...`).
 */
export interface PlainSsh {
  /** Runs `virsh -c URI <args>` in a new exec channel; resolves with its output. */
  virsh(args: readonly string[]): Promise<string>;
  close(): void;
}

function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Connects once (the connection is not what is measured). */
export function connectPlainSsh(testbed: LibvirtTestbed): Promise<PlainSsh> {
  // The keys known_hosts holds for this host and port, as base64 of the wire form.
  const name = `[${testbed.sshHost}]:${testbed.sshPort}`;
  const trusted = readFileSync(testbed.knownHosts, "utf8")
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[0]?.split(",").includes(name))
    .map((fields) => fields[2] ?? "");
  const client = new ssh2.Client();
  return new Promise((resolve, reject) => {
    client.once("error", reject);
    client.once("ready", () => {
      // As the provider's connection does: without it each exec waits on delayed ACKs.
      client.setNoDelay(true);
      resolve({
        virsh(args) {
          const command = ["virsh", "-q", "-c", testbed.uri, ...args].map(quote).join(" ");
          return new Promise((done, fail) => {
            client.exec(command, (err, channel) => {
              if (err) return fail(err);
              let out = "";
              let errOut = "";
              channel.on("data", (d: Buffer) => (out += d.toString()));
              channel.stderr.on("data", (d: Buffer) => (errOut += d.toString()));
              channel.on("close", (code: number | null) =>
                code === 0 ? done(out) : fail(new Error(`virsh ${args[0]}: ${errOut.trim()}`)),
              );
            });
          });
        },
        close: () => client.end(),
      });
    });
    client.connect({
      host: testbed.sshHost,
      port: testbed.sshPort,
      username: testbed.sshUser,
      privateKey: readFileSync(testbed.sshKeyFile, "utf8"),
      hostVerifier: (key: Buffer) => trusted.includes(key.toString("base64")),
    });
  });
}
