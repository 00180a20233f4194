import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { createTreeWithEmptyWorkspace } from "@nx/devkit/testing";
import {
  providerGenerator,
  providerNames,
  renderSources,
  renderStandaloneProject,
  sdkVersion,
  toolVersions,
} from "../src/index.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const rootPackage = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as {
  devDependencies: Record<string, string>;
};

describe("names", () => {
  it("derives the package, type and function names", () => {
    expect(providerNames("acme-cloud")).toEqual({
      providerType: "acme-cloud",
      pascalName: "AcmeCloud",
      packageName: "virtrigaud-provider-acme-cloud",
    });
  });

  it.each([
    "",
    "Acme",
    "1acme",
    "acme_cloud",
    "acme--cloud",
    "-acme",
    "acme-",
    "a".repeat(41),
    "../etc",
    "a b",
  ])("refuses %j", (name) => {
    expect(() => providerNames(name)).toThrow(/is not a provider name/);
  });
});

describe("a standalone project", () => {
  const files = renderStandaloneProject(providerNames("acme"));

  it("has everything a team needs, and no placeholder left unfilled", () => {
    expect([...files.keys()].sort()).toEqual([
      ".dockerignore",
      ".gitignore",
      "Dockerfile",
      "README.md",
      "jest.config.js",
      "package.json",
      "src/backend.ts",
      "src/main.ts",
      "src/provider.ts",
      "test/conformance.test.ts",
      "tsconfig.build.json",
      "tsconfig.json",
    ]);
    for (const [path, content] of files)
      expect({ path, unfilled: content.includes("{{") }).toEqual({ path, unfilled: false });
  });

  it("depends on this SDK and the conformance suite, with this repository's tool versions", () => {
    const manifest = JSON.parse(files.get("package.json") ?? "{}") as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(manifest.dependencies["@virtrigaud/contracts"]).toBe(sdkVersion);
    expect(manifest.devDependencies["@virtrigaud/conformance"]).toBe(sdkVersion);
    const contracts = JSON.parse(
      readFileSync(`${root}packages/contracts/package.json`, "utf8"),
    ) as { version: string };
    expect(sdkVersion).toBe(contracts.version);
    expect(toolVersions.typescript).toBe(rootPackage.devDependencies["typescript"]);
    expect(toolVersions.jest).toBe(rootPackage.devDependencies["jest"]);
    expect(toolVersions.swcCore).toBe(rootPackage.devDependencies["@swc/core"]);
    expect(toolVersions.swcJest).toBe(rootPackage.devDependencies["@swc/jest"]);
    expect(toolVersions.typesNode).toBe(rootPackage.devDependencies["@types/node"]);
  });
});

describe("the nx generator", () => {
  // A virtual workspace has no formatter installed (a real one formats with its Prettier).
  beforeAll(() => {
    process.env["NX_SKIP_FORMAT"] = "true";
  });
  afterAll(() => {
    delete process.env["NX_SKIP_FORMAT"];
  });

  it("adds apps/provider-NAME laid out like the workspace's other apps, with the scaffolder's sources", async () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write(
      "tsconfig.json",
      JSON.stringify({ files: [], references: [{ path: "./packages/contracts" }] }),
    );
    await providerGenerator(tree, { name: "acme" });
    for (const [path, content] of renderSources(providerNames("acme"))) {
      expect(tree.read(`apps/provider-acme/${path}`, "utf8")).toBe(content);
    }
    const manifest = JSON.parse(
      tree.read("apps/provider-acme/package.json", "utf8") ?? "{}",
    ) as Record<string, unknown>;
    expect(manifest["name"]).toBe("@virtrigaud/provider-acme");
    expect(manifest["nx"]).toEqual({ tags: ["scope:provider", "type:app"] });
    expect(tree.exists("apps/provider-acme/bin/virtrigaud-provider-acme.js")).toBe(true);
    expect(tree.read("apps/provider-acme/jest.config.js", "utf8")).toContain(
      'from "../../jest.preset.js"',
    );
    expect(JSON.parse(tree.read("tsconfig.json", "utf8") ?? "{}")).toEqual({
      files: [],
      references: [{ path: "./packages/contracts" }, { path: "./apps/provider-acme" }],
    });
    await expect(providerGenerator(tree, { name: "acme" })).rejects.toThrow(/exists already/);
  });
});
