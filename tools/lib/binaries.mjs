// The binaries the project ships and how to read their --help: shared by the
// docs generator (tools/docs/help.mjs) and the compose check
// (tools/compose/check-flags.mjs), so both agree on what exists and what it says.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is tools/lib/binaries.mjs). */
export const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Every binary the project ships, by its command name: the path of its bin
 * script, relative to the repository root.
 */
export const binaries = Object.freeze({
  "virtrigaud-manager": "apps/manager/bin/virtrigaud-manager.js",
  vrtg: "apps/manager/bin/vrtg.js",
  "virtrigaud-provider-mock": "apps/provider-mock/bin/virtrigaud-provider-mock.js",
  "virtrigaud-provider-libvirt": "apps/provider-libvirt/bin/virtrigaud-provider-libvirt.js",
  "virtrigaud-provider-vsphere": "apps/provider-vsphere/bin/virtrigaud-provider-vsphere.js",
  vcts: "packages/conformance/bin/vcts.js",
  "create-virtrigaud-provider":
    "packages/create-virtrigaud-provider/bin/create-virtrigaud-provider.js",
});

/**
 * The command name of the binary whose bin script is `path` (relative to the
 * root, e.g. "apps/manager/bin/vrtg.js"), or undefined when none is.
 */
export function binaryAt(path) {
  return Object.keys(binaries).find((name) => binaries[name] === path);
}

const helps = new Map();

/**
 * What `node <bin> --help` prints for the binary `name`, trailing whitespace
 * removed; run once per name and cached. Runs without NODE_OPTIONS and with
 * NO_COLOR so the text is the same wherever it runs.
 *
 * @throws Error when `name` is not in {@link binaries}, its bin script is
 *   missing, or it exits non-zero (typically: its package is not built).
 */
export function helpOf(name) {
  const cached = helps.get(name);
  if (cached !== undefined) return cached;
  const bin = Object.hasOwn(binaries, name) ? binaries[name] : undefined;
  if (!bin) throw new Error(`unknown binary ${JSON.stringify(name)}`);
  const build = `npx tsc -b ${bin.split("/").slice(0, 2).join("/")}/tsconfig.lib.json`;
  if (!existsSync(join(root, bin))) throw new Error(`${bin} (${name}) does not exist`);
  let out;
  try {
    out = execFileSync(process.execPath, [join(root, bin), "--help"], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: "", NO_COLOR: "1" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    const stderr = String(error?.stderr ?? "").trim();
    throw new Error(
      `\`node ${bin} --help\` failed (${error?.status != null ? `exit ${error.status}` : error?.message}); is it built? ${build}${stderr ? `\n${stderr}` : ""}`,
      { cause: error },
    );
  }
  const text = out.replace(/\s+$/, "");
  helps.set(name, text);
  return text;
}

/**
 * The Node flags an app's process runs with (`virtrigaud.nodeFlags` in its
 * package.json; none when it sets none): what its image's entrypoint,
 * tools/run.sh and the benchmarks give node before the app's script. `dir` is
 * the app's directory relative to the root, e.g. "apps/manager".
 */
export function nodeFlagsOf(dir) {
  const manifest = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
  return manifest.virtrigaud?.nodeFlags ?? [];
}
