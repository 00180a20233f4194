import { expect, it } from "@jest/globals";
import { planMove } from "./adopt-imported.js";

it.each([
  [["2049", "2049"], "rename"],
  [["2049", "45"], "copy"],
  // stat answered less than asked: copying is always right.
  [["2049"], "copy"],
  [[], "copy"],
] as const)("moves a volume on file systems %j by a %s", (devices, kind) => {
  expect(planMove(devices)).toBe(kind);
});
