// A TCP proxy on 127.0.0.1 that can stall: while stalled it accepts
// connections but forwards nothing, neither bytes nor FINs nor closes, as a
// network path that went silent does; healed, it delivers what it held, in
// order, and forwards again. Sockets are half-open capable, so a FIN is
// answered only by the far end, never by the proxy itself.

import { type AddressInfo, type Server, type Socket, connect, createServer } from "node:net";

/** A running proxy; see `startStallingTcpProxy`. */
export interface StallingTcpProxy {
  /** The local port clients connect to. */
  port: number;
  /** Stops forwarding, in both directions and on new connections. */
  stall(): void;
  /** Delivers what was held and forwards again. */
  heal(): void;
  /** Destroys every connection and stops listening. */
  close(): Promise<void>;
}

/** Forwards to `target` until told to stall. */
export async function startStallingTcpProxy(target: {
  host: string;
  port: number;
}): Promise<StallingTcpProxy> {
  let stalled = false;
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();

  function whenFlowing(action: () => void) {
    if (stalled) held.push(action);
    else action();
  }

  function forward(from: Socket, to: Socket) {
    from.on("data", (chunk) => whenFlowing(() => to.write(chunk)));
    from.on("end", () => whenFlowing(() => to.end()));
    from.on("close", () => whenFlowing(() => to.destroy()));
    // A reset is a close here; the other side learns it through forward's close.
    from.on("error", () => undefined);
  }

  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ port: target.port, host: target.host, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    }
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

  return {
    port: (server.address() as AddressInfo).port,
    stall() {
      stalled = true;
    },
    heal() {
      stalled = false;
      for (const action of held.splice(0)) action();
    },
    async close() {
      held.length = 0;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
