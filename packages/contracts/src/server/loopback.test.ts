import { expect, it } from "@jest/globals";
import { isLoopbackHost } from "./loopback.js";

it.each([
  ["127.0.0.1", true],
  ["127.3.4.5", true],
  ["localhost", true],
  ["::1", true],
  ["::ffff:127.0.0.1", true],
  ["", false],
  ["0.0.0.0", false],
  ["::", false],
  ["10.0.0.1", false],
  ["127.example.com", false],
  ["localhost.example.com", false],
  ["::ffff:10.0.0.1", false],
])("%j is loopback: %s", (host, expected) => {
  expect(isLoopbackHost(host)).toBe(expected);
});
