import type { Meter } from "@opentelemetry/api";
import type { Logger } from "@virtrigaud/contracts";
import type { LibvirtContext } from "../libvirt-context.js";
import { type CollectionFacts, type CollectionPlan, planCollection } from "./plan-collection.js";

/** Options of `startOrphanCollector`. */
export interface OrphanCollectorOptions {
  /** Nothing younger than this is collected. */
  graceMs: number;
  /** Time between sweeps. Default: half the grace, within 1 s and 5 min. */
  intervalMs?: number;
  /** Instruments go here (served on /metrics by runProvider). */
  meter?: Meter;
  logger: Logger;
}

/** A running collector. */
export interface OrphanCollector {
  /** Runs one sweep now (after the one under way, if any), and resolves with its plan. */
  sweep(): Promise<CollectionPlan>;
  /** Stops sweeping and waits for the sweep under way. */
  stop(): Promise<void>;
}

/** Removes files, each only if unchanged for the grace; says what became of each. */
const removeScript = `
grace=$1; shift
now=$(date +%s)
for f; do
  if [ -f "$f" ] && [ ! -L "$f" ]; then
    if [ $((now - $(stat -c %Z -- "$f"))) -ge "$grace" ]; then
      rm -f -- "$f" && echo "removed $f"
    else
      echo "young $f"
    fi
  elif [ -e "$f" ] || [ -L "$f" ]; then
    echo "kept $f"
  else
    echo "gone $f"
  fi
done
`;

/** The images below each file (qemu-img), one JSON list a line. */
const chainsScript = `
for f; do
  qemu-img info -U --backing-chain --output=json -- "$f" 2>/dev/null | tr -d '\\n'
  echo
done
`;

/** What the sweep sees: the journal, the owners, the domains and their disks, the pool. */
async function observe(
  ctx: LibvirtContext,
  graceMs: number,
  signal: AbortSignal,
): Promise<CollectionFacts> {
  const poolPath = await ctx.pool.path(signal);
  const owner = await ctx.host.scratchOwner(signal);
  const machine = await ctx.host.machine(signal);
  const [records, volumes, refs] = await Promise.all([
    ctx.journal.read(signal),
    ctx.pool.volumes(signal),
    ctx.inventory.list(signal),
  ]);
  const others = [
    ...new Set(
      records.flatMap((r) =>
        r.entry && r.entry.owner !== owner && r.entry.machine === machine ? [r.entry.owner] : [],
      ),
    ),
  ];
  const [owners, views] = await Promise.all([
    ctx.host.ownerStates(others, signal),
    ctx.inventory.read(
      refs.map((r) => r.uuid),
      signal,
      false,
    ),
  ]);
  const referenced = new Set(
    views.flatMap((v) => v.info.disks.map((d) => d.path)).filter((p) => p !== ""),
  );
  return {
    poolPath,
    volumes,
    records,
    owners,
    self: { owner, machine, active: new Set(ctx.journal.active) },
    domains: new Set(refs.map((r) => r.uuid)),
    referenced,
    graceMs,
  };
}

/** Adds the images below every referenced file (read only when something may be removed or reported). */
async function withChains(
  ctx: LibvirtContext,
  facts: CollectionFacts,
  signal: AbortSignal,
): Promise<CollectionFacts> {
  const files = [...facts.referenced];
  if (!files.length) return facts;
  const result = await ctx.host.exec(["sh", "-c", chainsScript, "sh", ...files], {
    signal,
    idempotent: true,
  });
  const referenced = new Set(facts.referenced);
  for (const line of result.stdout.split("\n")) {
    if (!line.trim()) continue;
    try {
      const chain = JSON.parse(line) as Array<{ filename?: string }>;
      for (const image of chain.slice(1)) if (image.filename) referenced.add(image.filename);
    } catch {
      // A file qemu-img cannot read protects nothing below it.
    }
  }
  return { ...facts, referenced };
}

/**
 * Collects the files of operations that died with their process (see
 * volume-journal.ts and planCollection), reports files that look like a VM's
 * but that no domain uses and no entry names, and logs what it removes: one
 * sweep at start and then every interval. Counts go to
 * `virtrigaud_libvirt_orphan_volumes_collected` (files removed) and
 * `virtrigaud_libvirt_orphan_volumes_reported` (files left for a person).
 */
export function startOrphanCollector(
  ctx: LibvirtContext,
  options: OrphanCollectorOptions,
): OrphanCollector {
  const { graceMs, logger } = options;
  const intervalMs =
    options.intervalMs ?? Math.min(5 * 60_000, Math.max(1000, Math.floor(graceMs / 2)));
  const graceSeconds = Math.ceil(graceMs / 1000);
  const collected = options.meter?.createCounter("virtrigaud_libvirt_orphan_volumes_collected", {
    description: "Files of interrupted operations removed from the storage pool",
  });
  let reported = 0;
  options.meter
    ?.createObservableGauge("virtrigaud_libvirt_orphan_volumes_reported", {
      description:
        "Volumes named like a VM's files that no domain uses and no journal entry names: left for a person",
    })
    .addCallback((result) => result.observe(reported));
  const warned = new Set<string>();
  const stopping = new AbortController();
  let running: Promise<CollectionPlan> = Promise.resolve(emptyPlan());
  let timer: NodeJS.Timeout | undefined;

  const act = async (plan: CollectionPlan, signal: AbortSignal) => {
    let removedAny = false;
    const finished: string[] = [...plan.complete];
    for (const { id, entry, files } of plan.collect) {
      const result = await ctx.host.exec(
        ["sh", "-c", removeScript, "sh", String(graceSeconds), ...files],
        { signal },
      );
      let left = 0;
      for (const line of result.stdout.split("\n")) {
        const [what, ...rest] = line.split(" ");
        const file = rest.join(" ");
        if (what === "removed") {
          removedAny = true;
          collected?.add(1);
          logger.info(
            { file, vm: entry.vm, operation: entry.operation, owner: entry.owner },
            "collected a file of an operation whose provider process is gone",
          );
        } else if (what === "young" || what === "kept") {
          left++;
        }
      }
      if (result.exitCode === 0 && left === 0) finished.push(id);
    }
    for (const id of plan.unreadable) {
      logger.warn({ id }, "removed an unreadable entry of the volume journal");
    }
    await ctx.journal.remove([...finished, ...plan.unreadable], signal);
    if (removedAny) await ctx.pool.refresh(signal);
    reported = plan.suspects.length;
    for (const file of plan.suspects) {
      if (warned.has(file)) continue;
      warned.add(file);
      logger.warn(
        { file },
        "a volume named like a VM's file is used by no domain and named by no journal entry; not removed: delete it by hand if nothing needs it",
      );
    }
  };

  const sweepOnce = async (): Promise<CollectionPlan> => {
    const signal = stopping.signal;
    let facts = await observe(ctx, graceMs, signal);
    let plan = planCollection(facts);
    if (plan.collect.length || plan.suspects.length) {
      facts = await withChains(ctx, facts, signal);
      plan = planCollection(facts);
    }
    await act(plan, signal);
    return plan;
  };

  const sweep = (): Promise<CollectionPlan> => {
    running = running.then(sweepOnce, sweepOnce);
    return running;
  };

  const loop = () => {
    timer = setTimeout(() => {
      sweep()
        .catch((err: unknown) => {
          if (!stopping.signal.aborted)
            logger.warn({ err }, "orphan collection failed; trying again later");
        })
        .finally(() => {
          if (!stopping.signal.aborted) loop();
        });
    }, intervalMs);
    timer.unref();
  };

  void sweep()
    .catch((err: unknown) => {
      if (!stopping.signal.aborted)
        logger.warn({ err }, "orphan collection failed; trying again later");
    })
    .finally(() => {
      if (!stopping.signal.aborted) loop();
    });

  return {
    sweep,
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}

function emptyPlan(): CollectionPlan {
  return { collect: [], complete: [], unreadable: [], waiting: [], suspects: [] };
}
