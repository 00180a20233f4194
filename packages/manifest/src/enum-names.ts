import { type DescEnum, getOption } from "@bufbuild/protobuf";
import { manifest_value } from "@virtrigaud/proto/manager";

const toManifestCache = new Map<DescEnum, Map<number, string>>();
const fromManifestCache = new Map<DescEnum, Map<string, number>>();

function tables(desc: DescEnum) {
  let to = toManifestCache.get(desc);
  let from = fromManifestCache.get(desc);
  if (!to || !from) {
    to = new Map();
    from = new Map();
    for (const value of desc.values) {
      const spelled = getOption(value, manifest_value);
      if (!spelled) continue;
      to.set(value.number, spelled);
      from.set(spelled, value.number);
    }
    toManifestCache.set(desc, to);
    fromManifestCache.set(desc, from);
  }
  return { to, from };
}

/**
 * How a manifest spells an enum value ("On", "OffGraceful"), from the
 * value's `manifest_value` option. Undefined for the zero value.
 */
export function manifestName(desc: DescEnum, value: number): string | undefined {
  return tables(desc).to.get(value);
}

/** The enum value a manifest string names, or undefined. Exact match only. */
export function fromManifestName(desc: DescEnum, text: string): number | undefined {
  return tables(desc).from.get(text);
}

/** The manifest spellings of every value, for error messages. */
export function manifestNames(desc: DescEnum): string[] {
  return [...tables(desc).from.keys()];
}
