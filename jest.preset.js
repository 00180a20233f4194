// One jest setup for the whole workspace: TypeScript is transpiled by @swc/jest into
// ES modules (jest runs them with --experimental-vm-modules), and workspace packages
// resolve to their sources through the "@virtrigaud/source" export condition.
import { fileURLToPath } from "node:url";

/** @type {import('jest').Config} */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      {
        jsc: { parser: { syntax: "typescript" }, target: "es2022" },
        module: { type: "es6" },
        sourceMaps: "inline",
      },
    ],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  // Sources first, so stray compiler output beside a .ts file never shadows it.
  moduleFileExtensions: ["ts", "js", "mjs", "cjs", "json", "node"],
  testEnvironmentOptions: {
    customExportConditions: ["@virtrigaud/source", "node", "node-addons"],
  },
  testMatch: ["<rootDir>/src/**/*.test.ts", "<rootDir>/test/**/*.test.ts"],
  testTimeout: 30_000,
  // Retries in CI only, every one reported: see the file.
  setupFilesAfterEnv: [
    fileURLToPath(new URL("./tools/test-report/jest-retries.js", import.meta.url)),
  ],
};
