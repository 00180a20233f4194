/**
 * The name of a VirtualMachine's VM at its provider: the resource's name in
 * the "default" namespace, "name.namespace" elsewhere. Resource names and
 * namespaces have no dots, so two resources never share a provider name.
 */
export function providerVmName(namespace: string, name: string): string {
  return namespace === "default" ? name : `${name}.${namespace}`;
}
