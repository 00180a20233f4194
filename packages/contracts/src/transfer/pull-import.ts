import { type IncomingMessage, Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { create } from "@bufbuild/protobuf";
import { type DiskChunk, DiskChunkSchema, type DiskShare } from "@virtrigaud/proto";
import { ProviderError } from "../errors/provider-error.js";
import { type ByteRange, afterChunkFailure, nextRange } from "../disks/chunk-plan.js";
import { runPool } from "../disks/work-pool.js";
import { errorOfRefusal, maxRangeBytes, rangeHeader, rangeUrl } from "./range-protocol.js";

/** Where a pull stands, after every range the import accepted. */
interface PullProgress {
  /** The import's durable prefix (DiskImportWrite's received_bytes). */
  readonly verifiedBytes: number;
  /** The export's length. */
  readonly totalBytes: number;
  /** Bytes written in this pull, ranges read again included. */
  readonly writtenBytes: number;
}

/** Options of `pullImport`. */
export interface PullImportOptions {
  /** The shared export (DiskExportShare's answer). */
  share: DiskShare;
  /** PEM CAs that sign the source's certificate; default the system's roots. */
  caPem?: string | undefined;
  /** Allow a plaintext http URL (a test server on loopback). */
  allowPlaintext: boolean;
  /** Where to start: the import's received_bytes. */
  offset: number;
  /** The file's length. */
  sizeBytes: number;
  /** Writes a chunk into the import (DiskImportWrite) and answers its received_bytes. */
  write: (chunk: DiskChunk, signal: AbortSignal) => Promise<number>;
  signal: AbortSignal;
  /** Ranges read and written at once. Default: 4. */
  concurrency?: number;
  /** Tries of one range in all when it arrives damaged. Default: 3. */
  maxChunkAttempts?: number;
  onProgress?: (progress: PullProgress) => void;
}

/** What a pull did. */
export interface PullResult {
  sizeBytes: number;
  /** The import's durable prefix at the end: the whole file unless the import keeps less. */
  verifiedBytes: number;
  writtenBytes: number;
  /** Ranges read again because they arrived damaged. */
  rereadRanges: number;
}

/**
 * Fills an import from a shared export: reads the ranges from `offset` to
 * the end over HTTP/1.1 keep-alive connections, `concurrency` at a time,
 * and writes each through `write`, which checks its SHA-256. A range that
 * arrives damaged (`write` refuses it with DATA_LOSS, or it is not the
 * range asked for) is read again; any other failure ends the pull once the
 * ranges in flight have settled, and a new pull resumes from the import's
 * received_bytes.
 *
 * @throws ProviderError as the source refused (UNAUTHENTICATED for a
 * ticket that expired, NOT_FOUND for an export that ended), UNAVAILABLE
 * when it cannot be reached, INVALID_SPEC (`source.url`) for a plaintext
 * URL where TLS is required, CANCELED when `signal` aborts, or what
 * `write` threw.
 */
export async function pullImport(options: PullImportOptions): Promise<PullResult> {
  const url = new URL(options.share.url);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && options.allowPlaintext))
    throw ProviderError.invalidSpec("source.url", "must be an https URL");
  const concurrency = options.concurrency ?? 4;
  const maxChunkAttempts = options.maxChunkAttempts ?? 3;
  const agent =
    url.protocol === "https:"
      ? new HttpsAgent({
          keepAlive: true,
          maxSockets: concurrency,
          ...(options.caPem ? { ca: options.caPem } : {}),
        })
      : new HttpAgent({ keepAlive: true, maxSockets: concurrency });
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal.reason);
  options.signal.addEventListener("abort", onAbort, { once: true });
  if (options.signal.aborted) onAbort();

  const { sizeBytes } = options;
  const state = { verifiedBytes: options.offset, writtenBytes: 0, rereadRanges: 0 };
  const fetchRange = (range: ByteRange) =>
    getRange(
      url.protocol === "https:" ? httpsRequest : httpRequest,
      agent,
      options,
      range,
      stop.signal,
    );

  /** Reads and writes one range, reading it again while it arrives damaged. */
  const move = async (range: ByteRange): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const chunk = await fetchRange(range);
        const received = await options.write(chunk, stop.signal);
        state.writtenBytes += range.length;
        state.verifiedBytes = Math.max(state.verifiedBytes, received);
        options.onProgress?.({
          verifiedBytes: state.verifiedBytes,
          totalBytes: sizeBytes,
          writtenBytes: state.writtenBytes,
        });
        return;
      } catch (thrown) {
        const error = ProviderError.from(thrown);
        if (stop.signal.aborted || afterChunkFailure(error, attempt, maxChunkAttempts) === "fail")
          throw error;
        state.rereadRanges++;
      }
    }
  };

  try {
    let cursor = options.offset;
    const failed = await runPool(
      concurrency,
      stop,
      () => {
        const range = nextRange(cursor, sizeBytes, maxRangeBytes);
        if (range) cursor = range.offset + range.length;
        return range;
      },
      move,
    );
    options.signal.throwIfAborted();
    if (failed) throw failed;
    return { sizeBytes, ...state };
  } catch (thrown) {
    throw options.signal.aborted
      ? ProviderError.canceled("the pull was stopped")
      : ProviderError.from(thrown);
  } finally {
    options.signal.removeEventListener("abort", onAbort);
    agent.destroy();
  }
}

type RequestFunction = typeof httpRequest;

/**
 * GETs one range. The body is gathered into one buffer of the length the
 * headers announce.
 *
 * @throws ProviderError DATA_LOSS for an answer that is not the range asked
 * for (so that it is read again), the source's refusal, or UNAVAILABLE.
 */
function getRange(
  request: RequestFunction,
  agent: HttpAgent,
  options: PullImportOptions,
  range: ByteRange,
  signal: AbortSignal,
): Promise<DiskChunk> {
  const target = rangeUrl(options.share.url, range.offset, range.length);
  return new Promise<DiskChunk>((resolve, reject) => {
    const req = request(
      target,
      { agent, signal, headers: { authorization: `Bearer ${options.share.ticket}` } },
      (res) => {
        readBody(res).then((body) => {
          const status = res.statusCode ?? 0;
          const header = (name: string) => {
            const value = res.headers[name];
            return typeof value === "string" ? value : undefined;
          };
          if (status !== 200) {
            reject(errorOfRefusal(status, header, body.toString("utf8")));
            return;
          }
          const chunk = chunkOfAnswer(range, body, header);
          if (chunk instanceof ProviderError) reject(chunk);
          else resolve(chunk);
        }, reject);
      },
    );
    req.on("error", (err) => {
      reject(
        signal.aborted
          ? ProviderError.canceled("the pull was stopped")
          : ProviderError.unavailable(
              `the source at ${target.host} did not answer: ${err.message}`,
              {
                cause: err,
              },
            ),
      );
    });
    req.end();
  });
}

/** The chunk an answer carries, or why it is not the range asked for (DATA_LOSS: read it again). */
function chunkOfAnswer(
  range: ByteRange,
  body: Buffer,
  header: (name: string) => string | undefined,
): DiskChunk | ProviderError {
  const offset = Number(header(rangeHeader.offset));
  const length = Number(header(rangeHeader.length));
  const zero = header(rangeHeader.zero) === "1";
  if (offset !== range.offset || length !== range.length || (!zero && body.length !== length))
    return ProviderError.dataLoss(
      `the source answered ${body.length} bytes at ${offset} for ${range.length} at ${range.offset}`,
    );
  return create(DiskChunkSchema, {
    offset: BigInt(offset),
    content: zero
      ? { case: "zeroLength", value: BigInt(length) }
      : { case: "data", value: new Uint8Array(body.buffer, body.byteOffset, body.length) },
    sha256: header(rangeHeader.sha256) ?? "",
  });
}

/**
 * The whole body, gathered into one buffer of the length announced (the
 * source always announces it; Node's parser delivers no more than that).
 */
function readBody(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const announced = Number(res.headers["content-length"] ?? NaN);
    if (!Number.isSafeInteger(announced) || announced > maxRangeBytes + 65536) {
      res.resume();
      reject(ProviderError.dataLoss("the source's answer has no usable content-length"));
      return;
    }
    const whole = Buffer.allocUnsafe(announced);
    let at = 0;
    res.on("data", (part: Buffer) => {
      at += part.copy(whole, at);
    });
    res.once("end", () =>
      at === announced
        ? resolve(whole)
        : reject(ProviderError.unavailable("the source's answer broke off")),
    );
    res.once("error", (err) =>
      reject(
        ProviderError.unavailable(`the source's answer broke off: ${err.message}`, { cause: err }),
      ),
    );
  });
}
