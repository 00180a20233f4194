import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { kinds } from "@virtrigaud/manifest";

/** One step of a field path: a field's name, a list index or a map key. */
export type PathStep = string | number;

/**
 * The steps of a field path as the manager and the manifest codec write it:
 * `spec.disks[0].name`, `metadata.labels["app"]`.
 */
export function stepsOf(path: string): PathStep[] {
  const steps: PathStep[] = [];
  const step = /([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const match of path.matchAll(step)) {
    if (match[1] !== undefined) steps.push(match[1]);
    else if (match[2] !== undefined) steps.push(Number(match[2]));
    else if (match[3] !== undefined) steps.push(JSON.parse(match[3]) as string);
  }
  return steps;
}

/** Each proto field name of `desc` to its field's name in a manifest (its JSON name). */
function manifestSteps(desc: DescMessage, steps: readonly PathStep[]): PathStep[] {
  const out: PathStep[] = [];
  let message: DescMessage | undefined = desc;
  let inMap = false;
  for (const step of steps) {
    if (typeof step === "number" || inMap || !message) {
      out.push(step);
      inMap = false;
      continue;
    }
    const field: DescField | undefined = message.fields.find(
      (f) => f.name === step || f.jsonName === step,
    );
    if (!field) {
      out.push(step);
      message = undefined;
      continue;
    }
    out.push(field.jsonName);
    inMap = field.fieldKind === "map";
    message =
      field.fieldKind === "message"
        ? field.message
        : field.fieldKind === "list" && field.listKind === "message"
          ? field.message
          : field.fieldKind === "map" && field.mapKind === "message"
            ? field.message
            : undefined;
  }
  return out;
}

/**
 * Where a problem the manager reports sits in a manifest. Apply names fields
 * by their path in the ApplyRequest, in proto names
 * (`resource.virtual_machine.spec.class_ref.name`); a manifest writes
 * `spec.classRef.name`, and the RBAC kinds write their spec's fields at the
 * top. A path that is already a manifest's (the codec's) is kept.
 */
export function manifestPathOf(field: string): PathStep[] {
  const steps = stepsOf(field);
  if (steps[0] !== "resource" || typeof steps[1] !== "string") return steps;
  const oneof = steps[1];
  const info = kinds.find(
    (k) =>
      k.oneofCase === oneof ||
      k.oneofCase.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) === oneof,
  );
  if (!info) return steps.slice(2);
  const inManifest = manifestSteps(info.schema, steps.slice(2));
  if (info.topLevelSpec && inManifest[0] === "spec") return inManifest.slice(1);
  return inManifest;
}
