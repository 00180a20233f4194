import { clip } from "@virtrigaud/contracts";
import { stringify } from "yaml";
import { encodeManifest } from "../manifest/manifest-codec.js";
import { type AnyResource, type KindInfo, toResource } from "../manifest/kinds.js";
import type { CommandContext } from "./command-context.js";
import { CliError, exitCodes, table } from "./common.js";
import { columnsFor } from "./columns.js";

/**
 * Prints resources as `-o` asks: a table (wide or not), or manifests in
 * YAML or JSON (one, or a List). Says so on standard error when there are none.
 *
 * @throws CliError (usage) for an unknown `-o`.
 */
export function printResources(
  ctx: CommandContext,
  info: KindInfo,
  items: AnyResource[],
  single: boolean,
): void {
  const output = ctx.flags.output ?? "";
  if (output === "yaml" || output === "json") {
    const manifests = items.map((m) => encodeManifest(toResource(info.kind, m)));
    const value = single ? manifests[0] : { apiVersion: "v1", kind: "List", items: manifests };
    ctx.io.out(output === "yaml" ? stringify(value) : `${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  if (output && output !== "wide")
    throw new CliError(`-o must be wide, yaml or json, not ${clip(output, 100)}`, exitCodes.usage);
  if (!items.length) {
    ctx.io.err(
      `No ${info.plural} found${ctx.global.allNamespaces || info.clusterScoped ? "" : ` in namespace ${ctx.global.namespace}`}.\n`,
    );
    return;
  }
  const columns = columnsFor(info.kind, output === "wide");
  const ns = ctx.global.allNamespaces;
  ctx.io.out(
    `${table([
      ns ? ["NAMESPACE", ...columns.header] : columns.header,
      ...items.map((m) => (ns ? [m.metadata?.namespace ?? "", ...columns.row(m)] : columns.row(m))),
    ])}\n`,
  );
}
