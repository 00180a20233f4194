import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "@jest/globals";
import { createMockProvider } from "./mock-provider.js";
import { checkSeedInventory, readSeedInventory } from "./seed-inventory.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function write(content: string): string {
  dir = mkdtempSync(join(tmpdir(), "seed-"));
  const file = join(dir, "inventory.json");
  writeFileSync(file, content);
  return file;
}

it("reads a valid inventory", () => {
  const file = write(
    JSON.stringify({
      templates: ["t"],
      vms: [{ name: "a", cpu: 2, disks: [{ name: "root", sizeGib: 5 }] }],
    }),
  );
  expect(readSeedInventory(file).vms?.[0]?.name).toBe("a");
});

it.each([
  ["not json", /Unexpected token|JSON/],
  ["[]", /an inventory is an object/],
  [JSON.stringify({ vms: [{ name: "bad name;" }] }), /vms\[0\]: name: must be 1 to 63/],
  [JSON.stringify({ vms: [{ name: "a", cpu: 0 }] }), /vms\[0\]: class\.cpu/],
  [JSON.stringify({ vms: [{ name: "a" }, { name: "a" }] }), /vms\[1\]: the name a is used twice/],
  [
    JSON.stringify({ vms: [{ name: "a", powerState: "asleep" }] }),
    /powerState must be on, off or suspended/,
  ],
  [JSON.stringify({ templates: [""] }), /"templates" must be a list of names/],
])("refuses %s, naming the file and entry", (content, message) => {
  const file = write(content);
  expect(() => readSeedInventory(file)).toThrow(message);
  expect(() => readSeedInventory(file)).toThrow(file);
});

it("checks an inventory given in code, root disk included", () => {
  expect(() =>
    checkSeedInventory({ vms: [{ name: "a", disks: [{ name: "root", sizeGib: 0 }] }] }),
  ).toThrow(/root disk needs a size of at least 1 GiB/);
  expect(() => createMockProvider({ inventory: { vms: [{ name: "no;pe" }] } })).toThrow(
    /vms\[0\]: name/,
  );
});
