import { ConnectError, createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { ConsoleKind, ManagerService } from "@virtrigaud/proto/manager";
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import { useEffect, useRef, useState } from "react";
import { closedText, relayUrl } from "./relay-url";

/** The relay's control message for the terminal's size (text; the console's bytes are binary). */
const resizeMessage = (terminal: Terminal) =>
  JSON.stringify({ resize: { cols: terminal.cols, rows: terminal.rows } });

/**
 * A terminal on the VM's serial console through the manager's relay, while
 * it is mounted: as large as its box, which follows the page, and each size
 * it takes sent to the provider (the console's window).
 */
export default function SerialTerminal({ namespace, name }: { namespace: string; name: string }) {
  const transport = useTransport();
  const host = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState("Connecting…");
  const [size, setSize] = useState("");
  /** Closed before it opened (a ticket refused, the relay unreachable): no terminal to show. */
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const terminal = new Terminal({ convertEol: false, cursorBlink: true });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(element);
    fit.fit();
    setSize(`${terminal.cols} × ${terminal.rows}`);
    // The box follows the page (its CSS): the terminal follows the box.
    const boxResized = new ResizeObserver(() => fit.fit());
    boxResized.observe(element);
    const encoder = new TextEncoder();
    let socket: WebSocket | undefined;
    let gone = false;
    terminal.onResize(() => {
      setSize(`${terminal.cols} × ${terminal.rows}`);
      if (socket?.readyState === WebSocket.OPEN) socket.send(resizeMessage(terminal));
    });
    void createClient(ManagerService, transport)
      .createConsoleTicket({ namespace, name, kind: ConsoleKind.SERIAL })
      .then(({ ticket, path }) => {
        if (gone) return;
        socket = new WebSocket(relayUrl(window.location.origin, path, ticket));
        socket.binaryType = "arraybuffer";
        // The relay's socket opens before the provider has answered: the
        // console is open with the first message (a quiet one sends no bytes
        // in it), and a refusal (a VM that is not running) closes it before one.
        let attached = false;
        socket.onopen = () => {
          socket?.send(resizeMessage(terminal));
          terminal.focus();
        };
        socket.onmessage = (event: MessageEvent<ArrayBuffer>) => {
          if (!attached) {
            attached = true;
            setStatus("Connected.");
          }
          terminal.write(new Uint8Array(event.data));
        };
        socket.onclose = (event) => {
          setStatus(closedText(event.code, event.reason));
          if (!attached || event.code === 4401) setFailed(true);
        };
        // Keys and pastes alike arrive here, as the terminal encodes them.
        terminal.onData((data) => {
          if (socket?.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
        });
      })
      .catch((err: unknown) => {
        setStatus(ConnectError.from(err).rawMessage);
        setFailed(true);
      });
    return () => {
      gone = true;
      boxResized.disconnect();
      socket?.close(1000);
      terminal.dispose();
    };
  }, [transport, namespace, name]);
  return (
    <>
      <p
        data-testid="console-status"
        className={failed ? "error" : undefined}
        role={failed ? "alert" : undefined}
      >
        {status}
      </p>
      <p hidden={failed} aria-label="terminal size" data-testid="terminal-size">
        {size}
      </p>
      <div ref={host} hidden={failed} className="terminal" data-testid="serial-console" />
    </>
  );
}
