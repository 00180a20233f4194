import { readFileSync, readdirSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { gzipSync } from "node:zlib";

/** One file of the built console, read once at start and ready to send. */
export interface ConsoleFile {
  body: Buffer;
  /** The body gzipped, for text files only (images are compressed already). */
  gzipped: Buffer | undefined;
  contentType: string;
  cacheControl: string;
}

/** The console's files by their path under /console ("/index.html", "/assets/index-3f2a.js"). */
export type ConsoleFiles = ReadonlyMap<string, ConsoleFile>;

const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Vite names what it bundles after its content (assets/NAME-HASH.EXT): such a
 * file never changes under its name, so browsers keep it for a year; every
 * other file (index.html above all) is checked again at each load.
 */
function cacheControlOf(path: string): string {
  return path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache";
}

/**
 * Reads every regular file under `dir` (the console's build, apps/console/dist)
 * into memory. Only these are ever served: a request names a key of this map
 * or nothing, so no path can reach a file outside `dir`. Symbolic links are
 * skipped for the same reason.
 *
 * @throws Error when `dir` cannot be read or holds no index.html.
 */
export function loadConsoleFiles(dir: string): ConsoleFiles {
  const files = new Map<string, ConsoleFile>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const path = `/${relative(dir, full).split(sep).join("/")}`;
    const body = readFileSync(full);
    const contentType = contentTypes[extname(entry.name)] ?? "application/octet-stream";
    const text = /^(text\/|application\/json|image\/svg)/.test(contentType);
    files.set(path, {
      body,
      gzipped: text ? gzipSync(body) : undefined,
      contentType,
      cacheControl: cacheControlOf(path),
    });
  }
  if (!files.has("/index.html"))
    throw new Error(
      `${dir} holds no index.html: build the console first (nx run @virtrigaud/console:build)`,
    );
  return files;
}
