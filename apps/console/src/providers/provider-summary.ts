import { type Capabilities, CapabilitiesSchema } from "@virtrigaud/proto";
import {
  CircuitStateSchema,
  type Provider,
  ProviderCapabilitySchema,
  ProviderPhaseSchema,
  ProviderTypeSchema,
} from "@virtrigaud/proto/manager";
import { enumWord } from "../format/enum-word";

/** One feature a provider declared in GetCapabilities, as `status.details` holds it. */
export interface DeclaredFeature {
  /** The field's JSON name, as `vrtg get provider -o yaml` shows it ("memorySnapshots"). */
  name: string;
  /** "yes" for a flag; the values, comma-separated, for a list ("Qcow2, Raw"). */
  value: string;
}

/**
 * What GetCapabilities declared, from the message's own descriptor (so a
 * capability added to the proto shows without a change here): the flags that
 * are set and the lists that are not empty. The type and version are shown
 * apart.
 */
export function declaredFeatures(details: Capabilities | undefined): DeclaredFeature[] {
  if (!details) return [];
  const features: DeclaredFeature[] = [];
  for (const field of CapabilitiesSchema.fields) {
    const value: unknown = details[field.localName as keyof Capabilities];
    if (field.fieldKind === "scalar" && value === true)
      features.push({ name: field.jsonName, value: "yes" });
    if (
      field.fieldKind === "list" &&
      field.listKind === "enum" &&
      Array.isArray(value) &&
      value.length > 0
    ) {
      const words = (value as number[]).map((v) => enumWord(field.enum, v) || String(v));
      features.push({ name: field.jsonName, value: words.join(", ") });
    }
  }
  return features;
}

/** A Provider as its card on the providers page shows it. */
export interface ProviderSummary {
  key: string;
  namespace: string;
  name: string;
  type: string;
  endpoint: string;
  /** Pending until the manager's first probe. */
  phase: string;
  healthy: boolean;
  circuit: string;
  capabilities: string[];
  version: string;
  connectedVms: number;
  /** Why calls fail, while the circuit is open. */
  message: string;
}

/** The card of `provider`, from its spec and the status the manager writes. */
export function providerSummary(provider: Provider): ProviderSummary {
  const namespace = provider.metadata?.namespace ?? "";
  const name = provider.metadata?.name ?? "";
  const status = provider.status;
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    type: enumWord(ProviderTypeSchema, provider.spec?.type ?? 0),
    endpoint: provider.spec?.endpoint ?? "",
    phase: enumWord(ProviderPhaseSchema, status?.phase ?? 0) || "Pending",
    healthy: status?.healthy ?? false,
    circuit: enumWord(CircuitStateSchema, status?.circuit ?? 0),
    capabilities: (status?.capabilities ?? []).map((c) => enumWord(ProviderCapabilitySchema, c)),
    version: status?.version ?? "",
    connectedVms: status?.connectedVms ?? 0,
    message: status?.message ?? "",
  };
}
