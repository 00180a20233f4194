import {
  ConsoleKind,
  PowerState,
  type ProviderConsole,
  ProviderError,
} from "@virtrigaud/contracts";
import { powerStateOf } from "./inventory/inventory.js";
import type { LibvirtContext } from "./libvirt-context.js";

/**
 * Console: the domain's serial console through `virsh console --force` on a
 * terminal of its own on the host (over the provider's SSH connection), the
 * domain named by its UUID. --force takes the console from any other session
 * holding it, as a person reconnecting expects. The terminal is hung up when
 * the caller goes, which ends virsh on the host.
 *
 * @throws ProviderError NOT_FOUND; PERMISSION_DENIED for a domain not the
 * provider's; CONFLICT when the domain is not running.
 */
export function openConsole(ctx: LibvirtContext): ProviderConsole {
  return async function* (open, input, call) {
    const view = await ctx.findManaged(open.vmId, call.signal);
    if (open.kind !== ConsoleKind.SERIAL) {
      throw ProviderError.unsupported("only the serial console is served");
    }
    if (powerStateOf(view.stats?.state ?? 0) !== PowerState.ON) {
      throw ProviderError.conflict(`vm ${view.info.name} is not running`);
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
