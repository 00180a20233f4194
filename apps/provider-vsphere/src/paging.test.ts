import { describe, expect, it } from "@jest/globals";
import { pageTokenAfter } from "@virtrigaud/contracts";
import { pageByName } from "./paging.js";

const named = (...names: string[]) => names.map((name) => ({ name }));

describe("pageByName", () => {
  const vms = named("web-3", "db-1", "web-1", "web-2", "web-10");

  it("pages the names with the prefix in name order, the token continuing after the last", () => {
    const first = pageByName(vms, { namePrefix: "web-", pageSize: 2 }, "");
    expect(first.page.map((v) => v.name)).toEqual(["web-1", "web-10"]);
    const second = pageByName(
      vms,
      { namePrefix: "web-", pageSize: 2 },
      pageTokenAfter(first.nextPageToken),
    );
    expect(second.page.map((v) => v.name)).toEqual(["web-2", "web-3"]);
    expect(second.nextPageToken).toBe("");
  });

  it("takes 100 a page when the request says 0", () => {
    const many = named(
      ...Array.from({ length: 101 }, (_, i) => `vm-${String(i).padStart(3, "0")}`),
    );
    const { page, nextPageToken } = pageByName(many, { namePrefix: "", pageSize: 0 }, "");
    expect(page).toHaveLength(100);
    expect(pageTokenAfter(nextPageToken)).toBe("vm-099");
  });
});
