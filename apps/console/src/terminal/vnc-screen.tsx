import { ConnectError, createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import RFB from "@novnc/novnc";
import { ConsoleKind, ManagerService } from "@virtrigaud/proto/manager";
import { useEffect, useRef, useState } from "react";
import { PastePanel } from "./paste-panel";
import { closedText, relayUrl } from "./relay-url";

/** The VM's screen (noVNC) through the manager's relay, while it is mounted. */
export default function VncScreen({ namespace, name }: { namespace: string; name: string }) {
  const transport = useTransport();
  const host = useRef<HTMLDivElement>(null);
  const client = useRef<RFB | undefined>(undefined);
  const [status, setStatus] = useState("Connecting…");
  /** The client while it is connected: what a paste types on. */
  const [connected, setConnected] = useState<RFB | undefined>(undefined);
  /** Closed before it connected or refused by the relay: no screen to show. */
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    let gone = false;
    void createClient(ManagerService, transport)
      .createConsoleTicket({ namespace, name, kind: ConsoleKind.VNC })
      .then(({ ticket, path }) => {
        if (gone) return;
        // The page opens the socket, not noVNC: noVNC does not tell why a socket
        // closed, and the relay's close code and reason say it (a ticket refused).
        const socket = new WebSocket(relayUrl(window.location.origin, path, ticket));
        let closed: CloseEvent | undefined;
        socket.addEventListener("close", (event) => (closed = event));
        const rfb = new RFB(element, socket);
        rfb.scaleViewport = true;
        let wasConnected = false;
        rfb.addEventListener("connect", () => {
          wasConnected = true;
          setStatus("Connected.");
          setConnected(rfb);
        });
        rfb.addEventListener("disconnect", (event) => {
          setConnected(undefined);
          if (!wasConnected || closed?.code === 4401) setFailed(true);
          if (closed && closed.code !== 1000) setStatus(closedText(closed.code, closed.reason));
          else
            setStatus(
              event.detail.clean ? "The screen is closed." : "The screen's connection failed.",
            );
        });
        client.current = rfb;
      })
      .catch((err: unknown) => {
        setStatus(ConnectError.from(err).rawMessage);
        setFailed(true);
      });
    return () => {
      gone = true;
      client.current?.disconnect();
      client.current = undefined;
    };
  }, [transport, namespace, name]);
  return (
    <>
      <p
        data-testid="screen-status"
        className={failed ? "error" : undefined}
        role={failed ? "alert" : undefined}
      >
        {status}
      </p>
      {!failed && (
        <>
          <button onClick={() => client.current?.sendCtrlAltDel()}>Ctrl-Alt-Del</button>
          <PastePanel rfb={connected} />
        </>
      )}
      {/* noVNC fills its container and scales the display into it: the container sets the size. */}
      <div
        ref={host}
        hidden={failed}
        style={{ width: "100%", height: "480px" }}
        data-testid="vnc-screen"
      />
    </>
  );
}
