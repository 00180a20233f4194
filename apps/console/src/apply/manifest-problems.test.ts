import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "@jest/globals";
import { ProviderError } from "@virtrigaud/contracts";
import { create } from "@bufbuild/protobuf";
import { ErrorDetailSchema, ErrorReason } from "@virtrigaud/proto";
import { parseDocument } from "yaml";
import { problemOf, readManifests } from "./manifest-problems";

const vm = `apiVersion: infra.virtrigaud.io/v1beta1
kind: VirtualMachine
metadata:
  name: web-1
spec:
  providerRef:
    name: mock
  classRef:
    name: Small_Class
  disks:
    - name: data
      sizeGiB: 10
  powerState: "On"
`;

/** An INVALID_SPEC as the manager sends it: the field in the message and in an ErrorDetail. */
const refused = (field: string, message: string) =>
  new ConnectError(`${field}: ${message}`, Code.InvalidArgument, undefined, [
    {
      desc: ErrorDetailSchema,
      value: create(ErrorDetailSchema, { reason: ErrorReason.INVALID_SPEC, message, field }),
    },
  ]);

/** The text a problem marks. */
const marked = (text: string, p: { from: number; to: number }) => text.slice(p.from, p.to);

describe("problems in the editor's manifests", () => {
  it("reads good manifests as Resources, skipping empty documents", () => {
    const read = readManifests(`${vm}---\n---\n${vm.replace("web-1", "web-2")}`);
    expect(read.ok && read.documents.map((d) => d.resource.kind.case)).toEqual([
      "virtualMachine",
      "virtualMachine",
    ]);
  });

  it("marks YAML syntax errors where they are, before anything else", () => {
    const text = "kind: VirtualMachine\nspec: {a: 1\nmetadata: x\n";
    const read = readManifests(text);
    expect(read.ok).toBe(false);
    if (read.ok) return;
    expect(read.problems.length).toBeGreaterThan(0);
    expect(read.problems[0]?.from).toBeGreaterThanOrEqual(text.indexOf("{"));
  });

  it("marks the manifest format's problems at their field's key and value", () => {
    const text = vm.replace('powerState: "On"', "powerState: Sideways");
    const read = readManifests(text);
    expect(read.ok).toBe(false);
    if (read.ok) return;
    expect(read.problems).toHaveLength(1);
    expect(marked(text, read.problems[0] ?? { from: 0, to: 0 })).toBe("powerState: Sideways");
    expect(read.problems[0]?.message).toMatch(/^spec\.powerState: must be one of /);
  });

  it("marks the manager's INVALID_SPEC at the field its ApplyRequest path names", () => {
    const doc = parseDocument(vm, { keepSourceTokens: true });
    const wire = refused("resource.virtual_machine.spec.class_ref.name", "must be lowercase");
    const problem = problemOf(vm, doc, wire);
    expect(marked(vm, problem)).toBe("name: Small_Class");
    expect(problem.message).toBe("resource.virtual_machine.spec.class_ref.name: must be lowercase");
    const disk = problemOf(
      vm,
      doc,
      refused("resource.virtual_machine.spec.disks[0].size_gib", "too big"),
    );
    expect(marked(vm, disk)).toBe("sizeGiB: 10");
  });

  it("marks a required field that is missing at the nearest field above it", () => {
    const doc = parseDocument(vm);
    const problem = problemOf(
      vm,
      doc,
      ProviderError.invalidSpec("resource.virtual_machine.spec.image_ref", "is required"),
    );
    expect(marked(vm, problem)).toBe("spec");
  });

  it("puts an error without a field at the document's start, with the manager's words", () => {
    const doc = parseDocument(vm);
    const problem = problemOf(vm, doc, new ConnectError("no", Code.PermissionDenied));
    expect(problem.from).toBe(0);
    expect(problem.message).toBe("no");
    // A request rule's violation, whose field only its message names.
    const rule = new ConnectError(
      "resource.virtual_machine.spec.class_ref.name: too long",
      Code.InvalidArgument,
    );
    expect(marked(vm, problemOf(vm, doc, rule))).toBe("name: Small_Class");
  });
});
