import { ProviderError, quote } from "@virtrigaud/contracts";

// Kubernetes' rules for labels and annotations (apimachinery's
// IsQualifiedName, IsValidLabelValue and ValidateAnnotations), so what a
// manifest may say here is what it may say there.

/** The most bytes all of a resource's annotations may take, keys and values. */
export const annotationsMaxBytes = 256 * 1024;

const qualifiedNameMax = 63;
const prefixMax = 253;
const labelValueMax = 63;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const namePart = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const labelValueText = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** What is wrong with a label or annotation key, or undefined when it is a qualified name. */
export function keyProblem(key: string): string | undefined {
  const parts = key.split("/");
  const name = parts.at(-1) ?? "";
  const prefix = parts.length === 2 ? parts[0] : undefined;
  if (parts.length > 2 || !namePart.test(name) || (prefix !== undefined && !prefix))
    return "must be a name of letters, digits, '-', '_' or '.', starting and ending with a letter or digit, with an optional DNS subdomain prefix and '/' (example.com/my-name)";
  if (name.length > qualifiedNameMax)
    return `its name part must be at most ${qualifiedNameMax} characters`;
  if (prefix !== undefined && !dnsSubdomain.test(prefix))
    return "its prefix must be a DNS subdomain: lowercase letters, digits, '-' and '.'";
  if (prefix !== undefined && prefix.length > prefixMax)
    return `its prefix must be at most ${prefixMax} characters`;
  return undefined;
}

/** What is wrong with a label value, or undefined when it is valid. */
export function labelValueProblem(value: string): string | undefined {
  if (value.length > labelValueMax) return `must be at most ${labelValueMax} characters`;
  if (!labelValueText.test(value))
    return "must be empty or letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
  return undefined;
}

/**
 * Checks labels and annotations as Kubernetes does: keys are qualified
 * names, label values short and selectable (a value a label selector cannot
 * name is refused rather than stored), annotations at most 256 KiB in all. `at` turns a field path inside the metadata into the request's.
 *
 * @throws ProviderError INVALID_SPEC naming the entry, its key shortened.
 */
export function validateLabelsAndAnnotations(
  labels: Readonly<Record<string, string>>,
  annotations: Readonly<Record<string, string>>,
  at: (field: string) => string,
): void {
  for (const [key, value] of Object.entries(labels)) {
    const field = at(`labels[${quote(key)}]`);
    const problem = keyProblem(key);
    if (problem) throw ProviderError.invalidSpec(field, `the key ${problem}`);
    const valueProblem = labelValueProblem(value);
    if (valueProblem) throw ProviderError.invalidSpec(field, `the value ${valueProblem}`);
  }
  let bytes = 0;
  for (const [key, value] of Object.entries(annotations)) {
    // Kubernetes checks annotation keys in lowercase: a prefix may have capitals.
    const problem = keyProblem(key.toLowerCase());
    if (problem)
      throw ProviderError.invalidSpec(at(`annotations[${quote(key)}]`), `the key ${problem}`);
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > annotationsMaxBytes)
    throw ProviderError.invalidSpec(
      at("annotations"),
      `may take at most ${annotationsMaxBytes} bytes in all (256 KiB, keys and values), not ${bytes}`,
    );
}
