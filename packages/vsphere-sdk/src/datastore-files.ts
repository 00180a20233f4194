import type { Readable } from "node:stream";
import type { CallOptions, HttpAnswer, VimClient } from "./client/vim-client.js";
import type { ManagedObjectReference } from "./gen/vim-types.js";

// The datastore file service of vCenter and ESXi (`/folder/<path>?dcPath=&dsName=`):
// files on a datastore read and written over HTTP in the client's session.
// GET answers a file (or a byte range of it), HEAD its length, PUT stores a
// whole file. The FileManager's SOAP methods make and delete directories.

/** A file on a datastore. */
export interface DatastoreFile {
  /** The datacenter's inventory path, as the finder gives it: "DC0" or "folder/DC0". */
  datacenterPath: string;
  /** The datastore's name. */
  datastore: string;
  /** The file's path within the datastore, "/" between directories: "web-1/web-1.vmdk". */
  path: string;
}

/** What the datastore file service answered when it did not serve the request. */
export class DatastoreFileError extends Error {
  override name = "DatastoreFileError";
  constructor(
    /** The HTTP status: 404 for a file that is not there, 401 or 403 when refused. */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The file's datastore path, as vim25 writes it: "[datastore] dir/file.vmdk". */
export function datastorePath(file: Pick<DatastoreFile, "datastore" | "path">): string {
  return `[${file.datastore}] ${file.path}`;
}

/**
 * Splits a datastore path ("[datastore] dir/file.vmdk") into the datastore's
 * name and the path within it; undefined when it is not one.
 */
export function parseDatastorePath(text: string): { datastore: string; path: string } | undefined {
  const match = /^\[([^\]]*)\] ?(.*)$/s.exec(text);
  if (!match?.[1]) return undefined;
  return { datastore: match[1], path: match[2] ?? "" };
}

/**
 * The path and query of a file in the datastore file service: each directory
 * and the file name percent-encoded, the datacenter and datastore in the query.
 */
export function datastoreFileUrlPath(file: DatastoreFile): string {
  const path = file.path.split("/").filter(Boolean).map(encodeURIComponent).join("/");
  const query = new URLSearchParams({ dcPath: file.datacenterPath, dsName: file.datastore });
  return `/folder/${path}?${query.toString()}`;
}

function describe(file: DatastoreFile): string {
  return JSON.stringify(datastorePath(file));
}

async function failure(answer: HttpAnswer, file: DatastoreFile, what: string): Promise<never> {
  await answer.body.dump();
  const status = answer.status;
  const meaning =
    status === 404
      ? "there is no such file"
      : status === 401 || status === 403
        ? "the session may not do it"
        : `the server answered ${status}`;
  throw new DatastoreFileError(status, `${what} ${describe(file)}: ${meaning}`);
}

function header(answer: HttpAnswer, name: string): string | undefined {
  const value = answer.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A file's length and the time it last changed, as the server says. */
export interface DatastoreFileStat {
  size: number;
  /** The Last-Modified header, when the server sends one. */
  lastModified: string | undefined;
}

/**
 * The length and last change of a file, or undefined when it is not there.
 *
 * @throws DatastoreFileError for an answer other than 200 or 404, VimConnectionError
 * when the server cannot be reached.
 */
export async function statDatastoreFile(
  client: VimClient,
  file: DatastoreFile,
  options: CallOptions = {},
): Promise<DatastoreFileStat | undefined> {
  const answer = await client.httpRequest({
    method: "HEAD",
    path: datastoreFileUrlPath(file),
    signal: options.signal,
  });
  if (answer.status === 404) {
    await answer.body.dump();
    return undefined;
  }
  if (answer.status !== 200) return failure(answer, file, "cannot look at");
  await answer.body.dump();
  return {
    size: Number(header(answer, "content-length") ?? "0"),
    lastModified: header(answer, "last-modified"),
  };
}

/** Bytes of a datastore file and the Last-Modified the server sent with them. */
export interface DatastoreFileBytes {
  data: Buffer;
  lastModified: string | undefined;
}

/**
 * Reads `length` bytes of a file from `offset` (a Range request), fewer at
 * the end of the file.
 *
 * @throws DatastoreFileError when the file is not there (404) or the server
 * refuses, VimConnectionError when it cannot be reached.
 */
export async function readDatastoreFile(
  client: VimClient,
  file: DatastoreFile,
  range: { offset: number; length: number },
  options: CallOptions = {},
): Promise<DatastoreFileBytes> {
  if (range.length <= 0) return { data: Buffer.alloc(0), lastModified: undefined };
  const answer = await client.httpRequest({
    method: "GET",
    path: datastoreFileUrlPath(file),
    headers: { range: `bytes=${range.offset}-${range.offset + range.length - 1}` },
    signal: options.signal,
  });
  if (answer.status === 416) {
    await answer.body.dump();
    return { data: Buffer.alloc(0), lastModified: undefined };
  }
  if (answer.status !== 206 && answer.status !== 200) return failure(answer, file, "cannot read");
  let data = Buffer.from(await answer.body.arrayBuffer());
  // A server that ignores Range answers the whole file: take the range from it.
  if (answer.status === 200) data = data.subarray(range.offset, range.offset + range.length);
  return { data, lastModified: header(answer, "last-modified") };
}

/**
 * The whole file as a stream, with its length and last change. Read the
 * stream to its end or destroy it.
 *
 * @throws DatastoreFileError when the file is not there (404) or the server
 * refuses, VimConnectionError when it cannot be reached.
 */
export async function openDatastoreFile(
  client: VimClient,
  file: DatastoreFile,
  options: CallOptions = {},
): Promise<{ stream: Readable } & DatastoreFileStat> {
  const answer = await client.httpRequest({
    method: "GET",
    path: datastoreFileUrlPath(file),
    signal: options.signal,
  });
  if (answer.status !== 200) return failure(answer, file, "cannot read");
  return {
    stream: answer.body,
    size: Number(header(answer, "content-length") ?? "0"),
    lastModified: header(answer, "last-modified"),
  };
}

/**
 * Stores a whole file of `size` bytes (PUT with its Content-Length),
 * replacing one that is there. `body` is called again when the request is
 * sent again after a new login.
 *
 * @throws DatastoreFileError when the server refuses, VimConnectionError when
 * it cannot be reached.
 */
export async function uploadDatastoreFile(
  client: VimClient,
  file: DatastoreFile,
  body: () => Readable | Uint8Array | string,
  size: number,
  options: CallOptions = {},
): Promise<void> {
  const answer = await client.httpRequest({
    method: "PUT",
    path: datastoreFileUrlPath(file),
    headers: { "content-type": "application/octet-stream", "content-length": String(size) },
    body,
    signal: options.signal,
  });
  if (answer.status !== 200 && answer.status !== 201 && answer.status !== 204)
    return failure(answer, file, "cannot store");
  await answer.body.dump();
}

/**
 * FileManager.MakeDirectory: makes a datastore directory ("[ds] a/b"), and
 * its parents when asked.
 *
 * @throws FileAlreadyExistsError when it is there already.
 */
export async function makeDatastoreDirectory(
  client: VimClient,
  datacenter: ManagedObjectReference,
  name: string,
  createParentDirectories: boolean,
  options: CallOptions = {},
): Promise<void> {
  const { fileManager } = await client.serviceContent(options);
  if (!fileManager) throw new Error("the server has no file manager");
  await client.call(
    "MakeDirectory",
    fileManager,
    { name, datacenter, createParentDirectories },
    options,
  );
}

/**
 * FileManager.DeleteDatastoreFile_Task: deletes a datastore file or
 * directory ("[ds] a/b") with what it holds. The task fails with FileNotFound
 * when it is not there.
 */
export async function deleteDatastoreFile(
  client: VimClient,
  datacenter: ManagedObjectReference,
  name: string,
  options: CallOptions = {},
): Promise<ManagedObjectReference> {
  const { fileManager } = await client.serviceContent(options);
  if (!fileManager) throw new Error("the server has no file manager");
  return client.call("DeleteDatastoreFile_Task", fileManager, { name, datacenter }, options);
}
