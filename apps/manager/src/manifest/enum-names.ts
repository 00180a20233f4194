// The manifest format lives in @virtrigaud/manifest, which the web console
// shares; the manager's modules keep importing it from here.
export { manifestName } from "@virtrigaud/manifest";
