import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** The console's built files that a browser loads, raw and gzipped, in kB. */
export function bundleSize(dist: string): { file: string; kB: number; gzipKB: number }[] {
  const assets = join(dist, "assets");
  return readdirSync(assets)
    .filter((f) => f.endsWith(".js") || f.endsWith(".css"))
    .map((file) => {
      const bytes = readFileSync(join(assets, file));
      return { file, kB: bytes.length / 1000, gzipKB: gzipSync(bytes).length / 1000 };
    })
    .sort((a, b) => b.kB - a.kB);
}
