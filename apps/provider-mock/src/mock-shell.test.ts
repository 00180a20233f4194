import { expect, it } from "@jest/globals";
import { createMockShell } from "./mock-shell.js";

it.each([
  ["echo hello world\r", "echo hello world\r\nhello world\r\nvm-a$ "],
  ["hostname\n", "hostname\r\nvm-a\r\nvm-a$ "],
  ["ls\r", "ls\r\nls: command not found\r\nvm-a$ "],
  ["\r", "\r\nvm-a$ "],
  ["ecx\x7fho hi\r", "ecx\b \bho hi\r\nhi\r\nvm-a$ "],
])("answers %j with %j", (typed, shown) => {
  expect(createMockShell("vm-a").feed(typed)).toBe(shown);
});

it("keeps a line typed across several inputs", () => {
  const shell = createMockShell("vm-a");
  expect(shell.greeting).toBe("mock serial console of vm-a\r\nvm-a$ ");
  shell.feed("ec");
  expect(shell.feed("ho x\r")).toBe("ho x\r\nx\r\nvm-a$ ");
});

it("answers stty size with the terminal's last size, rows first, as stty does", () => {
  const shell = createMockShell("vm-a");
  expect(shell.feed("stty size\r")).toBe("stty size\r\n0 0\r\nvm-a$ ");
  shell.resize(120, 40);
  shell.resize(100, 30);
  expect(shell.feed("stty size\r")).toBe("stty size\r\n30 100\r\nvm-a$ ");
});
