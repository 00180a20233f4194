import { randomUUID } from "node:crypto";
import {
  type CreateRequest,
  DiskType,
  ErrorReason,
  Firmware,
  NetworkType,
  NicModel,
  ProviderError,
} from "@virtrigaud/contracts";
import { buildSeedDocuments } from "./cloud-init/seed-documents.js";
import { askedPool, askedPoolName } from "./disks/asked-pool.js";
import {
  type ImportedDisk,
  findImportedDisk,
  moveImportedDisk,
  recordAdoption,
  returnImportedDisk,
} from "./disks/adopt-imported.js";
import { type BackingImage, findImage, importImage, urlVolumeName } from "./images.js";
import { type LibvirtContext, type LibvirtOperation, randomMac } from "./libvirt-context.js";
import { checkCreateRequest } from "./request-checks.js";
import { type StoragePool, gib } from "./storage.js";
import type { DiskDevice, DomainSpec, NicDevice } from "./xml/domain-spec.js";
import { domainByName } from "./vm-tasks.js";
import { buildDomainXml } from "./xml/domain-xml.js";

const GiB = 1024 ** 3;
const nicModels: Record<number, NicDevice["model"]> = {
  [NicModel.UNSPECIFIED]: "virtio",
  [NicModel.VIRTIO]: "virtio",
  [NicModel.E1000]: "e1000",
  [NicModel.E1000E]: "e1000e",
  [NicModel.VMXNET3]: "vmxnet3",
  [NicModel.RTL8139]: "rtl8139",
};

/** Target device of the n-th virtio disk: vda, vdb, ... */
function virtioTarget(index: number): string {
  return `vd${String.fromCharCode(97 + index)}`;
}

/** A Create checked against the host, ready to be carried out. */
interface CreatePlan {
  spec: DomainSpec;
  /** Where the root disk comes from; undefined for a blank root or none. */
  image: BackingImage | undefined;
  /** A URL image to download first (the root disk is then made from it). */
  download: CreateRequest["image"] | undefined;
  rootSizeGib: number;
  /** Data disks to make; imported ones are adopted instead. */
  dataDisks: Array<{ path: string; sizeGib: number; thick: boolean }>;
  /**
   * Imported disks the VM adopts: moved to `path` in `pool` (the request's
   * placement), grown to `sizeBytes` when larger.
   */
  adopted: Array<{ disk: ImportedDisk; path: string; sizeBytes: number; pool: StoragePool }>;
  seed: { path: string; files: Record<string, string> } | undefined;
}

/**
 * Checks a Create against the host (image, networks, disk names, sizes)
 * and decides names, paths, MACs and the domain definition. Changes nothing.
 *
 * @throws ProviderError INVALID_SPEC naming the field that cannot be honoured.
 */
async function planCreate(
  ctx: LibvirtContext,
  request: CreateRequest,
  signal: AbortSignal,
): Promise<CreatePlan> {
  const poolPath = await ctx.pool.path(signal);
  const uuid = randomUUID();
  const name = request.name;
  const vcpus = request.class?.cpu || 1;
  const memoryMib = request.class?.memoryMib || 1024;

  let image: BackingImage | undefined;
  let download: CreateRequest["image"] | undefined;
  let importedRoot: ImportedDisk | undefined;
  if (request.image?.source.case === "importedDisk") {
    importedRoot = await findImportedDisk(
      ctx,
      request.image.source.value,
      "image.imported_disk",
      signal,
    );
    if (request.rootDiskSizeGib && request.rootDiskSizeGib * GiB < importedRoot.capacityBytes) {
      throw ProviderError.invalidSpec(
        "root_disk_size_gib",
        `is smaller than the imported disk (${Math.ceil(importedRoot.capacityBytes / GiB)} GiB)`,
      );
    }
  } else if (request.image) {
    image = await findImage(ctx, request.image, "image", signal);
    if (!image) download = request.image;
  }
  if (image && request.rootDiskSizeGib && request.rootDiskSizeGib * GiB < image.virtualSizeBytes) {
    throw ProviderError.invalidSpec(
      "root_disk_size_gib",
      `is smaller than the image (${Math.ceil(image.virtualSizeBytes / GiB)} GiB)`,
    );
  }

  const seen = new Set(["root", "cidata"]);
  request.disks.forEach((disk, i) => {
    if (seen.has(disk.name)) {
      throw ProviderError.invalidSpec(
        `disks[${i}].name`,
        `${disk.name} is taken: names are unique and "root" and "cidata" are reserved`,
      );
    }
    seen.add(disk.name);
    if (disk.type === DiskType.THICK_EAGER_ZEROED) {
      throw ProviderError.invalidSpec(`disks[${i}].type`, "eager-zeroed disks are not supported");
    }
  });

  // One round trip tells which names are libvirt networks.
  const networkNames = request.networks.map((n) => n.network);
  if (!request.networks.length && ctx.defaultNetwork) networkNames.push(ctx.defaultNetwork);
  const infos = networkNames.length
    ? await ctx.host.virsh(
        networkNames.map((network) => ["net-info", { network }] as const),
        { signal, idempotent: true },
      )
    : [];
  const nics: NicDevice[] = networkNames.map((network, i) => {
    const spec = request.networks[i];
    const isNetwork = infos[i]?.error === undefined;
    const type = spec?.type ?? NetworkType.UNSPECIFIED;
    if (type === NetworkType.VIRTUAL && !isNetwork) {
      throw ProviderError.invalidSpec(
        `networks[${i}].network`,
        `no libvirt network named ${JSON.stringify(network)}`,
      );
    }
    return {
      kind:
        type === NetworkType.BRIDGE || (type === NetworkType.UNSPECIFIED && !isNetwork)
          ? "bridge"
          : "network",
      source: network,
      model: nicModels[spec?.model ?? NicModel.UNSPECIFIED] ?? "virtio",
      mac: spec?.macAddress.toLowerCase() || randomMac(),
    };
  });

  const rootSizeGib =
    request.rootDiskSizeGib || (image ? Math.ceil(image.virtualSizeBytes / GiB) : 0);
  const disks: DiskDevice[] = [];
  const ownerDisks: Record<string, string> = {};
  const adopted: CreatePlan["adopted"] = [];
  // Adopted disks go to the pool the placement asks for; checked once, when there are any.
  const adoptIn = once(async () =>
    askedPool(ctx, askedPoolName(ctx, request.placement?.storagePool), signal),
  );
  if (importedRoot) {
    const { pool, path: dir } = await adoptIn();
    const path = `${dir}/${name}-root.${importedRoot.format}`;
    adopted.push({ disk: importedRoot, path, sizeBytes: request.rootDiskSizeGib * GiB, pool });
    disks.push({
      name: "root",
      path,
      format: importedRoot.format,
      device: "disk",
      target: "vda",
      bus: "virtio",
    });
  } else if (request.image || rootSizeGib) {
    disks.push({
      name: "root",
      path: `${poolPath}/${name}-root.qcow2`,
      format: "qcow2",
      device: "disk",
      target: "vda",
      bus: "virtio",
    });
  }
  const dataDisks: CreatePlan["dataDisks"] = [];
  for (const [i, disk] of request.disks.entries()) {
    const target = virtioTarget(disks.length);
    ownerDisks[target] = disk.name;
    const source = disk.source?.source;
    if (source?.case === "importedDisk") {
      const imported = await findImportedDisk(
        ctx,
        source.value,
        `disks[${i}].source.imported_disk`,
        signal,
      );
      const { pool, path: dir } = await adoptIn();
      const path = `${dir}/${name}-disk-${disk.name}.${imported.format}`;
      adopted.push({ disk: imported, path, sizeBytes: disk.sizeGib * GiB, pool });
      disks.push({
        name: disk.name,
        path,
        format: imported.format,
        device: "disk",
        target,
        bus: "virtio",
      });
      continue;
    }
    if (source) {
      throw ProviderError.invalidSpec(
        `disks[${i}].source`,
        "a data disk is empty or an imported disk (imported_disk)",
      );
    }
    const thick = disk.type === DiskType.THICK;
    const path = `${poolPath}/${name}-disk-${disk.name}.${thick ? "raw" : "qcow2"}`;
    disks.push({
      name: disk.name,
      path,
      format: thick ? "raw" : "qcow2",
      device: "disk",
      target,
      bus: "virtio",
    });
    dataDisks.push({ path, sizeGib: disk.sizeGib, thick });
  }
  if (new Set(adopted.map((a) => a.disk.id)).size < adopted.length) {
    throw ProviderError.invalidSpec("disks", "names one imported disk twice");
  }

  const staticAddresses: Record<string, string> = {};
  const staticNics = nics.map((nic, i) => {
    const ip = request.networks[i]?.staticIp;
    if (ip) staticAddresses[nic.mac] = ip.address;
    return {
      mac: nic.mac,
      staticIp: ip
        ? {
            mac: nic.mac,
            address: ip.address,
            prefixLength: ip.prefixLength,
            gateway: ip.gateway,
            dnsServers: ip.dnsServers,
          }
        : undefined,
    };
  });
  let seed: CreatePlan["seed"];
  const cloudInit = request.cloudInit;
  if (cloudInit || Object.keys(staticAddresses).length) {
    const files = buildSeedDocuments({
      userData: cloudInit?.userData ?? "",
      metaData: cloudInit?.metaData ?? "",
      networkConfig: cloudInit?.networkConfig ?? "",
      instanceId: uuid,
      hostname: name,
      nics: staticNics,
    });
    const path = `${poolPath}/${name}-cidata.iso`;
    seed = { path, files: { ...files } };
    disks.push({
      name: "cidata",
      path,
      format: "raw",
      device: "cdrom",
      target: "sda",
      bus: "scsi",
    });
  }

  const headroom = ctx.headroom;
  const spec: DomainSpec = {
    uuid,
    name,
    type: await ctx.domainType(signal),
    vcpus,
    maxVcpus: Math.min(1024, Math.max(vcpus, Math.floor(vcpus * headroom))),
    memoryMib,
    maxMemoryMib: Math.min(16777216, Math.max(memoryMib, Math.floor(memoryMib * headroom))),
    firmware: request.class?.firmware === Firmware.UEFI ? "uefi" : "bios",
    disks,
    nics,
    vncListen: ctx.vncListen,
    owner: {
      origin: "created",
      createdAt: ctx.clock.now(),
      disks: ownerDisks,
      labels: { ...request.labels },
      tags: [...request.tags],
      image: describeImage(request.image),
      linkedTo: "",
      memoryMib,
      staticAddresses,
    },
  };
  return { spec, image, download, rootSizeGib, dataDisks, adopted, seed };
}

/** `make`, called at most once, its promise kept. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

function describeImage(image: CreateRequest["image"]): string {
  switch (image?.source.case) {
    case "template":
      return `template:${image.source.value}`;
    case "path":
      return `path:${image.source.value}`;
    case "url":
      return `url:${image.source.value.url}`;
    case "importedDisk":
      return `imported:${image.source.value}`;
    default:
      return "";
  }
}

/**
 * Carries out a plan: data disks, the cloud-init seed, then the root disk (a
 * qcow2 overlay on the image, downloaded first when it is a URL not in the
 * pool yet, grown to the requested size), the definition, and a start when
 * asked. The quick steps come before the download, which may be long, so a
 * Create that cannot make them fails at once. The files are named in the
 * pool's journal before the first is made, until the domain owns them. Undoes
 * what it made when a step fails.
 *
 * @throws ProviderError from the failed step, after the undo.
 */
async function carryOutCreate(
  ctx: LibvirtContext,
  plan: CreatePlan,
  powerOn: boolean,
  signal: AbortSignal,
): Promise<void> {
  const { spec } = plan;
  const root = spec.disks.find((d) => d.name === "root");
  const importedPaths = new Set(plan.adopted.map((a) => a.path));
  const made: string[] = [];
  const moved: CreatePlan["adopted"] = [];
  let defined = false;
  const record = await ctx.journal.record(
    {
      operation: "create",
      vm: spec.name,
      uuid: spec.uuid,
      // Adopted disks are left out: a Create cut short never removes an import.
      files: [
        ...(root && !importedPaths.has(root.path) ? [root.path] : []),
        ...plan.dataDisks.map((d) => d.path),
        ...(plan.seed ? [plan.seed.path] : []),
      ],
    },
    signal,
  );
  try {
    for (const adoption of plan.adopted) {
      moved.push(adoption);
      await moveImportedDisk(
        ctx,
        adoption.disk,
        adoption.path,
        adoption.sizeBytes,
        adoption.pool,
        signal,
      );
    }
    for (const disk of plan.dataDisks) {
      made.push(disk.path);
      await ctx.execOk(
        disk.thick
          ? [
              "qemu-img",
              "create",
              "-q",
              "-f",
              "raw",
              "-o",
              "preallocation=falloc",
              disk.path,
              gib(disk.sizeGib),
            ]
          : ["qemu-img", "create", "-q", "-f", "qcow2", disk.path, gib(disk.sizeGib)],
        signal,
      );
    }
    if (plan.seed) await writeSeed(ctx, plan.seed, made, signal);
    let image = plan.image;
    if (!image && plan.download?.source.case === "url") {
      image = await importImage(
        ctx,
        urlVolumeName(plan.download.source.value),
        plan.download,
        "image",
        signal,
      );
    }
    const sizeGib = plan.rootSizeGib || (image ? Math.ceil(image.virtualSizeBytes / GiB) : 0);
    if (root && !importedPaths.has(root.path)) {
      made.push(root.path);
      await ctx.execOk(
        image
          ? [
              "qemu-img",
              "create",
              "-q",
              "-f",
              "qcow2",
              "-F",
              image.format,
              "-b",
              image.path,
              root.path,
              gib(sizeGib),
            ]
          : ["qemu-img", "create", "-q", "-f", "qcow2", root.path, gib(sizeGib)],
        signal,
      );
    }
    const dir = await ctx.scratch(signal);
    try {
      await ctx.pool.refresh(signal);
      await ctx.host.writeFile(`${dir}/domain.xml`, buildDomainXml(spec), signal);
      await ctx.host.virshOk([["define", { file: `${dir}/domain.xml` }]], { signal });
      defined = true;
      for (const adoption of plan.adopted) {
        await recordAdoption(ctx, adoption.disk, spec.uuid, signal);
      }
    } finally {
      await ctx.host.exec(["rm", "-rf", "--", dir]).catch(() => undefined);
    }
    if (powerOn) await ctx.host.virshOk([["start", { domain: spec.uuid }]], { signal });
    await record.done();
  } catch (err) {
    let undone = true;
    if (defined) {
      await ctx.host
        .virsh([
          ["destroy", { domain: spec.uuid }],
          ["undefine", { domain: spec.uuid, nvram: true, "snapshots-metadata": true }],
        ])
        .catch(() => (undone = false));
    }
    for (const adoption of moved) {
      await returnImportedDisk(ctx, adoption.disk, adoption.path).catch(() => (undone = false));
    }
    if (made.length) {
      const removed = await ctx.host.exec(["rm", "-f", "--", ...made]).catch(() => undefined);
      if (removed?.exitCode !== 0) undone = false;
      await ctx.pool.refresh().catch(() => undefined);
    }
    // What could not be undone stays in the journal, for the collector.
    if (undone) await record.done();
    else record.leave();
    throw err;
  }
}

/** Writes the seed's documents into a scratch directory and makes the seed ISO from them. */
async function writeSeed(
  ctx: LibvirtContext,
  seed: NonNullable<CreatePlan["seed"]>,
  made: string[],
  signal: AbortSignal,
): Promise<void> {
  const dir = await ctx.scratch(signal);
  try {
    const names = Object.keys(seed.files);
    for (const file of names) {
      await ctx.host.writeFile(`${dir}/${file}`, seed.files[file] ?? "", signal);
    }
    made.push(seed.path);
    // The seed holds user-data (passwords, keys): readable by its owner
    // only; libvirt gives QEMU access when it starts the domain.
    await ctx.execOk(
      [
        "sh",
        "-c",
        'umask 077 && exec "$@"',
        "sh",
        "genisoimage",
        "-quiet",
        "-output",
        seed.path,
        "-volid",
        "cidata",
        "-joliet",
        "-rock",
        "-input-charset",
        "utf-8",
        ...names.map((n) => `${dir}/${n}`),
      ],
      signal,
    );
  } finally {
    // The seed's files may hold secrets: never leave them behind.
    await ctx.host.exec(["rm", "-rf", "--", dir]).catch(() => undefined);
  }
}

/**
 * Create: once per name (`ctx.creations`). A domain of that name is the
 * answer when the provider made or adopted it; otherwise the request is
 * planned (`planCreate`, which refuses what the host cannot honour) and a
 * task carries the plan out (`carryOutCreate`).
 *
 * @throws ProviderError INVALID_SPEC as `checkCreateRequest` and `planCreate`
 * do; CONFLICT for a domain of that name the provider did not make.
 */
export const createVm: LibvirtOperation<"create"> = async (ctx, request, signal) => {
  checkCreateRequest(request);
  return ctx.creations.run(
    request.name,
    async (keep) => {
      const existing = await domainByName(ctx, request.name, signal);
      if (existing) {
        // Idempotent by name, for the provider's own domains only.
        await ctx.findManaged(existing.uuid, signal).catch((err: unknown) => {
          throw ProviderError.is(err, ErrorReason.PERMISSION_DENIED)
            ? ProviderError.conflict(
                `a domain named ${request.name} exists that VirtRigaud did not create; adopt it (--adopt) or choose another name`,
              )
            : err;
        });
        return { vmId: existing.uuid };
      }
      const plan = await planCreate(ctx, request, signal);
      const release = keep();
      const task = ctx.tasks.start(`create ${request.name}`, async ({ signal: taskSignal }) => {
        try {
          await carryOutCreate(ctx, plan, request.powerOn, taskSignal);
        } finally {
          release();
        }
      });
      return { vmId: plan.spec.uuid, task };
    },
    signal,
  );
};
