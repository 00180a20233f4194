/** The guest both paths boot: the same image, size and cloud-init. */
export interface GuestShape {
  cpu: number;
  memoryMib: number;
  rootGib: number;
  userData: string;
}

/** How long one boot took, from its first command. */
export interface BootTimes {
  /** Until libvirt started QEMU (its log's "starting up"): the path's own overhead before the boot. */
  toQemuStartMs: number;
  /** Until the guest's address was known (the lease, or the manager's status). */
  toAddressMs: number;
  /** Until an SSH login succeeded. */
  toSshMs: number;
}

/**
 * When libvirt last started QEMU for a domain, from its log
 * (`<dir>/log/qemu/<name>.log`, lines such as
 * "2026-12-04 00:49:10.123+0000: starting up ..."), in ms since the epoch.
 *
 * @throws Error when the log has no such line.
 */
export function qemuStartedAt(logText: string): number {
  const stamps = [
    ...logText.matchAll(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+)\+0000: starting up/gm),
  ];
  const last = stamps.at(-1);
  if (!last) throw new Error("no 'starting up' line in the domain's QEMU log");
  return Date.parse(`${last[1]}T${last[2]}Z`);
}
