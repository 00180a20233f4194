import { type DescEnum, getOption } from "@bufbuild/protobuf";
import { manifest_value } from "@virtrigaud/proto/manager";

// getOption decodes the value's options from their bytes on every call,
// making messages as it goes: too slow for a fleet of rows each frame. The
// words never change, so each is looked up once.
const words = new WeakMap<DescEnum, Map<number, string>>();

/** A value of an enum as manifests spell it ("On", "Running"); "" when unset or unknown. */
export function enumWord(desc: DescEnum, value: number): string {
  let byValue = words.get(desc);
  if (!byValue) {
    byValue = new Map();
    words.set(desc, byValue);
  }
  let word = byValue.get(value);
  if (word === undefined) {
    const found = desc.values.find((v) => v.number === value);
    word = found && value !== 0 ? getOption(found, manifest_value) || found.localName : "";
    byValue.set(value, word);
  }
  return word;
}
