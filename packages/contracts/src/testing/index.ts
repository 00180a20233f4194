/**
 * Test helpers for providers and their callers: a fake clock so tests
 * never sleep, and a server on a free loopback port with a client for it.
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
