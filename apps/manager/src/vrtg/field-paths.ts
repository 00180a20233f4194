import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { kinds } from "../manifest/kinds.js";

/**
 * Turns the path of a field in an ApplyRequest, as the manager reports it in
 * proto field names ("resource.virtual_machine.spec.class_ref.name"), into
 * its path in a manifest ("spec.classRef.name"). Other paths come back as
 * they are.
 */
export function manifestPath(protoPath: string): string {
  const match = /^resource\.([a-z_]+)\.(.*)$/.exec(protoPath);
  if (!match) return protoPath;
  const oneof = (match[1] ?? "").replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const info = kinds.find((k) => k.oneofCase === oneof);
  if (!info) return protoPath;
  let desc: DescMessage | undefined = info.schema;
  const out: string[] = [];
  // Segments are names with optional [index] or ["key"] suffixes.
  for (const segment of (match[2] ?? "").match(/[^.[\]]+(?:\[[^\]]*\])*/g) ?? []) {
    const name = segment.replace(/\[.*$/, "");
    const suffix = segment.slice(name.length);
    const field: DescField | undefined = desc?.fields.find((f) => f.name === name);
    out.push((field?.jsonName ?? name) + suffix);
    desc =
      field?.fieldKind === "message"
        ? field.message
        : field?.fieldKind === "list" && field.listKind === "message"
          ? field.message
          : field?.fieldKind === "map" && field.mapKind === "message"
            ? field.message
            : undefined;
  }
  return out.join(".");
}
