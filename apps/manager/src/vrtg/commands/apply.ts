import { clip } from "@virtrigaud/contracts";
import { ApplyOutcome, type Resource } from "@virtrigaud/proto/manager";
import { decodeManifest } from "../../manifest/manifest-codec.js";
import type { SourcedManifest } from "../../manifest/parse-manifests.js";
import { fromResource } from "../../manifest/kinds.js";
import { type CommandContext, atMost } from "../command-context.js";
import { CliError, exitCodes, explain } from "../common.js";
import { readInputs } from "../read-inputs.js";

/** A manifest ready to send, and how to name it. */
interface Decoded {
  resource: Resource;
  /** "virtualmachine/web-1" */
  ref: string;
  /** "vm.yaml (document 2): virtualmachine/web-1" */
  name: string;
}

const outcomes: Partial<Record<ApplyOutcome, string>> = {
  [ApplyOutcome.CREATED]: "created",
  [ApplyOutcome.CONFIGURED]: "configured",
  [ApplyOutcome.UNCHANGED]: "unchanged",
};

/** Decodes every manifest, stopping at the first that does not decode. */
function decodeAll(ctx: CommandContext, sourced: Iterable<SourcedManifest>): Decoded[] {
  const decoded: Decoded[] = [];
  for (const { manifest, source } of sourced) {
    let resource;
    try {
      resource = decodeManifest(manifest);
    } catch (err) {
      throw explain(err, source);
    }
    const inner = fromResource(resource);
    if (!inner) continue;
    const meta = inner.message.metadata;
    if (meta && !meta.namespace && ctx.global.namespace !== "default")
      meta.namespace = ctx.global.namespace;
    const ref = `${inner.info.name.toLowerCase()}/${clip(meta?.name ?? "", 100)}`;
    decoded.push({ resource, ref, name: `${source}: ${ref}` });
  }
  return decoded;
}

/** The last line of an apply that stopped part way: what was stored and what was not. */
function partialReport(
  total: number,
  stored: number,
  failed: { name: string; unknown: boolean },
  notSent: string[],
): string {
  const lines = [
    `error: stopped after storing ${stored} of ${total} resources (each printed on standard output)`,
  ];
  if (failed.unknown)
    lines.push(
      `error: not known whether this one was stored (the manager did not answer):`,
      `  ${failed.name}`,
    );
  const notStored = failed.unknown ? notSent : [failed.name, ...notSent];
  if (notStored.length) lines.push("error: not stored:", ...notStored.map((name) => `  ${name}`));
  return `${lines.join("\n")}\n`;
}

/**
 * Sends every manifest with dryRun, printing each refusal (and with
 * `--dry-run`, each outcome).
 *
 * @returns the first refusal's exit code, or 0 when the manager takes them all.
 */
async function check(ctx: CommandContext, decoded: Decoded[]): Promise<number> {
  let code: number = exitCodes.ok;
  let refused = 0;
  for (const { resource, ref, name } of decoded) {
    try {
      const response = await ctx.client.apply({ resource, dryRun: true });
      if (ctx.flags.dryRun)
        ctx.io.out(`${ref} ${outcomes[response.outcome] ?? "applied"} (dry run)\n`);
    } catch (err) {
      const error = explain(err, name, ctx.global.server);
      ctx.io.err(`error: ${error.message}\n`);
      code = code || error.exitCode;
      refused++;
      if (error.exitCode === exitCodes.unavailable) break;
    }
  }
  if (code !== exitCodes.ok && decoded.length > 1 && !ctx.flags.dryRun)
    ctx.io.err(
      code === exitCodes.unavailable
        ? "error: nothing was stored\n"
        : `error: nothing was stored: ${refused} of ${decoded.length} resources were refused\n`,
    );
  return code;
}

/**
 * `vrtg apply -f FILE|DIR|-`, all or nothing where it can be: every manifest
 * is decoded, then checked by the manager (a dry run), before any is stored;
 * when one is refused nothing is stored. Should a store still fail after
 * that (another client changed a resource in between, the manager went
 * away), apply stops there, says what was stored and what was not, and
 * exits 8.
 */
export async function apply(ctx: CommandContext): Promise<number> {
  atMost(ctx.args, 0, "apply takes its manifests with -f FILE|DIR|-");
  if (!ctx.flags.filename.length)
    throw new CliError("apply needs -f FILE, a directory or - for standard input", exitCodes.usage);
  const decoded = decodeAll(ctx, await readInputs(ctx.flags.filename, ctx.io));
  if (!decoded.length) throw new CliError("no manifests found", exitCodes.invalid);

  // The dry run: the manager's own checks of every manifest, storing nothing.
  // One manifest needs none: its store is all or nothing already.
  if (decoded.length > 1 || ctx.flags.dryRun) {
    const code = await check(ctx, decoded);
    if (code !== exitCodes.ok || ctx.flags.dryRun) return code;
  }
  for (const [i, { resource, ref, name }] of decoded.entries()) {
    try {
      const response = await ctx.client.apply({ resource });
      ctx.io.out(`${ref} ${outcomes[response.outcome] ?? "applied"}\n`);
    } catch (err) {
      const error = explain(err, name, ctx.global.server);
      ctx.io.err(`error: ${error.message}\n`);
      const unknown = error.exitCode === exitCodes.unavailable;
      const notSent = decoded.slice(i + 1).map((d) => d.name);
      if (i === 0 && !unknown) {
        if (notSent.length) ctx.io.err("error: nothing was stored\n");
        return error.exitCode;
      }
      // One manifest the manager did not answer about: the error says all there is.
      if (decoded.length === 1) return error.exitCode;
      ctx.io.err(partialReport(decoded.length, i, { name, unknown }, notSent));
      return i === 0 ? error.exitCode : exitCodes.partlyApplied;
    }
  }
  return exitCodes.ok;
}
