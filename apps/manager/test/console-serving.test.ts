import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { request as http1Request } from "node:http";
import { connect as http2Connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { type TestManager, startTestManager } from "./harness.js";
import { runManager } from "./processes.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTP/1.1 request with the path sent exactly as written (fetch would normalise ".."). */
function get(url: string, path: string, headers: Record<string, string> = {}, method = "GET") {
  return new Promise<Answer>((resolve, reject) => {
    const req = http1Request(`${url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on("error", reject);
    req.path = path;
    req.end();
  });
}

describe("the manager serves the console's files on the API's port", () => {
  let root: string;
  let tm: TestManager;
  const index = "<!doctype html><title>console</title>";
  const script = "console.log('the console');".repeat(50);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "vrtg-console-"));
    const dist = join(root, "dist");
    mkdirSync(join(dist, "assets"), { recursive: true });
    writeFileSync(join(dist, "index.html"), index);
    writeFileSync(join(dist, "assets", "index-a1b2c3.js"), script);
    writeFileSync(join(root, "secret.txt"), "not for the browser");
    symlinkSync(join(root, "secret.txt"), join(dist, "assets", "linked.txt"));
    tm = await startTestManager(undefined, { consoleDir: dist });
  });

  afterAll(async () => {
    await tm?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("answers /console/ with index.html, checked again at each load, under a content security policy", async () => {
    const answer = await get(tm.url, "/console/");
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe(index);
    expect(answer.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(answer.headers["cache-control"]).toBe("no-cache");
    expect(answer.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("redirects /console to /console/ and serves the app's pages as index.html", async () => {
    const redirect = await get(tm.url, "/console");
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe("/console/");
    const page = await get(tm.url, "/console/vms/default/web-1");
    expect(page.status).toBe(200);
    expect(page.body.toString()).toBe(index);
  });

  it("serves hashed assets with their content type, cached for a year, gzipped when asked", async () => {
    const plain = await get(tm.url, "/console/assets/index-a1b2c3.js");
    expect(plain.status).toBe(200);
    expect(plain.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(plain.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.toString()).toBe(script);
    const gzipped = await get(tm.url, "/console/assets/index-a1b2c3.js", {
      "accept-encoding": "gzip, br",
    });
    expect(gzipped.headers["content-encoding"]).toBe("gzip");
    expect(gzipped.headers.vary).toBe("accept-encoding");
    expect(gzipped.body.length).toBeLessThan(script.length);
    expect(gunzipSync(gzipped.body).toString()).toBe(script);
  });

  it.each(["gzip;q=0, br", "*;q=0", "identity", "br;q=1, *;q=0"])(
    "sends the plain file to a client whose Accept-Encoding is %s (gzip not accepted)",
    async (acceptEncoding) => {
      const answer = await get(tm.url, "/console/assets/index-a1b2c3.js", {
        "accept-encoding": acceptEncoding,
      });
      expect(answer.headers["content-encoding"]).toBeUndefined();
      expect(answer.body.toString()).toBe(script);
    },
  );

  it("gzips for a client that takes any encoding (*)", async () => {
    const answer = await get(tm.url, "/console/assets/index-a1b2c3.js", { "accept-encoding": "*" });
    expect(answer.headers["content-encoding"]).toBe("gzip");
  });

  it.each([
    "/console/../secret.txt",
    "/console/assets/../../secret.txt",
    "/console/%2e%2e/secret.txt",
    "/console/assets/..%2f..%2fsecret.txt",
    "/console/..%5csecret.txt",
    "/console/assets/linked.txt",
    "/console/assets/missing-000000.js",
  ])("refuses %s: nothing outside the built files, no symbolic link", async (path) => {
    const answer = await get(tm.url, path);
    expect(answer.status).toBe(404);
    expect(answer.body.toString()).not.toContain("not for the browser");
  });

  it("refuses other methods than GET and HEAD, and HEAD sends no body", async () => {
    const post = await get(tm.url, "/console/", {}, "POST");
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("GET, HEAD");
    const head = await get(tm.url, "/console/", {}, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(index.length));
    expect(head.body.length).toBe(0);
  });

  it("serves the same over HTTP/2, beside the API", async () => {
    const session = http2Connect(tm.url);
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ":path": "/console/" });
        let status = 0;
        let body = "";
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.on("data", (c: Buffer) => (body += c.toString()));
        stream.on("end", () => resolve({ status, body }));
        stream.on("error", reject);
        stream.end();
      });
      expect(answer).toEqual({ status: 200, body: index });
    } finally {
      session.close();
    }
    const who = await tm.client.whoAmI({});
    expect(who.name).toBe("anonymous");
  });

  it("still answers 404 to paths neither the API nor the console has", async () => {
    expect((await get(tm.url, "/favicon.ico")).status).toBe(404);
  });

  it("tells the console, without authentication, that it offers no OIDC login", async () => {
    const answer = await get(tm.url, "/console/config.json");
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.headers["cache-control"]).toBe("no-cache");
    expect(JSON.parse(answer.body.toString())).toEqual({});
    expect(answer.headers["content-security-policy"]).toContain("connect-src 'self';");
  });
});

describe("a manager with OIDC serving the console", () => {
  let root: string;
  let tm: TestManager;
  // Never fetched here: the manager discovers the issuer at the first ID token.
  const issuer = "https://id.example.com/realms/ops";

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "vrtg-console-oidc-"));
    const dist = join(root, "dist");
    mkdirSync(dist);
    writeFileSync(join(dist, "index.html"), "<!doctype html>");
    // A config.json of the build is not what the manager serves.
    writeFileSync(join(dist, "config.json"), JSON.stringify({ oidc: { issuer: "https://evil" } }));
    writeFileSync(join(root, "tokens"), "");
    tm = await startTestManager(undefined, {
      consoleDir: dist,
      consoleOidcScopes: ["openid", "groups"],
      auth: { tokenFile: join(root, "tokens"), oidc: { issuer, audience: "virtrigaud-console" } },
    });
  });

  afterAll(async () => {
    await tm?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("tells anyone the issuer, the console's client id (the audience) and the scopes, no secret", async () => {
    const answer = await get(tm.url, "/console/config.json");
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({
      oidc: { issuer, clientId: "virtrigaud-console", scopes: ["openid", "groups"] },
    });
  });

  it("lets the console's pages fetch from the issuer's origin, and from no other", async () => {
    const answer = await get(tm.url, "/console/");
    expect(answer.headers["content-security-policy"]).toContain(
      "connect-src 'self' https://id.example.com;",
    );
    expect(answer.headers["content-security-policy"]).toContain("default-src 'self'");
  });
});

describe("virtrigaud-manager --console-dir and --oidc-scopes", () => {
  it("refuses to start on a directory without a built console, and says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vrtg-console-empty-"));
    try {
      const result = await runManager([
        "--insecure",
        "--listen",
        "127.0.0.1:0",
        "--ops-listen",
        "127.0.0.1:0",
        "--data",
        join(dir, "data"),
        "--console-dir",
        dir,
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("--console-dir");
      expect(result.stderr).toContain("holds no index.html");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses scopes without openid, and says so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vrtg-console-scopes-"));
    try {
      const result = await runManager([
        "--insecure",
        "--listen",
        "127.0.0.1:0",
        "--ops-listen",
        "127.0.0.1:0",
        "--data",
        join(dir, "data"),
        "--oidc-scopes",
        "profile email",
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--oidc-scopes: the scopes must include "openid"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
