import type { VirtualMachine } from "@virtrigaud/proto/manager";

/** How long a revert asked again waits for the manager to forget the one done. */
const forgetTimeoutMs = 60_000;

/**
 * Reads the VM (`get`) every `intervalMs` until the manager shows no revert
 * done (status.revertedTo empty), and returns it as it is then.
 *
 * @throws Error when `timeoutMs` passes first; the spec is left without a revert.
 */
export async function untilRevertForgotten(
  get: () => Promise<VirtualMachine>,
  timeoutMs = forgetTimeoutMs,
  intervalMs = 500,
): Promise<VirtualMachine> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const vm = await get();
    if (!vm.status?.revertedTo) return vm;
    if (Date.now() > deadline)
      throw new Error(
        `the manager has not cleared status.revertedTo (${vm.status.revertedTo}) within ${timeoutMs / 1000} s; the VM names no snapshot now: revert again once it has`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
