import {
  type ClientHttp2Session,
  type ServerHttp2Session,
  connect,
  createServer,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import { createProviderClient } from "../src/client/index.js";
import { connectionWindowBytes, streamWindowBytes } from "../src/http2-windows.js";
import { type ProviderServer, createLogger, serveProvider } from "../src/index.js";
import { stubProvider } from "./stub-provider.js";

// Node's 64 KiB windows would cap a connection at 64 KiB per round trip:
// both ends announce wider ones, per stream (SETTINGS) and per connection
// (WINDOW_UPDATE on stream 0).

let server: ProviderServer;
beforeAll(async () => {
  server = await serveProvider(stubProvider({}), {
    listen: "127.0.0.1:0",
    opsListen: false,
    insecure: true,
    handleSignals: false,
    logger: createLogger({ level: "silent" }),
  });
});
afterAll(() => server.close());

/** Waits until the peer has answered a PING, so its frames sent before are processed. */
function pinged(session: ClientHttp2Session | ServerHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    session.ping((err) => (err ? reject(err) : resolve()));
  });
}

it("the server lets a client send a 4 MiB stream and a 32 MiB connection without waiting", async () => {
  const session = connect(server.url);
  try {
    await new Promise((resolve) => session.once("remoteSettings", resolve));
    await pinged(session);
    expect(session.remoteSettings.initialWindowSize).toBe(streamWindowBytes);
    expect(session.state.remoteWindowSize).toBe(connectionWindowBytes);
  } finally {
    session.close();
  }
});

it("the client lets a server send a 4 MiB stream and a 32 MiB connection without waiting", async () => {
  const seen: Array<{ stream: number | undefined; connection: number | undefined }> = [];
  const peer = createServer();
  peer.on("stream", (stream) => {
    void pinged(stream.session as ServerHttp2Session).then(() => {
      const session = stream.session as ServerHttp2Session;
      seen.push({
        stream: session.remoteSettings.initialWindowSize,
        connection: session.state.remoteWindowSize,
      });
      stream.respond({ ":status": 404 });
      stream.end();
    });
  });
  await new Promise<void>((resolve) => peer.listen(0, "127.0.0.1", resolve));
  const { port } = peer.address() as AddressInfo;
  const client = createProviderClient(`http://127.0.0.1:${port}`, { retry: false });
  try {
    await expect(client.getCapabilities({})).rejects.toThrow();
    expect(seen).toEqual([{ stream: streamWindowBytes, connection: connectionWindowBytes }]);
  } finally {
    client.close();
    await new Promise((resolve) => peer.close(resolve));
  }
});
