import { sdkVersion, toolVersions } from "../versions.js";

/** `value` as a JSON file: two-space indent, final newline. */
export function jsonFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The generated standalone project's package.json. */
export function packageJson(packageName: string): string {
  const manifest = {
    name: packageName,
    version: "0.1.0",
    private: true,
    type: "module",
    bin: { [packageName]: "./dist/main.js" },
    scripts: {
      build: "tsc -p tsconfig.build.json",
      start: "node dist/main.js --listen 127.0.0.1:9443 --insecure",
      typecheck: "tsc -p tsconfig.json --noEmit",
      pretest: "npm run build",
      test: "NODE_OPTIONS=--experimental-vm-modules jest",
    },
    engines: { node: ">=20.11" },
    dependencies: {
      "@bufbuild/protobuf": toolVersions.protobuf,
      "@virtrigaud/contracts": sdkVersion,
    },
    devDependencies: {
      "@jest/globals": toolVersions.jest,
      "@swc/core": toolVersions.swcCore,
      "@swc/jest": toolVersions.swcJest,
      "@types/node": toolVersions.typesNode,
      "@virtrigaud/conformance": sdkVersion,
      jest: toolVersions.jest,
      typescript: toolVersions.typescript,
    },
  };
  return jsonFile(manifest);
}

const compilerOptions = {
  target: "ES2022",
  lib: ["ES2023"],
  module: "NodeNext",
  moduleResolution: "NodeNext",
  types: ["node"],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  noImplicitOverride: true,
  noImplicitReturns: true,
  noFallthroughCasesInSwitch: true,
  useUnknownInCatchVariables: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  skipLibCheck: true,
};

/** tsconfig.json (sources and tests, type-checked) and tsconfig.build.json (sources, emitted). */
export function tsconfigs(): { check: string; build: string } {
  return {
    check: jsonFile({
      compilerOptions: { ...compilerOptions, noEmit: true },
      include: ["src", "test"],
    }),
    build: jsonFile({
      compilerOptions: { ...compilerOptions, rootDir: "src", outDir: "dist", sourceMap: true },
      include: ["src"],
    }),
  };
}

export const jestConfig = `// Tests are TypeScript ES modules, transpiled by @swc/jest; jest runs them with --experimental-vm-modules.
/** @type {import('jest').Config} */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "es6" } }],
  },
  moduleNameMapper: { "^(\\\\.{1,2}/.*)\\\\.js$": "$1" },
  moduleFileExtensions: ["ts", "js", "mjs", "json"],
  testMatch: ["<rootDir>/test/**/*.test.ts", "<rootDir>/src/**/*.test.ts"],
  testTimeout: 600000,
};
`;

export function dockerfile(packageName: string): string {
  return `# Builds the provider and runs it as an unprivileged user. Certificates and
# credentials are mounted, never baked in: see the README.
FROM node:20-bookworm-slim AS build
WORKDIR /src
# Exactly what the committed lockfile locks (run \`npm install\` once and commit package-lock.json).
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig*.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
USER node
EXPOSE 9443 8080
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:8080/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/main.js"]
# Mutual TLS: mount the files and point at them. The provider accepts calls only from
# clients whose certificate the CA of --tls-client-ca signed (the managers'); plaintext
# (--insecure) serves loopback addresses only.
CMD ["--tls-cert", "/etc/${packageName}/tls/tls.crt", "--tls-key", "/etc/${packageName}/tls/tls.key", "--tls-client-ca", "/etc/${packageName}/tls/client-ca.crt"]
`;
}

export const gitignore = `node_modules/
dist/
coverage/
*.tsbuildinfo
`;

export const dockerignore = `node_modules
dist
coverage
.git
`;
