import {
  ConsoleKind,
  PowerState,
  type ProviderConsole,
  ProviderError,
} from "@virtrigaud/contracts";
import { type MockContext, readyVm } from "./mock-context.js";
import { createMockShell } from "./mock-shell.js";

/**
 * Console: the serial console of a running VM, a `createMockShell` on it,
 * whose window takes the sizes the caller sends (`stty size` shows it).
 * The mock has no display, so it declares only CONSOLE_KIND_SERIAL.
 *
 * @throws ProviderError NOT_FOUND; CONFLICT when the VM is not running.
 */
export function serialConsole(ctx: MockContext): ProviderConsole {
  return async function* (open, input) {
    const vm = readyVm(ctx, open.vmId);
    if (open.kind !== ConsoleKind.SERIAL) {
      throw ProviderError.unsupported("the mock has only a serial console");
    }
    if (vm.powerState !== PowerState.ON) {
      throw ProviderError.conflict(`vm ${open.vmId} is not running`);
    }
    const shell = createMockShell(vm.name);
    input.onResize(({ cols, rows }) => shell.resize(cols, rows));
    yield Buffer.from(shell.greeting);
    for await (const bytes of input) {
      const shown = shell.feed(Buffer.from(bytes).toString("utf8"));
      if (shown) yield Buffer.from(shown);
    }
  };
}
