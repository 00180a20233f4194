import { type Tree, formatFiles, updateJson } from "@nx/devkit";
import { providerNames, renderSources } from "./render-project.js";
import { jsonFile } from "./templates/project-files.js";
import { readme } from "./templates/readme.js";
import { sdkVersion, toolVersions } from "./versions.js";

/** Options of the `provider` generator. */
export interface ProviderGeneratorOptions {
  /** The provider's name: lowercase letters, digits and dashes. */
  name: string;
}

/**
 * `nx g @virtrigaud/create-virtrigaud-provider:provider NAME`: a provider app
 * inside this workspace, at apps/provider-NAME, laid out like
 * apps/provider-mock (package tags, project references, the shared jest
 * preset, a committed bin wrapper) with the same sources the standalone
 * scaffolder writes.
 *
 * @throws Error for a bad name, or when apps/provider-NAME exists.
 */
export default async function providerGenerator(
  tree: Tree,
  options: ProviderGeneratorOptions,
): Promise<void> {
  const names = providerNames(options.name);
  const root = `apps/provider-${names.providerType}`;
  if (tree.exists(root)) throw new Error(`${root} exists already`);
  const write = (path: string, content: string) => tree.write(`${root}/${path}`, content);

  for (const [path, content] of renderSources(names)) write(path, content);
  write(
    "package.json",
    jsonFile({
      name: `@virtrigaud/provider-${names.providerType}`,
      version: "0.1.0",
      description: `The ${names.providerType} VirtRigaud provider.`,
      license: "Apache-2.0",
      type: "module",
      private: true,
      bin: { [names.packageName]: `./bin/${names.packageName}.js` },
      scripts: {
        build: "tsc -b tsconfig.lib.json",
        typecheck: "tsc -b tsconfig.json",
        test: "NODE_OPTIONS=--experimental-vm-modules jest",
      },
      nx: { tags: ["scope:provider", "type:app"] },
      dependencies: {
        "@bufbuild/protobuf": toolVersions.protobuf,
        "@virtrigaud/contracts": sdkVersion,
      },
      devDependencies: { "@virtrigaud/conformance": sdkVersion },
    }),
  );
  write(
    `bin/${names.packageName}.js`,
    `#!/usr/bin/env node\n// Committed, so npm links it at install time, before the build has made dist/main.js.\nimport "../dist/main.js";\n`,
  );
  write(
    "tsconfig.lib.json",
    jsonFile({
      extends: "../../tsconfig.base.json",
      compilerOptions: {
        rootDir: "src",
        outDir: "dist",
        tsBuildInfoFile: "dist/tsconfig.lib.tsbuildinfo",
      },
      include: ["src/**/*.ts"],
      exclude: ["src/**/*.test.ts"],
      references: [{ path: "../../packages/contracts/tsconfig.lib.json" }],
    }),
  );
  write(
    "tsconfig.spec.json",
    jsonFile({
      extends: "../../tsconfig.base.json",
      compilerOptions: {
        rootDir: ".",
        outDir: "out-tsc/spec",
        tsBuildInfoFile: "out-tsc/spec/tsconfig.spec.tsbuildinfo",
      },
      include: ["src/**/*.test.ts", "test/**/*.ts"],
      references: [
        { path: "./tsconfig.lib.json" },
        { path: "../../packages/contracts/tsconfig.lib.json" },
        { path: "../../packages/conformance/tsconfig.lib.json" },
      ],
    }),
  );
  write(
    "tsconfig.json",
    jsonFile({
      files: [],
      references: [{ path: "./tsconfig.lib.json" }, { path: "./tsconfig.spec.json" }],
    }),
  );
  write(
    "jest.config.js",
    `import preset from "../../jest.preset.js";\n\nexport default { ...preset, displayName: "provider-${names.providerType}", testTimeout: 600_000 };\n`,
  );
  write("README.md", readme(`@virtrigaud/provider-${names.providerType}`, names.providerType));
  updateJson(tree, "tsconfig.json", (config: { references?: Array<{ path: string }> }) => {
    config.references = [...(config.references ?? []), { path: `./${root}` }];
    return config;
  });
  await formatFiles(tree);
}
