// The manifest format lives in @virtrigaud/manifest, which the web console
// shares; the manager's modules keep importing it from here.
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
} from "@virtrigaud/manifest";
