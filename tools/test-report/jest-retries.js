// Each jest project's setup after the framework: in CI (tools/test.sh sets
// VIRTRIGAUD_TEST_RETRIES) a failing test is run once more before it fails
// the run, as Playwright's CI default does, because the integration tests
// drive real daemons on a shared 2-core machine. It never hides a failure:
// jest prints the first attempt's error ("LOGGING RETRY ERRORS"), and
// tools/test-report/summary.mjs lists every retried test at the end of
// the run, passed or not. Outside CI a test gets one attempt.
import { jest } from "@jest/globals";

const retries = Number(process.env.VIRTRIGAUD_TEST_RETRIES ?? "0");
if (Number.isInteger(retries) && retries > 0) {
  jest.retryTimes(retries, { logErrorsBeforeRetry: true });
}
