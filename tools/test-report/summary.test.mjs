import assert from "node:assert/strict";
import { test } from "node:test";
import { report, reportedIn } from "./summary.mjs";

const esc = "\x1b";
// Shaped like nx's stream output of jest runs with FORCE_COLOR and retries: a
// project prefix on every line, colours, a retried test's first error, a
// failure once after its file and again, cut to the terminal's width, in
// jest's closing summary.
const log = [
  `@virtrigaud/manager: ${esc}[1m LOGGING RETRY ERRORS ${esc}[22m ${esc}[1mwatches a slow one${esc}[22m`,
  `@virtrigaud/manager: ${esc}[1m RETRY 1 ${esc}[22m`,
  `@virtrigaud/manager: `,
  `@virtrigaud/manager:     timed out waiting for the row`,
  `@virtrigaud/manager: `,
  `@virtrigaud/manager:  LOGGING RETRY ERRORS  watches whose clients fall behind vrtg get -w carries on through it`,
  `@virtrigaud/manager:  RETRY 1 `,
  `@virtrigaud/manager:     timed out waiting for condition`,
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
  assert.deepEqual(reportedIn(log).failed, [
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

test("finds the tests that passed only when retried, with the error of the attempt retried", () => {
  assert.deepEqual(reportedIn(log).retried, [
    {
      project: "@virtrigaud/manager",
      title: "watches a slow one",
      lines: ["    timed out waiting for the row"],
    },
  ]);
});

test("keeps no more lines of an error than asked", () => {
  assert.deepEqual(reportedIn(log, 1).failed[0]?.lines, ["    timed out waiting for condition"]);
});

test("the report names every failure and retry and details the first ones", () => {
  const text = report(reportedIn(log), { failedRun: true, max: 1 });
  assert.match(text, /^2 failing test\(s\):/);
  assert.match(
    text,
    /@virtrigaud\/manager: ● watches whose clients fall behind › vrtg get -w carries on through it\n {8}timed out/,
  );
  assert.match(text, /@virtrigaud\/console: ● logs in\n\n/);
  assert.match(
    text,
    /1 test\(s\) failed once and passed when retried \(flaky\):\n\n@virtrigaud\/manager: ● watches a slow one\n {8}timed out waiting for the row\n$/,
  );
});

test("a failed run whose log shows no failure says so; a clean run reports nothing", () => {
  const clean = "@virtrigaud/manager:  PASS  test/a.test.ts\n";
  assert.match(report(reportedIn(clean), { failedRun: true }), /No failing test/);
  assert.equal(report(reportedIn(clean), { failedRun: false }), "");
});
