import type { ConsoleFile, ConsoleFiles } from "./console-files.js";

/** Where the console is served on the API's port. */
const consolePrefix = "/console";

/** What to answer a request on the API's port that no RPC took. */
export type ConsoleAnswer =
  | { kind: "file"; file: ConsoleFile }
  | { kind: "redirect"; location: string }
  | { kind: "method-not-allowed" }
  | { kind: "not-found" };

/**
 * Decides the answer to `method` and `url` from the console's files alone.
 * A path under /console/ names one of them; a path without an extension is a
 * page of the single-page app (/console/vms/default/web-1) and gets
 * index.html; a path that does not decode, or holds a "." or ".." segment, a
 * backslash or a NUL, is not found, whatever the files.
 */
export function routeConsoleRequest(
  method: string,
  url: string,
  files: ConsoleFiles,
): ConsoleAnswer {
  const path = url.split("?", 1)[0] ?? "";
  if (path === consolePrefix) return { kind: "redirect", location: `${consolePrefix}/` };
  if (!path.startsWith(`${consolePrefix}/`)) return { kind: "not-found" };
  if (method !== "GET" && method !== "HEAD") return { kind: "method-not-allowed" };
  let rest: string;
  try {
    rest = decodeURIComponent(path.slice(consolePrefix.length));
  } catch {
    return { kind: "not-found" };
  }
  const segments = rest.split("/");
  if (segments.some((s) => s === "." || s === ".." || s.includes("\\") || s.includes("\0")))
    return { kind: "not-found" };
  const file = files.get(rest === "/" ? "/index.html" : rest);
  if (file) return { kind: "file", file };
  const last = segments.at(-1) ?? "";
  const index = files.get("/index.html");
  if (!last.includes(".") && index) return { kind: "file", file: index };
  return { kind: "not-found" };
}
