import js from "@eslint/js";
import nx from "@nx/eslint-plugin";
import prettier from "eslint-config-prettier";
import { defineConfig } from "eslint/config";
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

export default defineConfig(
  {
    ignores: [
      "**/node_modules/**",
      "**/dist/**",
      "**/out-tsc/**",
      "**/coverage/**",
      ".nx/**",
      ".testbed/**",
      "packages/proto/src/gen/**",
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@nx": nx, "import-x": importX },
    rules: {
      "@nx/enforce-module-boundaries": [
        "error",
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            // The SDK (generated code, contracts, conformance, vsphere-sdk) never imports an app.
            { sourceTag: "scope:sdk", onlyDependOnLibsWithTags: ["scope:sdk"] },
            // Apps import libraries, never other apps.
            { sourceTag: "type:app", onlyDependOnLibsWithTags: ["type:lib", "type:generated"] },
            { sourceTag: "type:lib", onlyDependOnLibsWithTags: ["type:lib", "type:generated"] },
            { sourceTag: "type:generated", onlyDependOnLibsWithTags: ["type:generated"] },
            // Benchmarks drive whole services, apps included; nothing imports a benchmark.
            { sourceTag: "type:bench", onlyDependOnLibsWithTags: ["*"] },
          ],
        },
      ],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "import-x/no-cycle": "error",
    },
  },
  {
    // Messages are made with create(Schema, init), which fills every field and
    // checks the init's shape; a `$typeName` written by hand does neither.
    // Generated code (packages/proto/src/gen) is ignored above.
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector:
            "ObjectExpression > Property[key.name='$typeName'], ObjectExpression > Property[key.value='$typeName']",
          message:
            "Make messages with create(Schema, init) from @bufbuild/protobuf, not with a `$typeName` literal.",
        },
      ],
    },
  },
  {
    // Scripts and configs in plain JavaScript are not part of a TypeScript project.
    files: ["**/*.js", "**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
  {
    // Vite's config imports only Vite and its React plugin, whose package
    // exports import-x cannot resolve; a config file is in no import cycle.
    files: ["**/vite.config.ts"],
    rules: { "import-x/no-cycle": "off" },
  },
  {
    // Tool configuration shares the workspace preset by path; it is not project code.
    files: ["**/jest.config.js", "**/test/global-setup.js", "jest.preset.js", "eslint.config.js"],
    rules: { "@nx/enforce-module-boundaries": "off" },
  },
  prettier,
);
