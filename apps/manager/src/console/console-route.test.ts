import { describe, expect, it } from "@jest/globals";
import type { ConsoleFile } from "./console-files.js";
import { routeConsoleRequest } from "./console-route.js";

const file = (name: string): ConsoleFile => ({
  body: Buffer.from(name),
  gzipped: undefined,
  contentType: "text/plain",
  cacheControl: "no-cache",
});
const files = new Map([
  ["/index.html", file("index")],
  ["/assets/index-a1b2.js", file("script")],
]);
const served = (method: string, url: string) => {
  const answer = routeConsoleRequest(method, url, files);
  return answer.kind === "file" ? answer.file.body.toString() : answer.kind;
};

describe("routeConsoleRequest", () => {
  it.each([
    ["GET", "/console/", "index"],
    ["HEAD", "/console/", "index"],
    ["GET", "/console/index.html", "index"],
    ["GET", "/console/assets/index-a1b2.js", "script"],
    ["GET", "/console/assets/index-a1b2.js?v=1", "script"],
    // Pages of the single-page app.
    ["GET", "/console/vms/default/web-1", "index"],
    ["GET", "/console/login", "index"],
    ["GET", "/console", "redirect"],
    ["POST", "/console/", "method-not-allowed"],
    ["GET", "/console/assets/missing-0000.js", "not-found"],
    ["GET", "/elsewhere", "not-found"],
    ["GET", "/consoles/", "not-found"],
    // Nothing outside the files, however the path is spelt.
    ["GET", "/console/../manager.db", "not-found"],
    ["GET", "/console/%2e%2e/manager.db", "not-found"],
    ["GET", "/console/assets/..%2f..%2fmanager", "not-found"],
    ["GET", "/console/..%5cmanager", "not-found"],
    ["GET", "/console/./index.html", "not-found"],
    ["GET", "/console/%00", "not-found"],
    ["GET", "/console/%E0%A4%A", "not-found"],
  ])("%s %s: %s", (method, url, expected) => {
    expect(served(method, url)).toBe(expected);
  });

  it("redirects /console to /console/", () => {
    expect(routeConsoleRequest("GET", "/console", files)).toEqual({
      kind: "redirect",
      location: "/console/",
    });
  });
});
