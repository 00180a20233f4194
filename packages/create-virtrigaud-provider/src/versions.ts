/**
 * Versions the generated project pins: the SDK it was scaffolded with, and
 * the tools this repository builds and tests with (a test keeps these equal
 * to the repository's own pins).
 */
export const sdkVersion = "0.1.0";

export const toolVersions = {
  protobuf: "2.13.0",
  jest: "30.5.2",
  swcCore: "1.16.22",
  swcJest: "0.2.39",
  typesNode: "20.19.43",
  typescript: "5.9.3",
} as const;
