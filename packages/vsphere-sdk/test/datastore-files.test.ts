import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "@jest/globals";
import {
  type DatastoreFile,
  DatastoreFileError,
  createFinder,
  datastoreFileUrlPath,
  datastorePath,
  deleteDatastoreFile,
  makeDatastoreDirectory,
  openDatastoreFile,
  parseDatastorePath,
  readDatastoreFile,
  statDatastoreFile,
  uploadDatastoreFile,
  waitForTask,
} from "../src/index.js";
import { uniqueName, vcsimClient } from "../src/testing/index.js";

const client = vcsimClient();
afterAll(() => client.close());

describe("datastore paths", () => {
  it("escape every directory and the file name in the URL, and the names in the query", () => {
    expect(
      datastoreFileUrlPath({ datacenterPath: "f/DC 0", datastore: "ds&1", path: "a b/c#?%.vmdk" }),
    ).toBe("/folder/a%20b/c%23%3F%25.vmdk?dcPath=f%2FDC+0&dsName=ds%261");
  });

  it("split into datastore and path, and back", () => {
    expect(parseDatastorePath("[ds 1] a b/c.vmdk")).toEqual({
      datastore: "ds 1",
      path: "a b/c.vmdk",
    });
    expect(parseDatastorePath("[ds]")).toEqual({ datastore: "ds", path: "" });
    expect(parseDatastorePath("no brackets")).toBeUndefined();
    expect(datastorePath({ datastore: "ds 1", path: "a/b" })).toBe("[ds 1] a/b");
  });
});

describe("the datastore file service on vcsim", () => {
  it("stores a file under a name with metacharacters, reads ranges of it, and deletes its directory", async () => {
    const dc = await createFinder(client).datacenter();
    const dir = `${uniqueName("files")} &#?%[x]`;
    const file: DatastoreFile = {
      datacenterPath: dc.path,
      datastore: "LocalDS_0",
      path: `${dir}/data +1%.bin`,
    };
    await makeDatastoreDirectory(client, dc.ref, datastorePath({ ...file, path: dir }), true);
    const bytes = randomBytes(300_000);
    await uploadDatastoreFile(client, file, () => Readable.from([bytes]), bytes.length);

    const stat = await statDatastoreFile(client, file);
    expect(stat?.size).toBe(bytes.length);
    const part = await readDatastoreFile(client, file, { offset: 1000, length: 5000 });
    expect(part.data.equals(bytes.subarray(1000, 6000))).toBe(true);
    const tail = await readDatastoreFile(client, file, { offset: 299_990, length: 100 });
    expect(tail.data.equals(bytes.subarray(299_990))).toBe(true);
    const whole = await openDatastoreFile(client, file);
    const chunks: Buffer[] = [];
    for await (const chunk of whole.stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);

    await waitForTask(
      client,
      await deleteDatastoreFile(client, dc.ref, datastorePath({ ...file, path: dir })),
    );
    expect(await statDatastoreFile(client, file)).toBeUndefined();
    await expect(readDatastoreFile(client, file, { offset: 0, length: 1 })).rejects.toThrow(
      DatastoreFileError,
    );
  });
});
