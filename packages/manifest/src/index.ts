/**
 * The `infra.virtrigaud.io/v1beta1` manifest format: a parsed YAML or JSON
 * manifest to the manager's `Resource` message and back, with problems named
 * by their manifest path ("spec.powerState"). vrtg and the manager read
 * manifests with it, and the web console checks what its editor holds with
 * it before it calls Apply. Free of Node's modules, so a browser bundle can
 * take it.
 *
 * @packageDocumentation
 */
export { decodeManifest, encodeManifest, type Manifest } from "./manifest-codec.js";
export {
  apiVersion,
  clusterNamespace,
  findKind,
  fromResource,
  kindInfo,
  kinds,
  toResource,
  type AnyResource,
  type KindInfo,
} from "./kinds.js";
export { manifestName } from "./enum-names.js";
