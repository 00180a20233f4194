/**
 * The baseline process: connect-node's adapter on a plain HTTP/2 server,
 * serving only ProviderService.Describe with a fixed answer. No interceptors,
 * no validation, no logging: what serving the contract costs before the
 * harness adds anything.
 */
import { createServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { fromBinary } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { DescribeResponseSchema, ProviderService } from "@virtrigaud/proto";
import { announcePort, readResponseBytes } from "./ready-line.js";

// Decoded once; connect-node still serializes it on every call, as the harness does.
const response = fromBinary(DescribeResponseSchema, readResponseBytes());

const handler = connectNodeAdapter({
  routes(router) {
    router.rpc(ProviderService.method.describe, () => response);
  },
});
const server = createServer(handler);
server.listen(0, "127.0.0.1", () => announcePort((server.address() as AddressInfo).port));
