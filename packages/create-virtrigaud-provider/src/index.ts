/**
 * Scaffolds VirtRigaud providers: `scaffoldProvider` writes a standalone
 * project (the `create-virtrigaud-provider` command), and the nx generator
 * `provider` adds one to this workspace. Both write the same sources.
 *
 * @packageDocumentation
 */
export { scaffoldProvider, type ScaffoldOptions } from "./scaffold.js";
export {
  providerNames,
  renderSources,
  renderStandaloneProject,
  type ProviderNames,
} from "./render-project.js";
export { sdkVersion, toolVersions } from "./versions.js";
export { default as providerGenerator, type ProviderGeneratorOptions } from "./nx-generator.js";
