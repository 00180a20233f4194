import { clip } from "@virtrigaud/contracts";
import { type KindInfo, findKind, kinds } from "../manifest/kinds.js";
import { CliError, type GlobalOptions, type Io, type ManagerClient, exitCodes } from "./common.js";

/** Flags after the command. */
interface CommandFlags {
  filename: string[];
  output?: string;
  selector?: string;
  watch: boolean;
  for?: string;
  timeout?: string;
  dryRun: boolean;
  force: boolean;
  wait: boolean;
  memory: boolean;
  type?: string;
  endpoint?: string;
}

/** What a command gets. */
export interface CommandContext {
  client: ManagerClient;
  global: GlobalOptions;
  flags: CommandFlags;
  io: Io;
  args: string[];
}

/** A vrtg command: runs with its context and returns the exit code. */
export type Command = (ctx: CommandContext) => Promise<number>;

/**
 * Whether a watch ended because standard output went away: the reader
 * stopped reading, so the watch ends quietly.
 */
export function outputGone(ctx: CommandContext): boolean {
  return ctx.io.outClosed.aborted;
}

/**
 * The kind a command names ("vm", "virtualmachines", "VirtualMachine").
 *
 * @throws CliError (usage) when it is missing or unknown.
 */
export function kindArg(name: string | undefined): KindInfo {
  if (!name)
    throw new CliError(
      `a kind is required: ${kinds.map((k) => k.plural).join(", ")}`,
      exitCodes.usage,
    );
  const info = findKind(name);
  if (!info)
    throw new CliError(
      `unknown kind ${clip(JSON.stringify(name), 100)}: use one of ${kinds.map((k) => k.plural).join(", ")}`,
      exitCodes.usage,
    );
  return info;
}

/**
 * Refuses arguments past the first `most`, which the command would
 * otherwise ignore without a word.
 *
 * @throws CliError (usage) naming the first extra argument.
 */
export function atMost(args: string[], most: number, usage: string): void {
  const extra = args[most];
  if (extra !== undefined)
    throw new CliError(
      `unexpected argument ${clip(JSON.stringify(extra), 100)}: ${usage}`,
      exitCodes.usage,
    );
}
