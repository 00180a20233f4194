import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type UniversalServerResponse,
  createAsyncIterable,
  encodeEnvelope,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  errorFromJsonBytes,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { ErrorDetailSchema, ErrorReason } from "@virtrigaud/proto";
import { clip } from "../clip.js";
import { ProviderError } from "../errors/provider-error.js";
import { toConnectError } from "../errors/wire.js";

/**
 * What a failure to read a request means, when Connect's reading of it
 * failed: a body that does not decode is INTERNAL from Connect ("parse
 * binary: ..."), as if the server had failed, and one past readMaxBytes is
 * RESOURCE_EXHAUSTED, which clients retry. Both are the caller's mistake,
 * INVALID_SPEC; Connect's own INVALID_ARGUMENT (JSON that does not decode,
 * compression that does not inflate) keeps its reason with the echo of the
 * request shortened. Undefined for any other error.
 *
 * @param input the request's message type, to name it.
 */
export function readFailure(error: ConnectError, input?: DescMessage): ProviderError | undefined {
  // Errors of the harness carry an ErrorDetail; Connect's reading adds none.
  if (error.findDetails(ErrorDetailSchema).length) return undefined;
  const what = input ? `a ${input.typeName}` : "the method's request message";
  const invalid = (message: string) =>
    new ProviderError(ErrorReason.INVALID_SPEC, message, { cause: error });
  if (error.code === Code.Internal && error.rawMessage.startsWith("parse binary: "))
    return invalid(
      `the request body is not ${what} in protobuf binary: ${clip(error.rawMessage.slice(14), 200)}`,
    );
  if (error.code === Code.ResourceExhausted && error.rawMessage.includes("readMaxBytes")) {
    const limit = /readMaxBytes (\d+)/.exec(error.rawMessage)?.[1];
    const inflated = error.rawMessage.includes("after decompression") ? " once decompressed" : "";
    return invalid(
      `the request is larger${inflated} than this server accepts${limit ? ` (${limit} bytes)` : ""}`,
    );
  }
  if (error.code === Code.InvalidArgument) return invalid(clip(error.rawMessage, 500));
  return undefined;
}

/** `body` with its first chunk read: that chunk, and the whole body again. */
async function firstChunk(
  body: AsyncIterable<Uint8Array>,
): Promise<{ first: Uint8Array | undefined; body: AsyncIterable<Uint8Array> }> {
  const it = body[Symbol.asyncIterator]();
  const head = await it.next();
  const first = head.done ? undefined : head.value;
  return {
    first,
    body: {
      [Symbol.asyncIterator]: () => {
        let replayed = head.done === true;
        return {
          next: () => {
            if (replayed) return it.next();
            replayed = true;
            return Promise.resolve(head);
          },
          throw: (e: unknown) =>
            it.throw?.(e) ?? Promise.reject(e instanceof Error ? e : new Error(String(e))),
          return: (v?: unknown) => it.return?.(v) ?? Promise.resolve({ done: true, value: v }),
        };
      },
    },
  };
}

/**
 * A response of Connect's router, with a refusal of a request Connect could
 * not read (see `readFailure`) rewritten as INVALID_SPEC. For a unary call
 * Connect refuses such a request before any interceptor sees it, so the
 * harness's error mapping cannot; a stream's refusal reaches the
 * interceptors and is mapped there. Handles the three protocols: Connect's
 * JSON error body, gRPC's trailers and gRPC-Web's trailer frame. The
 * response comes back as it is, not in a promise, when there is no body to
 * look into: most calls then cost no promise hop here.
 */
export function withReadFailuresMapped(
  response: UniversalServerResponse,
  input: DescMessage,
): UniversalServerResponse | Promise<UniversalServerResponse> {
  const header = response.header ?? new Headers();
  const type = header.get("content-type") ?? "";
  if (response.trailer && type.startsWith("application/grpc") && !type.includes("grpc-web")) {
    const error = findTrailerError(response.trailer);
    const mapped = error && readFailure(error, input);
    if (mapped) setTrailerStatus(response.trailer, toConnectError(mapped));
    return response;
  }
  const connectError = response.status !== 200 && type === "application/json";
  const grpcWeb = type.startsWith("application/grpc-web");
  if ((!connectError && !grpcWeb) || header.has("content-encoding") || !response.body)
    return response;
  return mappedFromBody(response, header, connectError, input);
}

/** A Connect error body or a gRPC-Web refusal, mapped as `withReadFailuresMapped` says. */
async function mappedFromBody(
  response: UniversalServerResponse,
  header: Headers,
  connectError: boolean,
  input: DescMessage,
): Promise<UniversalServerResponse> {
  if (!response.body) return response;
  // Connect's error is its whole body; gRPC-Web's refusal before any message
  // is a lone trailer frame. A stream's first chunk is only looked at.
  const { first, body } = await firstChunk(response.body);
  const unchanged = { ...response, body };
  if (!first) return unchanged;
  if (connectError) {
    const error = errorFromJsonBytes(first, undefined, new ConnectError("", Code.Unknown));
    const mapped = readFailure(error, input);
    if (!mapped) return unchanged;
    const wire = toConnectError(mapped);
    const json = errorToJsonBytes(wire, undefined);
    header.set("content-length", String(json.byteLength));
    return {
      ...response,
      header,
      status: codeToHttpStatus(wire.code),
      body: createAsyncIterable([json]),
    };
  }
  if (first.byteLength < 5 || first[0] !== trailerFlag) return unchanged;
  const trailer = trailerParse(first.subarray(5));
  const error = findTrailerError(trailer);
  const mapped = error && readFailure(error, input);
  if (!mapped) return unchanged;
  setTrailerStatus(trailer, toConnectError(mapped));
  const frame = encodeEnvelope(trailerFlag, trailerSerialize(trailer));
  return { ...response, body: createAsyncIterable([frame]) };
}
