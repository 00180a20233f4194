import { randomUUID } from "node:crypto";
import { CloneType, ProviderError } from "@virtrigaud/contracts";
import type { DomainView } from "./inventory/inventory.js";
import { diskName } from "./inventory/inventory.js";
import { type LibvirtContext, type LibvirtOperation, randomMac } from "./libvirt-context.js";
import { listSnapshots } from "./snapshots.js";
import { domainByName, exclusive } from "./vm-tasks.js";
import type { DiskDevice, DomainSpec } from "./xml/domain-spec.js";
import { buildDomainXml } from "./xml/domain-xml.js";

/**
 * Makes a clone of a domain and defines it:
 *
 * - full: every disk copied and flattened (`qemu-img convert`), so the clone
 *   shares nothing with its source;
 * - linked, without a snapshot: the source's disks are frozen (an external
 *   disk-only snapshot moves the source onto new overlays), and the clone
 *   gets qcow2 overlays on the frozen images. The source then backs the
 *   clone and cannot be deleted before it;
 * - linked, on a snapshot: the snapshot's disk state is exported into base
 *   images of the clone's own, with overlays on them.
 *
 * The cloud-init seed is not carried over: the clone's disks already hold
 * the configured guest. Undoes what it made when a step fails.
 *
 * @throws ProviderError NOT_FOUND for a snapshot the source does not have.
 */
async function cloneDomain(
  ctx: LibvirtContext,
  source: DomainView,
  name: string,
  uuid: string,
  type: CloneType,
  snapshotId: string,
  powerOn: boolean,
  signal: AbortSignal,
): Promise<void> {
  const poolPath = await ctx.pool.path(signal);
  const info = source.info;
  const made: string[] = [];
  const disks: DiskDevice[] = [];
  const ownerDisks: Record<string, string> = {};
  const sourceDisks = info.disks.filter((d) => d.device === "disk");
  let linkedTo = "";
  let defined = false;
  const planned = sourceDisks.flatMap((d) => {
    const label = diskName(info, d.target);
    const path = `${poolPath}/${name}-${label}.qcow2`;
    return type === CloneType.LINKED && snapshotId
      ? [`${poolPath}/${name}-${label}-base.qcow2`, path]
      : [path];
  });
  const record = await ctx.journal.record(
    { operation: "clone", vm: name, uuid, files: planned },
    signal,
  );
  try {
    if (type === CloneType.LINKED && !snapshotId) {
      // Freeze: the source moves onto new overlays; its current images become the clone's bases.
      const stamp = ctx.clock.now().toString(36);
      const moved = sourceDisks.map((d) => ({
        disk: d,
        overlay: `${poolPath}/${info.name}-${diskName(info, d.target)}-${stamp}.qcow2`,
      }));
      const specs = [
        ...moved.map((m) => `${m.disk.target},snapshot=external,file=${commaEscape(m.overlay)}`),
        ...info.disks.filter((d) => d.device !== "disk").map((d) => `${d.target},snapshot=no`),
      ];
      made.push(...moved.map((m) => m.overlay));
      await ctx.host.virshOk(
        [
          [
            "snapshot-create-as",
            {
              domain: info.uuid,
              name: `vrtg-base-${name}`,
              "disk-only": true,
              "no-metadata": true,
              atomic: true,
              diskspec: specs,
            },
          ],
        ],
        { signal },
      );
      made.length = 0; // the source owns its new overlays now
      linkedTo = info.uuid;
      for (const [i, m] of moved.entries()) {
        const path = `${poolPath}/${name}-${diskName(info, m.disk.target)}.qcow2`;
        made.push(path);
        await ctx.execOk(
          [
            "qemu-img",
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            m.disk.format || "qcow2",
            "-b",
            m.disk.path,
            path,
          ],
          signal,
        );
        disks.push(device(m.disk.target, i, path, diskName(info, m.disk.target)));
      }
    } else {
      for (const [i, d] of sourceDisks.entries()) {
        const label = diskName(info, d.target);
        const path = `${poolPath}/${name}-${label}.qcow2`;
        if (type === CloneType.LINKED) {
          const base = `${poolPath}/${name}-${label}-base.qcow2`;
          made.push(base);
          await exportSnapshot(ctx, d.path, snapshotId, base, signal);
          made.push(path);
          await ctx.execOk(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, path],
            signal,
          );
        } else {
          made.push(path);
          await ctx.execOk(["qemu-img", "convert", "-U", "-O", "qcow2", d.path, path], signal);
        }
        disks.push(device(d.target, i, path, label));
      }
    }
    for (const d of disks) if (d.name !== "root") ownerDisks[d.target] = d.name;
    const spec: DomainSpec = {
      uuid,
      name,
      type: info.type === "kvm" ? "kvm" : "qemu",
      vcpus: info.vcpus,
      maxVcpus: info.maxVcpus,
      memoryMib: info.memoryMib,
      maxMemoryMib: info.maxMemoryMib,
      firmware: info.firmware,
      disks,
      nics: info.nics.map((n) => ({
        kind: n.type === "bridge" ? "bridge" : "network",
        source: n.source,
        model:
          (["virtio", "e1000", "e1000e", "vmxnet3", "rtl8139"] as const).find(
            (m) => m === n.model,
          ) ?? "virtio",
        mac: randomMac(),
      })),
      vncListen: ctx.vncListen,
      owner: {
        origin: "created",
        createdAt: ctx.clock.now(),
        disks: ownerDisks,
        labels: { ...(info.owner?.labels ?? {}) },
        tags: [...(info.owner?.tags ?? [])],
        image: `clone:${info.name}${snapshotId ? `@${snapshotId}` : ""}`,
        linkedTo,
        memoryMib: info.owner?.memoryMib || info.memoryMib,
        staticAddresses: {},
      },
    };
    const dir = await ctx.scratch(signal);
    try {
      await ctx.pool.refresh(signal);
      await ctx.host.writeFile(`${dir}/domain.xml`, buildDomainXml(spec), signal);
      await ctx.host.virshOk([["define", { file: `${dir}/domain.xml` }]], { signal });
      defined = true;
    } finally {
      await ctx.host.exec(["rm", "-rf", "--", dir]).catch(() => undefined);
    }
    if (powerOn) await ctx.host.virshOk([["start", { domain: uuid }]], { signal });
    await record.done();
  } catch (err) {
    // A clone that does not start is undone whole, as a Create is.
    if (defined) {
      await ctx.host
        .virsh([
          ["destroy", { domain: uuid }],
          ["undefine", { domain: uuid, nvram: true, "snapshots-metadata": true }],
        ])
        .catch(() => undefined);
    }
    const removed = made.length
      ? await ctx.host.exec(["rm", "-f", "--", ...made]).catch(() => undefined)
      : { exitCode: 0 };
    // What could not be undone stays in the journal, for the collector.
    if (removed?.exitCode === 0) await record.done();
    else record.leave();
    throw err;
  }
}

function device(_target: string, index: number, path: string, name: string): DiskDevice {
  return {
    name,
    path,
    format: "qcow2",
    device: "disk",
    target: `vd${String.fromCharCode(97 + index)}`,
    bus: "virtio",
  };
}

/** Writes the disk state an internal snapshot holds into a new qcow2 image. */
async function exportSnapshot(
  ctx: LibvirtContext,
  image: string,
  snapshot: string,
  target: string,
  signal: AbortSignal,
): Promise<void> {
  const result = await ctx.host.exec(
    [
      "qemu-img",
      "convert",
      "-U",
      "-l",
      `snapshot.name=${commaEscape(snapshot)}`,
      "-O",
      "qcow2",
      image,
      target,
    ],
    { signal },
  );
  if (result.exitCode !== 0) {
    if (/snapshot/i.test(result.stderr)) {
      throw ProviderError.notFound(`the source has no snapshot ${snapshot}`);
    }
    throw ProviderError.internal(`cannot export snapshot ${snapshot}: ${result.stderr.trim()}`);
  }
}

/** Escapes commas for option strings that separate fields with commas (virsh diskspec, qemu-img -l). */
function commaEscape(value: string): string {
  return value.replaceAll(",", ",,");
}

/**
 * Clone: once per new name (`ctx.creations`), like Create. A domain of that
 * name is the answer; otherwise a task holding the source makes the clone
 * (`cloneDomain`).
 *
 * @throws ProviderError NOT_FOUND for an unknown snapshot; RETRYABLE while
 * another operation holds the source.
 */
export const cloneVm: LibvirtOperation<"clone"> = (ctx, request, signal) =>
  ctx.creations.run(
    request.name,
    async (keep) => {
      const source = await ctx.findManaged(request.sourceVmId, signal);
      const existing = await domainByName(ctx, request.name, signal);
      if (existing) return { vmId: existing.uuid };
      if (request.snapshotId) {
        const snapshots = await listSnapshots(ctx, source.info.uuid, signal);
        if (!snapshots.some((s) => s.name === request.snapshotId)) {
          throw ProviderError.notFound(
            `vm ${source.info.name} has no snapshot ${request.snapshotId}`,
          );
        }
      }
      const type = request.type === CloneType.LINKED ? CloneType.LINKED : CloneType.FULL;
      const releaseSource = exclusive(ctx, source.info.uuid, `clone to ${request.name}`);
      const release = keep();
      const vmId = randomUUID();
      const task = ctx.tasks.start(
        `clone ${source.info.name} to ${request.name}`,
        async ({ signal: taskSignal }) => {
          try {
            await cloneDomain(
              ctx,
              source,
              request.name,
              vmId,
              type,
              request.snapshotId,
              request.powerOn,
              taskSignal,
            );
          } finally {
            releaseSource();
            release();
          }
        },
      );
      return { vmId, task };
    },
    signal,
  );
