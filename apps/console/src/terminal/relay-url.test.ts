import { expect, it } from "@jest/globals";
import { closedText, relayUrl } from "./relay-url";

it.each([
  ["http://127.0.0.1:9090", "ws://127.0.0.1:9090/console-relay/default/web-1?ticket=a%2Bb"],
  [
    "https://manager.example:9443",
    "wss://manager.example:9443/console-relay/default/web-1?ticket=a%2Bb",
  ],
])("takes the relay on the page's origin %s", (origin, url) => {
  expect(relayUrl(origin, "/console-relay/default/web-1", "a+b")).toBe(url);
});

it.each([
  [1000, "", "The console is closed."],
  [4408, "idle for 900 s", "The console was closed: idle for 900 s."],
  [4409, "vm web-1 is not running", "The console was closed: vm web-1 is not running."],
  [
    4401,
    "console ticket refused: expired",
    "The manager refused this console's ticket (expired): close the console and open it again.",
  ],
  [1006, "", "The console's connection to the manager failed."],
])("says why a console closed with %d", (code, reason, text) => {
  expect(closedText(code, reason)).toBe(text);
});
