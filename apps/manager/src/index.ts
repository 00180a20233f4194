/**
 * The VirtRigaud manager: the store, the controllers and the API, for the
 * binaries and the benchmark.
 *
 * @packageDocumentation
 */
export { startManager, type Manager, type ManagerOptions } from "./manager.js";
export { defaultProviderCallsInFlight } from "./controllers/provider-connection.js";
export { decodeManifest, encodeManifest, type Manifest } from "./manifest/manifest-codec.js";
export {
  parseManifests,
  ManifestSyntaxError,
  type SourcedManifest,
} from "./manifest/parse-manifests.js";
export {
  kinds,
  findKind,
  kindInfo,
  apiVersion,
  fromResource,
  toResource,
  type KindInfo,
  type AnyResource,
} from "./manifest/kinds.js";
