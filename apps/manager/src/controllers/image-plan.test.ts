import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { ErrorReason, ProviderError } from "@virtrigaud/contracts";
import {
  ImagePhase,
  ProviderImageStatusSchema,
  ProviderType,
  VMImageSchema,
} from "@virtrigaud/proto/manager";
import {
  type ImageEntryFacts,
  type ImageEntryStep,
  type Plan,
  planFor,
  planImageEntry,
  summarizeImage,
} from "./image-plan.js";

const image = create(VMImageSchema, {
  spec: {
    source: {
      libvirt: { path: "/var/lib/images/debian.qcow2" },
      vsphere: { templateName: "debian-12" },
    },
  },
});
const prepare: Plan = {
  prepare: { source: { case: "path", value: "/x.qcow2" } },
  orUse: { path: "/x.qcow2" },
};
const entry = (fields: { available?: boolean; taskRef?: string } = {}) =>
  create(ProviderImageStatusSchema, fields);
const failed = new ProviderError(ErrorReason.INTERNAL, "boom");

describe("planFor", () => {
  it.each<[string, ProviderType, Plan]>([
    ["vSphere uses the template", ProviderType.VSPHERE, { use: { template: "debian-12" } }],
    [
      "libvirt prepares the path, or uses it as it is",
      ProviderType.LIBVIRT,
      {
        prepare: { source: { case: "path", value: "/var/lib/images/debian.qcow2" } },
        orUse: { path: "/var/lib/images/debian.qcow2" },
      },
    ],
  ])("%s", (_name, type, want) => {
    expect(planFor(image, type)).toEqual(want);
  });

  it("says when the image has no source for a kind of provider", () => {
    expect(planFor(create(VMImageSchema, { spec: { source: {} } }), ProviderType.PROXMOX)).toEqual({
      none: "the image has no source for proxmox providers",
    });
  });
});

describe("planImageEntry", () => {
  const facts = (overrides: Partial<ImageEntryFacts> = {}): ImageEntryFacts => ({
    plan: prepare,
    entry: entry(),
    preparesImages: true,
    reachable: true,
    again: false,
    task: undefined,
    ...overrides,
  });
  it.each<[string, Partial<ImageEntryFacts>, ImageEntryStep]>([
    ["no source for it", { plan: { none: "why" } }, { kind: "unusable", message: "why" }],
    ["a template", { plan: { use: { template: "t" } } }, { kind: "use", use: { template: "t" } }],
    [
      "a path, on a provider that prepares no images",
      { preparesImages: false },
      { kind: "use", use: { path: "/x.qcow2" } },
    ],
    ["available already", { entry: entry({ available: true }) }, { kind: "keep" }],
    [
      "available, but a new spec (or force)",
      { entry: entry({ available: true }), again: true },
      {
        kind: "prepare",
        source: { source: { case: "path", value: "/x.qcow2" } },
        orUse: { path: "/x.qcow2" },
      },
    ],
    ["the provider away", { reachable: false }, { kind: "unavailable" }],
    ["a task that runs", { entry: entry({ taskRef: "t1" }) }, { kind: "followTask", taskId: "t1" }],
    [
      "a task that failed",
      { entry: entry({ taskRef: "t1" }), task: { error: failed } },
      { kind: "taskFailed", error: failed },
    ],
    [
      "a task that succeeded",
      { entry: entry({ taskRef: "t1" }), task: { error: undefined } },
      { kind: "prepared" },
    ],
    [
      "not prepared yet",
      {},
      {
        kind: "prepare",
        source: { source: { case: "path", value: "/x.qcow2" } },
        orUse: { path: "/x.qcow2" },
      },
    ],
  ])("%s", (_name, overrides, want) => {
    expect(planImageEntry(facts(overrides))).toEqual(want);
  });
});

describe("summarizeImage", () => {
  it.each<[string, boolean, boolean, string, ImagePhase, string]>([
    ["available somewhere: Ready", true, true, "p: boom", ImagePhase.READY, "Available"],
    ["preparing", false, true, "", ImagePhase.DOWNLOADING, "Preparing"],
    ["refused", false, false, "p: boom", ImagePhase.FAILED, "PrepareFailed"],
    ["nothing yet", false, false, "", ImagePhase.PENDING, "Pending"],
  ])("%s", (_name, available, preparing, failedMessage, phase, reason) => {
    expect(summarizeImage({ "default/p": entry({ available }) }, preparing, failedMessage)).toEqual(
      {
        ready: available,
        phase,
        reason,
      },
    );
  });
});
