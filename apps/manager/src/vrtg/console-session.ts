import { exitCodes } from "./common.js";

/** Ctrl-], which leaves a console, as in virsh and telnet. */
const escapeByte = 0x1d;

/** Typed bytes up to the escape character, and whether it was typed. */
export function splitAtEscape(typed: Uint8Array): { send: Uint8Array; escaped: boolean } {
  const at = typed.indexOf(escapeByte);
  return at < 0 ? { send: typed, escaped: false } : { send: typed.subarray(0, at), escaped: true };
}

/**
 * How vrtg ends when the relay closed the console with `code` (see the
 * manager's close-codes.ts): the exit code, and what to say on standard
 * error (nothing for a console that simply ended).
 */
export function endOfConsole(code: number, reason: string): { exitCode: number; message?: string } {
  if (code === 1000 || code === 1005) return { exitCode: exitCodes.ok };
  const message = `console closed: ${reason || `code ${code}`}`;
  switch (code) {
    case 4404:
      return { exitCode: exitCodes.notFound, message };
    case 4409:
      return { exitCode: exitCodes.conflict, message };
    case 4408:
      return { exitCode: exitCodes.timeout, message };
    case 4503:
    case 1001:
      return { exitCode: exitCodes.unavailable, message };
    default:
      return { exitCode: exitCodes.error, message };
  }
}
