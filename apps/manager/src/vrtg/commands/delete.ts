import { clone } from "@bufbuild/protobuf";
import { parseDuration } from "@virtrigaud/contracts";
import { Kind, type VirtualMachine, VirtualMachineSchema } from "@virtrigaud/proto/manager";
import { decodeManifest } from "../../manifest/manifest-codec.js";
import { type KindInfo, fromResource, toResource } from "../../manifest/kinds.js";
import { type CommandContext, kindArg } from "../command-context.js";
import { CliError, exitCodes, explain } from "../common.js";
import { readInputs } from "../read-inputs.js";
import { waitGone } from "../wait-gone.js";

/** `vrtg delete KIND NAME | -f FILE [--force] [--wait]`. */
export async function remove(ctx: CommandContext): Promise<number> {
  const targets: Array<{ info: KindInfo; namespace: string; name: string }> = [];
  if (ctx.flags.filename.length) {
    for (const { manifest, source } of await readInputs(ctx.flags.filename, ctx.io)) {
      let resource;
      try {
        resource = decodeManifest(manifest);
      } catch (err) {
        throw explain(err, source);
      }
      const inner = fromResource(resource);
      if (inner)
        targets.push({
          info: inner.info,
          namespace: inner.message.metadata?.namespace || ctx.global.namespace,
          name: inner.message.metadata?.name ?? "",
        });
    }
    targets.reverse(); // VMs before the classes and providers they use.
  } else {
    const info = kindArg(ctx.args[0]);
    if (!ctx.args[1]) throw new CliError("delete needs KIND NAME or -f FILE", exitCodes.usage);
    for (const name of ctx.args.slice(1))
      targets.push({ info, namespace: ctx.global.namespace, name });
  }
  let code: number = exitCodes.ok;
  for (const { info, namespace, name } of targets) {
    try {
      if (ctx.flags.force && info.kind === Kind.VIRTUAL_MACHINE) {
        const { resource } = await ctx.client.get({ kind: info.kind, namespace, name });
        const vm = clone(VirtualMachineSchema, fromResource(resource)?.message as VirtualMachine);
        if (vm.metadata) {
          vm.metadata.annotations["virtrigaud.io/force-delete"] = "true";
          vm.metadata.resourceVersion = "";
        }
        if (!vm.metadata?.deletionTimestamp)
          await ctx.client.apply({ resource: toResource(info.kind, vm) });
      }
      const response = await ctx.client.delete({ kind: info.kind, namespace, name });
      ctx.io.out(
        `${info.name.toLowerCase()}/${name} ${response.resource ? "deleting" : "deleted"}\n`,
      );
      if (response.resource && ctx.flags.wait) {
        const timeoutMs = parseDuration(ctx.flags.timeout ?? "5m");
        if (!(await waitGone(ctx, info, namespace, name, timeoutMs))) {
          ctx.io.err(`error: timed out waiting for ${info.name.toLowerCase()}/${name} to go\n`);
          code = code || exitCodes.timeout;
        } else ctx.io.out(`${info.name.toLowerCase()}/${name} deleted\n`);
      }
    } catch (err) {
      const error = explain(err, `${info.name.toLowerCase()}/${name}`, ctx.global.server);
      ctx.io.err(`error: ${error.message}\n`);
      code = code || error.exitCode;
    }
  }
  return code;
}
