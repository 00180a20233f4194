import { type DescEnum, getOption } from "@bufbuild/protobuf";
import { manifest_value } from "@virtrigaud/proto/manager";

/** A value of an enum as manifests spell it ("On", "Running"); "" when unset or unknown. */
export function enumWord(desc: DescEnum, value: number): string {
  const found = desc.values.find((v) => v.number === value);
  return found && value !== 0 ? getOption(found, manifest_value) || found.localName : "";
}
