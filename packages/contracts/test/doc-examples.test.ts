import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "@jest/globals";
import ts from "typescript";

// The TypeScript in these documents must compile, with the workspace's
// strict settings, against the SDK's current sources. Fences:
//   ```ts                a standalone module
//   ```ts file=name.ts   a module other blocks of the same document import as "./name.js"
//   ```ts excerpt        part of a file the document shows in full elsewhere; not compiled alone
const root = fileURLToPath(new URL("../../../", import.meta.url));
const documents = [
  "README.md",
  "packages/contracts/README.md",
  "apps/provider-mock/README.md",
  "docs/guides/writing-a-provider.md",
  "docs/reference/errors.md",
  "docs/reference/provider-api.md",
  "docs/reference/sdk.md",
  "docs/guides/conformance.md",
  "packages/conformance/README.md",
];

interface Example {
  document: string;
  line: number;
  code: string;
  /** The module's file name, for blocks that name one. */
  file: string | undefined;
}

function examples(document: string): Example[] {
  const text = readFileSync(join(root, document), "utf8");
  const found: Example[] = [];
  const fence = /^```ts([^\n]*)\n([\s\S]*?)^```$/gm;
  for (let match = fence.exec(text); match; match = fence.exec(text)) {
    const info = (match[1] ?? "").trim();
    if (info === "excerpt") continue;
    const line = text.slice(0, match.index).split("\n").length;
    const file = /^file=([\w.-]+\.ts)$/.exec(info)?.[1];
    if (info && !file) throw new Error(`${document}:${line}: unknown fence "ts ${info}"`);
    found.push({ document, line, code: match[2] ?? "", file });
  }
  return found;
}

it("every TypeScript example in the docs compiles", () => {
  const dir = join(root, "packages/contracts/out-tsc/doc-examples");
  rmSync(dir, { recursive: true, force: true });
  const files = documents.flatMap((document, d) => {
    // One directory per document, so its blocks can import each other by name.
    const documentDir = join(dir, `document-${d}`);
    mkdirSync(documentDir, { recursive: true });
    return examples(document).map((example, i) => {
      const file = join(documentDir, example.file ?? `example-${i}.ts`);
      writeFileSync(file, `${example.code}\nexport {};\n`);
      return { file, example };
    });
  });
  expect(files.length).toBeGreaterThan(5);
  const base = ts.readConfigFile(join(root, "tsconfig.base.json"), (path) => ts.sys.readFile(path));
  const { options } = ts.parseJsonConfigFileContent(base.config, ts.sys, root);
  const program = ts.createProgram(
    files.map((f) => f.file),
    {
      ...options,
      noEmit: true,
      composite: false,
      declaration: false,
      declarationMap: false,
      noUnusedLocals: false,
    },
  );
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && d.file.fileName.startsWith(dir))
    .map((d) => {
      const source = files.find((f) => f.file === d.file?.fileName);
      const { line } = d.file?.getLineAndCharacterOfPosition(d.start ?? 0) ?? { line: 0 };
      const where = source
        ? `${source.example.document}:${source.example.line + line + 1}`
        : relative(root, d.file?.fileName ?? "");
      return `${where}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    });
  expect(problems).toEqual([]);
});
