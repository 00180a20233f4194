import { ConnectError, createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { ConsoleKind, ManagerService } from "@virtrigaud/proto/manager";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { useEffect, useRef, useState } from "react";
import { closedText, relayUrl } from "./relay-url";

/** A terminal on the VM's serial console through the manager's relay, while it is mounted. */
export default function SerialTerminal({ namespace, name }: { namespace: string; name: string }) {
  const transport = useTransport();
  const host = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState("Connecting…");
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const terminal = new Terminal({ convertEol: false, cursorBlink: true, rows: 24, cols: 100 });
    terminal.open(element);
    const encoder = new TextEncoder();
    let socket: WebSocket | undefined;
    let gone = false;
    void createClient(ManagerService, transport)
      .createConsoleTicket({ namespace, name, kind: ConsoleKind.SERIAL })
      .then(({ ticket, path }) => {
        if (gone) return;
        socket = new WebSocket(relayUrl(window.location.origin, path, ticket));
        socket.binaryType = "arraybuffer";
        socket.onopen = () => {
          setStatus("Connected.");
          terminal.focus();
        };
        socket.onmessage = (event: MessageEvent<ArrayBuffer>) =>
          terminal.write(new Uint8Array(event.data));
        socket.onclose = (event) => setStatus(closedText(event.code, event.reason));
        // Keys and pastes alike arrive here, as the terminal encodes them.
        terminal.onData((data) => {
          if (socket?.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
        });
      })
      .catch((err: unknown) => setStatus(ConnectError.from(err).rawMessage));
    return () => {
      gone = true;
      socket?.close(1000);
      terminal.dispose();
    };
  }, [transport, namespace, name]);
  return (
    <>
      <p data-testid="console-status">{status}</p>
      <div ref={host} className="terminal" data-testid="serial-console" />
    </>
  );
}
