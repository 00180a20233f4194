// The manifest format lives in @virtrigaud/manifest, which the web console
// shares; the manager's modules keep importing it from here.
export { fromManifestName, manifestName, manifestNames } from "@virtrigaud/manifest";
