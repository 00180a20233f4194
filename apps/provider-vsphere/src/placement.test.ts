import { describe, expect, it, jest } from "@jest/globals";
import { create } from "@bufbuild/protobuf";
import { PlacementSchema } from "@virtrigaud/contracts";
import type { ManagedObjectReference } from "@virtrigaud/vsphere-sdk";
import {
  type ResolvedPlacement,
  namesPlacement,
  relocateSpec,
  sourcePlacement,
} from "./placement.js";

const ref = (type: string, value: string): ManagedObjectReference => ({ type, value });
const defaults: ResolvedPlacement = {
  folder: ref("Folder", "group-v3"),
  pool: ref("ResourcePool", "resgroup-8"),
  host: ref("HostSystem", "host-21"),
  datastore: { ref: ref("Datastore", "datastore-11"), name: "LocalDS_0" },
};

describe("namesPlacement", () => {
  it("is true when any field names something", () => {
    expect(namesPlacement(create(PlacementSchema, { cluster: "DC0_C0" }))).toBe(true);
    expect(namesPlacement(create(PlacementSchema, { folder: "vm/web" }))).toBe(true);
  });

  it("is false without a placement, or with one that names nothing", () => {
    expect(namesPlacement(undefined)).toBe(false);
    expect(namesPlacement(create(PlacementSchema, {}))).toBe(false);
    expect(namesPlacement(create(PlacementSchema, { cluster: "", folder: "" }))).toBe(false);
  });
});

describe("sourcePlacement", () => {
  it("puts a clone in its source's folder and pool, leaving host and datastore to vSphere", async () => {
    const fallback = jest.fn(() => Promise.resolve(defaults));
    const source = { parent: ref("Folder", "group-v9"), resourcePool: ref("ResourcePool", "rp-4") };
    await expect(sourcePlacement(source, fallback)).resolves.toEqual({
      folder: source.parent,
      pool: source.resourcePool,
      host: undefined,
      datastore: undefined,
    });
    expect(fallback).not.toHaveBeenCalled();
  });

  it("takes the defaults for what the source has not", async () => {
    const fallback = jest.fn(() => Promise.resolve(defaults));
    await expect(
      sourcePlacement({ resourcePool: ref("ResourcePool", "rp-4") }, fallback),
    ).resolves.toMatchObject({ folder: defaults.folder, pool: ref("ResourcePool", "rp-4") });
    await expect(sourcePlacement({}, fallback)).resolves.toMatchObject({
      folder: defaults.folder,
      pool: defaults.pool,
    });
  });
});

describe("relocateSpec", () => {
  it("names the pool, and the host and datastore when chosen", () => {
    expect(relocateSpec(defaults)).toEqual({
      pool: defaults.pool,
      host: defaults.host,
      datastore: defaults.datastore?.ref,
    });
    expect(relocateSpec({ ...defaults, host: undefined, datastore: undefined })).toEqual({
      pool: defaults.pool,
    });
  });
});
