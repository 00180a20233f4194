import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

/** A recorded (or vCenter-format) SOAP answer from test/fixtures. */
export function fixture(name: string): string {
  return readFileSync(join(dir, `${name}.xml`), "utf8");
}

/** A request the fake server received. */
export interface FakeRequest {
  method: string;
  body: string;
  cookie: string | undefined;
}

/** What the fake server answers: a fixture's text (status 200, or 500 for a fault). */
export type FakeAnswer =
  string | { status: number; body: string; headers?: Record<string, string> };

/** A fake vim25 endpoint on 127.0.0.1 replaying fixtures, for what vcsim cannot do. */
export interface FakeVimServer {
  url: string;
  requests: FakeRequest[];
  close(): Promise<void>;
}

/**
 * Serves fixtures over plain HTTP on a free loopback port. RetrieveServiceContent
 * and Login are answered from the recorded fixtures unless `answer` handles them.
 */
export async function startFakeVimServer(
  answer: (request: FakeRequest, index: number) => FakeAnswer | undefined,
): Promise<FakeVimServer> {
  const requests: FakeRequest[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const method = /<soapenv:Body><(\w+)/.exec(body)?.[1] ?? "unknown";
      const request = { method, body, cookie: req.headers.cookie };
      requests.push(request);
      let reply: FakeAnswer | undefined;
      try {
        reply = answer(request, requests.length - 1);
      } catch (err) {
        res.writeHead(599, { "content-type": "text/plain" });
        res.end(String(err));
        return;
      }
      if (reply === undefined && method === "RetrieveServiceContent") {
        reply = fixture("retrieve-service-content");
      }
      if (reply === undefined && method === "Login") {
        reply = {
          status: 200,
          body: fixture("login"),
          headers: { "set-cookie": `vmware_soap_session="s${requests.length}"; Path=/; HttpOnly` },
        };
      }
      if (reply === undefined && method === "Logout") {
        reply = fixture("retrieve-service-content").replace(
          /<soapenv:Body>.*<\/soapenv:Body>/s,
          '<soapenv:Body><LogoutResponse xmlns="urn:vim25"></LogoutResponse></soapenv:Body>',
        );
      }
      if (reply === undefined) {
        res.writeHead(599, { "content-type": "text/plain" });
        res.end(`the fake server has no answer for ${method}`);
        return;
      }
      const {
        status,
        body: text,
        headers,
      } = typeof reply === "string"
        ? { status: reply.includes("<soapenv:Fault>") ? 500 : 200, body: reply, headers: {} }
        : reply;
      res.writeHead(status, { "content-type": "text/xml; charset=utf-8", ...headers });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/sdk`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
