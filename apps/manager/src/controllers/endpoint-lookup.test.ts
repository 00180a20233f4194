import { type AddressInfo, type Server, connect, createServer } from "node:net";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { parseEndpointAllowlist } from "./endpoint-allowlist.js";
import { allowlistLookup, judgeEndpointNow } from "./endpoint-lookup.js";

// The lookup the manager connects to providers with: every address of the
// name is checked as the connection is made.

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

/** Connects to localhost:port through `lookup`; the error's message, or "connected". */
function connectThrough(endpoints: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({
      host: "localhost",
      port,
      family: 4,
      lookup: allowlistLookup(parseEndpointAllowlist(endpoints)),
    });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err) => resolve(err.message));
  });
}

it("connects when every address of the name is in a listed network", async () => {
  expect(await connectThrough("localhost, 127.0.0.0/8, ::1")).toBe("connected");
});

it("fails the connection when an address is outside, saying which", async () => {
  expect(await connectThrough("localhost, 10.0.0.0/8")).toMatch(
    /^provider endpoint refused: the host localhost resolves to .*127\.0\.0\.1.*, in no network of --provider-endpoints/,
  );
});

it("fails the connection to a name the list does not name", async () => {
  expect(await connectThrough("127.0.0.0/8")).toMatch(
    /^provider endpoint refused: the host localhost is not listed/,
  );
});

it("judges an endpoint now: its host, then where its name points", async () => {
  const list = parseEndpointAllowlist("localhost, 127.0.0.0/8, ::1");
  expect(await judgeEndpointNow(list, `http://localhost:${port}`)).toBeUndefined();
  expect(await judgeEndpointNow(list, "http://10.0.0.1:1")).toMatch(/the address 10\.0\.0\.1/);
  expect(await judgeEndpointNow(parseEndpointAllowlist("*.invalid"), "http://a.invalid:1")).toMatch(
    /the host a\.invalid does not resolve/,
  );
});
