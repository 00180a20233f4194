/**
 * Test helpers for providers and their callers: a fake clock so tests
 * never sleep, a server on a free loopback port with a client for it, and
 * a count of the event loop's turns for work that must share them.
 *
 * @packageDocumentation
 */
export { createFakeClock, type FakeClock } from "./fake-clock.js";
export { startTestServer, type TestServer, type TestServerOptions } from "./start-test-server.js";
export {
  startProviderProcess,
  EarlyExit,
  type ProviderProcess,
  type ProviderProcessOptions,
} from "./start-provider-process.js";
export { busyFor, countTurns, freshTurn, type TurnCounter } from "./event-loop-turns.js";
