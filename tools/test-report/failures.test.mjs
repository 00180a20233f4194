import assert from "node:assert/strict";
import { test } from "node:test";
import { failuresIn, report } from "./failures.mjs";

const esc = "\x1b";
// Shaped like nx's stream output of a jest run with FORCE_COLOR: a project
// prefix on every line, colours, the failure once after its file and again,
// cut to the terminal's width, in jest's closing summary.
const log = [
  `${esc}[36m@virtrigaud/manager:${esc}[39m ${esc}[1m${esc}[31m FAIL ${esc}[39m test/limits.test.ts (103 s)`,
  `@virtrigaud/manager:   ● Console`,
  `@virtrigaud/manager:     console.log`,
  `@virtrigaud/manager:       hello`,
  `@virtrigaud/manager:   ${esc}[1m● watches whose clients fall behind › vrtg get -w carries on through it${esc}[22m`,
  `@virtrigaud/manager: `,
  `@virtrigaud/manager:     timed out waiting for condition`,
  `@virtrigaud/manager:       at eventually (test/processes.ts:180:13)`,
  `@virtrigaud/manager:  PASS  test/other.test.ts`,
  `@virtrigaud/manager: Summary of all failing tests`,
  `@virtrigaud/manager:  FAIL  test/limits.test.ts (103 s)`,
  `@virtrigaud/manager:   ● watches whose clients fall behind › vrtg get -w carr`,
  `@virtrigaud/manager:     timed out waiting for condition`,
  `@virtrigaud/manager: Tests:       1 failed, 788 passed, 789 total`,
  `@virtrigaud/console:  FAIL  test/console.test.ts`,
  `@virtrigaud/console:   ● logs in`,
  `@virtrigaud/console:     expected a row`,
].join("\n");

test("finds each failing test once, with its project and the lines of its error", () => {
  assert.deepEqual(failuresIn(log), [
    {
      project: "@virtrigaud/manager",
      title: "watches whose clients fall behind › vrtg get -w carries on through it",
      lines: [
        "    timed out waiting for condition",
        "      at eventually (test/processes.ts:180:13)",
      ],
    },
    { project: "@virtrigaud/console", title: "logs in", lines: ["    expected a row"] },
  ]);
});

test("keeps no more lines of an error than asked", () => {
  assert.deepEqual(failuresIn(log, 1)[0]?.lines, ["    timed out waiting for condition"]);
});

test("the report names every failure and details the first ones", () => {
  const text = report(failuresIn(log), 1);
  assert.match(text, /^2 failing test\(s\):/);
  assert.match(
    text,
    /@virtrigaud\/manager: ● watches whose clients fall behind › vrtg get -w carries on through it\n {8}timed out/,
  );
  assert.match(text, /@virtrigaud\/console: ● logs in\n$/);
});

test("a log without failures says so instead of printing nothing", () => {
  assert.match(
    report(failuresIn("@virtrigaud/manager:  PASS  test/a.test.ts\n")),
    /No failing test/,
  );
});
