import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { type SourcedManifest, parseManifests } from "../manifest/parse-manifests.js";
import { CliError, type Io, exitCodes } from "./common.js";

/**
 * Reads the manifests `-f` names: files, directories (their .yaml, .yml and
 * .json files, by name) or "-" for standard input.
 *
 * @throws CliError for a path that cannot be read or a file that does not parse.
 */
export async function readInputs(paths: string[], io: Io): Promise<SourcedManifest[]> {
  const out: SourcedManifest[] = [];
  for (const path of paths) {
    if (path === "-") {
      out.push(...parseManifests(await io.readStdin(), "<stdin>"));
      continue;
    }
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new CliError(`${path}: no such file or directory`, exitCodes.usage);
    }
    const files = info.isDirectory()
      ? (await readdir(path))
          .filter((f) => /\.(ya?ml|json)$/.test(f))
          .sort()
          .map((f) => join(path, f))
      : [path];
    for (const file of files) out.push(...parseManifests(await readFile(file, "utf8"), file));
  }
  return out;
}
