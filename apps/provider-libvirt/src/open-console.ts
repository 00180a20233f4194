import {
  ConsoleKind,
  PowerState,
  type ProviderConsole,
  type ProviderContext,
  ProviderError,
} from "@virtrigaud/contracts";
import { powerStateOf } from "./inventory/inventory.js";
import type { LibvirtContext } from "./libvirt-context.js";
import { vncAddressOf } from "./vnc-display.js";

/** The domain's VNC display, reached from the host over the SSH connection (a direct-tcpip channel). */
async function* vncConsole(
  ctx: LibvirtContext,
  uuid: string,
  name: string,
  input: AsyncIterable<Uint8Array>,
  call: ProviderContext,
): AsyncIterable<Uint8Array> {
  const [display] = await ctx.host.virshOk([["vncdisplay", { domain: uuid }]], {
    signal: call.signal,
    idempotent: true,
  });
  const target = vncAddressOf(display ?? "");
  if (!target) throw ProviderError.unsupported(`vm ${name} has no VNC display`);
  const tunnel = await ctx.host.openTcp(target.address, target.port, call.signal);
  void (async () => {
    for await (const bytes of input) tunnel.write(bytes);
  })()
    .catch((err: unknown) => call.logger.debug({ err }, "console input ended"))
    .finally(() => tunnel.end());
  try {
    for await (const chunk of tunnel) yield chunk as Buffer;
  } finally {
    tunnel.destroy();
  }
}

/**
 * Console: the domain's serial console through `virsh console --force` on a
 * terminal of its own on the host (over the provider's SSH connection), the
 * domain named by its UUID. --force takes the console from any other session
 * holding it, as a person reconnecting expects. The terminal is hung up when
 * the caller goes, which ends virsh on the host. Sizes the caller sends
 * (`input.onResize`) are not taken: a serial port carries no window size,
 * and the pty virsh runs on is not the guest's. VNC: the bytes of the
 * domain's display (RFB), through a TCP channel of the SSH connection to the
 * address and port `virsh vncdisplay` names.
 *
 * @throws ProviderError NOT_FOUND; PERMISSION_DENIED for a domain not the
 * provider's; CONFLICT when the domain is not running.
 */
export function openConsole(ctx: LibvirtContext): ProviderConsole {
  return async function* (open, input, call) {
    const view = await ctx.findManaged(open.vmId, call.signal);
    if (powerStateOf(view.stats?.state ?? 0) !== PowerState.ON) {
      throw ProviderError.conflict(`vm ${view.info.name} is not running`);
    }
    if (open.kind === ConsoleKind.VNC) {
      yield* vncConsole(ctx, view.info.uuid, view.info.name, input, call);
      return;
    }
    const terminal = await ctx.host.openTerminal(
      ["virsh", "-c", ctx.host.uri, "console", "--force", view.info.uuid],
      call.signal,
    );
    // Typed bytes go on as they come; the end of the caller's input hangs up.
    void (async () => {
      for await (const bytes of input) terminal.stdin.write(bytes);
    })()
      .catch((err: unknown) => call.logger.debug({ err }, "console input ended"))
      .finally(() => terminal.close());
    try {
      for await (const chunk of terminal.stdout) yield chunk as Buffer;
    } finally {
      terminal.close();
    }
  };
}
