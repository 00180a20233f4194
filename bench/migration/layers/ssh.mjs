// The copy's layers alone, on the libvirt test bed's sshd: 1 GiB of random
// bytes read and written over ssh2 (SFTP, as provider-libvirt does, 2 MiB
// reads and writes, 4 in flight; exec cat) beside OpenSSH (ssh cat, scp -3),
// and SHA-256 in this process. Wall time and CPU-seconds of this process and
// its children. Needs the test bed's env (libvirt.env) and a built provider-libvirt.
//   node bench/migration/layers/ssh.mjs [MiB, default 1024] [only-these-layers...]
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { Buffer } from "node:buffer";
import { readFileSync, rmSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { Secret } from "@virtrigaud/contracts";
import { createSshTransport } from "@virtrigaud/provider-libvirt";

const mib = Number(process.argv[2] ?? 1024);
const only = process.argv.slice(3);
const size = mib * 2 ** 20;
const chunk = 2 * 2 ** 20;
const env = (name) => process.env[`VIRTRIGAUD_LIBVIRT_${name}`];
const dir = `${env("DIR")}/layers`;
const [source, target] = [`${dir}/source.bin`, `${dir}/target.bin`];
const sshArgs = [
  ...["-i", env("SSH_KEY"), "-o", `UserKnownHostsFile=${env("SSH_KNOWN_HOSTS")}`],
  ...["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"],
];
const at = `${env("SSH_USER")}@${env("SSH_HOST")}`;
const port = env("SSH_PORT");

/** CPU-seconds of this process and of its children it waited for. */
const cpu = () => {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return { self: (+f[11] + +f[12]) / 100, children: (+f[13] + +f[14]) / 100 };
};
async function measure(name, run) {
  if (only.length && !only.includes(name)) return;
  execFileSync("sync");
  const [c0, t0] = [cpu(), performance.now()];
  await run();
  const [c1, secs] = [cpu(), (performance.now() - t0) / 1000];
  console.log(
    `${name.padEnd(22)} ${(mib / secs).toFixed(0).padStart(5)} MiB/s  ` +
      `CPU-s/GiB: this process ${(((c1.self - c0.self) * 1024) / mib).toFixed(1)}, ` +
      `children ${(((c1.children - c0.children) * 1024) / mib).toFixed(1)}`,
  );
}
const pool = async (n, work) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i; (i = next++) < n;) await work(i);
    }),
  );
};
const exited = (child) =>
  new Promise((ok, fail) =>
    child.on("exit", (c) => (c === 0 ? ok() : fail(new Error(`exit ${c}`)))),
  );

execFileSync("mkdir", ["-p", dir]);
execFileSync("sh", ["-c", `head -c ${size} /dev/urandom > "$1"`, "sh", source]);
const transport = createSshTransport({
  host: env("SSH_HOST"),
  port: Number(port),
  username: env("SSH_USER"),
  privateKey: new Secret(readFileSync(env("SSH_KEY"), "utf8")),
  knownHostsFile: env("SSH_KNOWN_HOSTS"),
});

await measure("sha256 (node)", async () => {
  const bytes = randomFillSync(Buffer.alloc(chunk));
  for (let i = 0; i < size / chunk; i++) createHash("sha256").update(bytes).digest("hex");
});
await measure("ssh2 sftp read", async () => {
  const file = await transport.openFile(source, "r");
  await pool(size / chunk, (i) => file.read(i * chunk, chunk));
  await file.close();
});
await measure("ssh2 sftp write", async () => {
  execFileSync("truncate", ["-s", "0", target]);
  const file = await transport.openFile(target, "r+");
  const bytes = randomFillSync(Buffer.alloc(chunk));
  await pool(size / chunk, (i) => file.write(i * chunk, bytes));
  await file.close();
});
await measure("ssh2 exec cat", async () => {
  const shell = await transport.openShell();
  shell.stdin.end(`exec cat -- '${source}'\n`);
  for await (const piece of shell.stdout) void piece;
});
await measure("ssh cat (OpenSSH)", async () => {
  const child = spawn("ssh", [...sshArgs, "-p", port, at, `cat -- '${source}'`]);
  for await (const piece of child.stdout) void piece;
  await exited(child);
});
await measure("ssh cat > (OpenSSH)", async () => {
  const child = spawn("ssh", [...sshArgs, "-p", port, at, `cat > '${target}'`]);
  const bytes = randomFillSync(Buffer.alloc(chunk));
  for (let i = 0; i < size / chunk; i++) {
    if (!child.stdin.write(bytes)) await new Promise((ok) => child.stdin.once("drain", ok));
  }
  child.stdin.end();
  await exited(child);
});
await measure("scp -3 (OpenSSH)", async () => {
  const child = spawn("scp", [
    "-3",
    "-q",
    ...sshArgs,
    "-P",
    port,
    `${at}:${source}`,
    `${at}:${target}`,
  ]);
  await exited(child);
});
await transport.close();
rmSync(dir, { recursive: true, force: true });
