import { backendSource } from "./templates/backend.js";
import { conformanceTestSource } from "./templates/conformance-test.js";
import { mainSource } from "./templates/main.js";
import {
  dockerfile,
  dockerignore,
  gitignore,
  jestConfig,
  packageJson,
  tsconfigs,
} from "./templates/project-files.js";
import { providerSource } from "./templates/provider.js";
import { readme } from "./templates/readme.js";

/** What a provider project is called, in each form its files need. */
export interface ProviderNames {
  /** The provider type, as given: "acme". */
  providerType: string;
  /** "AcmeCloud" for "acme-cloud": for function names. */
  pascalName: string;
  /** "virtrigaud-provider-acme": the package and binary name. */
  packageName: string;
}

const validName = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/**
 * The names of a provider called `name`.
 *
 * @throws Error when `name` is not lowercase letters, digits and single dashes, starting with a letter, at most 40 characters.
 */
export function providerNames(name: string): ProviderNames {
  if (!validName.test(name) || name.length > 40) {
    throw new Error(
      `${JSON.stringify(name)} is not a provider name: use lowercase letters, digits and single dashes, starting with a letter, at most 40 characters`,
    );
  }
  const pascalName = name.replace(/(^|-)([a-z0-9])/g, (_m, _dash: string, c: string) =>
    c.toUpperCase(),
  );
  return { providerType: name, pascalName, packageName: `virtrigaud-provider-${name}` };
}

/** Fills `{{providerType}}` and `{{pascalName}}` in a source template. */
function fill(template: string, names: ProviderNames): string {
  return template
    .replaceAll("{{providerType}}", names.providerType)
    .replaceAll("{{pascalName}}", names.pascalName);
}

/** The provider's source and test files, the same in a standalone project and in this workspace. */
export function renderSources(names: ProviderNames): Map<string, string> {
  return new Map([
    ["src/backend.ts", fill(backendSource, names)],
    ["src/provider.ts", fill(providerSource, names)],
    ["src/main.ts", fill(mainSource, names)],
    ["test/conformance.test.ts", fill(conformanceTestSource, names)],
  ]);
}

/** Every file of a standalone provider project, by path. */
export function renderStandaloneProject(names: ProviderNames): Map<string, string> {
  const { check, build } = tsconfigs();
  return new Map([
    ["package.json", packageJson(names.packageName)],
    ["tsconfig.json", check],
    ["tsconfig.build.json", build],
    ["jest.config.js", jestConfig],
    ["Dockerfile", dockerfile(names.packageName)],
    [".dockerignore", dockerignore],
    [".gitignore", gitignore],
    ["README.md", readme(names.packageName, names.providerType)],
    ...renderSources(names),
  ]);
}
