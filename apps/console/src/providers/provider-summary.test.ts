import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "@jest/globals";
import { CapabilitiesSchema, DiskType } from "@virtrigaud/proto";
import {
  CircuitState,
  ProviderCapability,
  ProviderPhase,
  ProviderSchema,
  ProviderType,
} from "@virtrigaud/proto/manager";
import { declaredFeatures, providerSummary } from "./provider-summary";

describe("a provider's card", () => {
  it("shows the status the manager wrote in the manifests' words", () => {
    const provider = create(ProviderSchema, {
      metadata: { name: "mock", namespace: "team-a" },
      spec: { type: ProviderType.MOCK, endpoint: "http://127.0.0.1:9443" },
      status: {
        phase: ProviderPhase.UNAVAILABLE,
        healthy: false,
        circuit: CircuitState.HALF_OPEN,
        capabilities: [ProviderCapability.SNAPSHOTS, ProviderCapability.LIVE_MIGRATION],
        version: "0.1.0",
        connectedVms: 3,
        message: "connect ECONNREFUSED",
      },
    });
    expect(providerSummary(provider)).toEqual({
      key: "team-a/mock",
      namespace: "team-a",
      name: "mock",
      type: "mock",
      endpoint: "http://127.0.0.1:9443",
      phase: "Unavailable",
      healthy: false,
      circuit: "HalfOpen",
      capabilities: ["Snapshots", "LiveMigration"],
      version: "0.1.0",
      connectedVms: 3,
      message: "connect ECONNREFUSED",
    });
  });

  it("a provider not probed yet is Pending", () => {
    const provider = create(ProviderSchema, { metadata: { name: "new" } });
    expect(providerSummary(provider)).toMatchObject({
      phase: "Pending",
      circuit: "",
      capabilities: [],
    });
  });

  it("lists the flags set and the lists not empty that GetCapabilities declared", () => {
    const details = create(CapabilitiesSchema, {
      providerType: "mock",
      snapshots: true,
      memorySnapshots: true,
      suspend: false,
      diskTypes: [DiskType.THIN, DiskType.THICK],
    });
    expect(declaredFeatures(details)).toEqual([
      { name: "snapshots", value: "yes" },
      { name: "memorySnapshots", value: "yes" },
      { name: "diskTypes", value: "THIN, THICK" },
    ]);
    expect(declaredFeatures(undefined)).toEqual([]);
  });
});
