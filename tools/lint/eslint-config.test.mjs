// The workspace's ESLint configuration, run through ESLint's API on fixtures.
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";

const repo = fileURLToPath(new URL("../../", import.meta.url));

// The fixtures live in no tsconfig project, so the rules that need types are off for them.
const eslint = new ESLint({
  cwd: repo,
  overrideConfig: [{ files: ["**/*.ts"], ...tseslint.configs.disableTypeChecked }],
});

/** The rules a TypeScript fixture in apps/manager/src breaks, with their lines. */
async function problems(code) {
  const [result] = await eslint.lintText(code, {
    filePath: `${repo}apps/manager/src/lint-fixture.ts`,
  });
  return result.messages.map((m) => `${m.line} ${m.ruleId ?? m.message}`);
}

test("a $typeName literal in an object is an error, quoted or not", async () => {
  const code = [
    'export const a = { $typeName: "virtrigaud.manager.v1.ObjectRef", name: "x" };',
    'export const b = { "$typeName": "virtrigaud.manager.v1.ObjectRef" };',
    'export const c = { outer: { inner: [{ $typeName: "virtrigaud.manager.v1.ObservedDisk" }] } };',
    "",
  ].join("\n");
  assert.deepEqual(await problems(code), [
    "1 no-restricted-syntax",
    "2 no-restricted-syntax",
    "3 no-restricted-syntax",
  ]);
});

test("reading, typing or destructuring $typeName is allowed", async () => {
  const code = [
    "export function name(m: { $typeName?: string }): string | undefined {",
    '  if (m.$typeName === "virtrigaud.manager.v1.ObjectRef") return "ref";',
    "  const { $typeName, ...rest } = m;",
    "  return $typeName ?? String(Object.keys(rest).length);",
    "}",
    "",
  ].join("\n");
  assert.deepEqual(await problems(code), []);
});

test("the message says what to use instead", async () => {
  const [result] = await eslint.lintText('export const a = { $typeName: "x" };\n', {
    filePath: `${repo}apps/manager/src/lint-fixture.ts`,
  });
  assert.match(result.messages[0]?.message ?? "", /create\(Schema, init\)/);
});

test("generated code is not linted", async () => {
  assert.equal(
    await eslint.isPathIgnored(`${repo}packages/proto/src/gen/virtrigaud/manager/v1/x_pb.ts`),
    true,
  );
});
