import { ConnectError, createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import RFB from "@novnc/novnc";
import { ConsoleKind, ManagerService } from "@virtrigaud/proto/manager";
import { useEffect, useRef, useState } from "react";
import { relayUrl } from "./relay-url";

/** The VM's screen (noVNC) through the manager's relay, while it is mounted. */
export default function VncScreen({ namespace, name }: { namespace: string; name: string }) {
  const transport = useTransport();
  const host = useRef<HTMLDivElement>(null);
  const client = useRef<RFB | undefined>(undefined);
  const [status, setStatus] = useState("Connecting…");
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    let gone = false;
    void createClient(ManagerService, transport)
      .createConsoleTicket({ namespace, name, kind: ConsoleKind.VNC })
      .then(({ ticket, path }) => {
        if (gone) return;
        const rfb = new RFB(element, relayUrl(window.location.origin, path, ticket));
        rfb.scaleViewport = true;
        rfb.addEventListener("connect", () => setStatus("Connected."));
        rfb.addEventListener("disconnect", (event) =>
          setStatus(
            event.detail.clean ? "The screen is closed." : "The screen's connection failed.",
          ),
        );
        client.current = rfb;
      })
      .catch((err: unknown) => setStatus(ConnectError.from(err).rawMessage));
    return () => {
      gone = true;
      client.current?.disconnect();
      client.current = undefined;
    };
  }, [transport, namespace, name]);
  return (
    <>
      <p data-testid="screen-status">{status}</p>
      <button onClick={() => client.current?.sendCtrlAltDel()}>Ctrl-Alt-Del</button>
      {/* noVNC fills its container and scales the display into it: the container sets the size. */}
      <div ref={host} style={{ width: "100%", height: "480px" }} data-testid="vnc-screen" />
    </>
  );
}
