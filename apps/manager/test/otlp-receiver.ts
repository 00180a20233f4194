import { type IncomingMessage, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** A span as an OTLP exporter sent it, with the service that sent it. */
export interface ReceivedSpan {
  /** The resource's service.name. */
  service: string;
  /** Hex, 32 characters. */
  traceId: string;
  /** Hex, 16 characters. */
  spanId: string;
  /** Hex, or "" for a root span. */
  parentSpanId: string;
  name: string;
  /** String, integer and boolean attributes, as strings. */
  attributes: Record<string, string>;
}

/** An OTLP/HTTP trace receiver on 127.0.0.1, for tests. */
export interface OtlpReceiver {
  /** The base URL to put in OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** Reads a message's fields, calling `field` for each; `field` must consume what it is given. */
function fields(bytes: Uint8Array, field: (no: number, type: WireType, r: BinaryReader) => void) {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, type] = r.tag();
    field(no, type, r);
  }
}

/** AnyValue: string_value 1, bool_value 2, int_value 3, double_value 4; the rest skipped. */
function anyValue(bytes: Uint8Array): string {
  let value = "";
  fields(bytes, (no, type, r) => {
    if (no === 1 && type === WireType.LengthDelimited) value = r.string();
    else if (no === 2 && type === WireType.Varint) value = String(r.bool());
    else if (no === 3 && type === WireType.Varint) value = String(r.int64());
    else if (no === 4 && type === WireType.Bit64) value = String(r.double());
    else r.skip(type);
  });
  return value;
}

/** KeyValue: key 1, value 2 (AnyValue). */
function keyValue(bytes: Uint8Array): [string, string] {
  let key = "";
  let value = "";
  fields(bytes, (no, type, r) => {
    if (no === 1 && type === WireType.LengthDelimited) key = r.string();
    else if (no === 2 && type === WireType.LengthDelimited) value = anyValue(r.bytes());
    else r.skip(type);
  });
  return [key, value];
}

/**
 * Decodes an ExportTraceServiceRequest by walking the wire format:
 * resource_spans 1 → { resource 1 → attributes 1, scope_spans 2 → spans 2 },
 * and a Span's trace_id 1, span_id 2, parent_span_id 4, name 5, attributes 9.
 */
export function decodeTraces(body: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  fields(body, (no, type, r) => {
    if (no !== 1 || type !== WireType.LengthDelimited) return void r.skip(type);
    let service = "";
    const spans: Array<Omit<ReceivedSpan, "service">> = [];
    fields(r.bytes(), (no2, type2, r2) => {
      if (no2 === 1 && type2 === WireType.LengthDelimited) {
        fields(r2.bytes(), (no3, type3, r3) => {
          if (no3 !== 1 || type3 !== WireType.LengthDelimited) return void r3.skip(type3);
          const [key, value] = keyValue(r3.bytes());
          if (key === "service.name") service = value;
        });
      } else if (no2 === 2 && type2 === WireType.LengthDelimited) {
        fields(r2.bytes(), (no3, type3, r3) => {
          if (no3 !== 2 || type3 !== WireType.LengthDelimited) return void r3.skip(type3);
          const span = { traceId: "", spanId: "", parentSpanId: "", name: "", attributes: {} };
          const attributes: Record<string, string> = {};
          fields(r3.bytes(), (no4, type4, r4) => {
            if (type4 !== WireType.LengthDelimited) return void r4.skip(type4);
            if (no4 === 1) span.traceId = hex(r4.bytes());
            else if (no4 === 2) span.spanId = hex(r4.bytes());
            else if (no4 === 4) span.parentSpanId = hex(r4.bytes());
            else if (no4 === 5) span.name = r4.string();
            else if (no4 === 9) {
              const [key, value] = keyValue(r4.bytes());
              attributes[key] = value;
            } else r4.skip(type4);
          });
          spans.push({ ...span, attributes });
        });
      } else r2.skip(type2);
    });
    for (const span of spans) out.push({ service, ...span });
  });
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body;
}

/**
 * Starts an OTLP/HTTP receiver (protobuf encoding, POST /v1/traces) on a
 * free port of 127.0.0.1 that keeps every span it is sent.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/v1/traces") {
      res.writeHead(404).end();
      return;
    }
    readBody(req).then(
      (body) => {
        spans.push(...decodeTraces(body));
        // An empty ExportTraceServiceResponse: every span accepted.
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      },
      () => res.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
