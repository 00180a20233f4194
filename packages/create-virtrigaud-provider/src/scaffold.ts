import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { providerNames, renderStandaloneProject } from "./render-project.js";

/** Options of `scaffoldProvider`. */
export interface ScaffoldOptions {
  /** The provider's name: lowercase letters, digits and dashes ("acme"). */
  name: string;
  /** Where to create the project. Default: ./virtrigaud-provider-NAME. */
  dir?: string;
}

/**
 * Writes a standalone provider project: package.json depending on the SDK
 * and the conformance suite, strict TypeScript, jest with a conformance test,
 * a Dockerfile, a README, and a working in-memory backend to replace.
 *
 * @returns the project's directory.
 * @throws Error for a bad name, or a directory that exists and is not empty.
 */
export function scaffoldProvider(options: ScaffoldOptions): string {
  const names = providerNames(options.name);
  const dir = resolve(options.dir ?? names.packageName);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new Error(`${dir} exists and is not empty`);
  }
  for (const [path, content] of renderStandaloneProject(names)) {
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return dir;
}
