/** The figures `virsh domstats --raw` gives for one domain. */
export interface DomainStats {
  name: string;
  /** virDomainState: 1 running, 2 blocked, 3 paused, 4 shutting down, 5 shut off, 6 crashed, 7 pmsuspended. */
  state: number;
  vcpus: number | undefined;
  /** Block devices by target (vda), with their capacity in bytes. */
  blocks: Record<string, { path: string; capacityBytes: number }>;
  /**
   * The figures a definition change moves, as one string: state, CPUs,
   * memory (with `--balloon`) and block devices; not the counters that move
   * by themselves (times, bytes read). Equal fingerprints do not prove an
   * unchanged definition, but a changed one proves a change.
   */
  fingerprint: string;
}

/** The stable keys of a domain's stats (block.N.name and block.N.path besides). */
const fingerprintKeys = [
  "state.state",
  "vcpu.current",
  "vcpu.maximum",
  "balloon.current",
  "balloon.maximum",
  "block.count",
];

function fingerprintOf(raw: ReadonlyMap<string, string>): string {
  const parts = fingerprintKeys.map((key) => raw.get(key) ?? "");
  const count = Number(raw.get("block.count") ?? 0);
  for (let i = 0; i < count; i++) {
    parts.push(raw.get(`block.${i}.name`) ?? "", raw.get(`block.${i}.path`) ?? "");
  }
  return parts.join("\u0000");
}

/**
 * Parses `virsh domstats --raw` output: `Domain: 'name'` headers, each
 * followed by `key=value` lines.
 */
export function parseDomstats(output: string): DomainStats[] {
  const result: DomainStats[] = [];
  let current: (DomainStats & { raw: Map<string, string> }) | undefined;
  const finish = () => {
    if (!current) return;
    const count = Number(current.raw.get("block.count") ?? 0);
    for (let i = 0; i < count; i++) {
      const name = current.raw.get(`block.${i}.name`);
      if (!name) continue;
      current.blocks[name] = {
        path: current.raw.get(`block.${i}.path`) ?? "",
        capacityBytes: Number(current.raw.get(`block.${i}.capacity`) ?? 0),
      };
    }
    result.push({
      name: current.name,
      state: current.state,
      vcpus: current.vcpus,
      blocks: current.blocks,
      fingerprint: fingerprintOf(current.raw),
    });
  };
  for (const line of output.split("\n")) {
    const header = /^Domain: '(.*)'$/.exec(line);
    if (header) {
      finish();
      current = {
        name: header[1] ?? "",
        state: 0,
        vcpus: undefined,
        blocks: {},
        fingerprint: "",
        raw: new Map(),
      };
      continue;
    }
    const pair = /^\s+([^=]+)=(.*)$/.exec(line);
    if (!pair || !current) continue;
    const [, key = "", value = ""] = pair;
    current.raw.set(key, value);
    if (key === "state.state") current.state = Number(value);
    if (key === "vcpu.current") current.vcpus = Number(value);
  }
  finish();
  return result;
}
