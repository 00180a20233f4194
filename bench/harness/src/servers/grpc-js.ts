/**
 * The reference point outside Connect: an @grpc/grpc-js server whose
 * ProviderService definition is loaded from the .proto files at run time with
 * @grpc/proto-loader, answering Describe with the same message.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Server, ServerCredentials, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { announcePort, readResponseBytes } from "./ready-line.js";

// dist/servers/ -> the workspace's proto/ directory, the one wire contract.
const protoRoot = fileURLToPath(new URL("../../../../proto/", import.meta.url));
// proto-loader's own copies of the google/protobuf/*.proto files (descriptor.proto and friends).
const bundledGoogleProtos = dirname(
  dirname(
    dirname(
      createRequire(createRequire(import.meta.url).resolve("@grpc/proto-loader")).resolve(
        "protobufjs/google/protobuf/descriptor.proto",
      ),
    ),
  ),
);

const definition = loadSync("virtrigaud/provider/v1/provider_service.proto", {
  includeDirs: [protoRoot, bundledGoogleProtos],
  // Only the fields that are set, so a decode and re-encode gives the same bytes back.
  defaults: false,
  longs: String,
  enums: String,
  oneofs: true,
});
const service = definition["virtrigaud.provider.v1.ProviderService"];
if (!service || "format" in service) {
  throw new Error("virtrigaud.provider.v1.ProviderService is not a service in the loaded protos");
}
const describe = service["Describe"];
if (!describe) throw new Error("ProviderService has no Describe method");

// Decoded once into grpc-js's object form; grpc-js encodes it again on every call.
const response = describe.responseDeserialize(Buffer.from(readResponseBytes()));

const implementation: UntypedServiceImplementation = {
  Describe: (_call: unknown, callback: (error: null, value: unknown) => void) =>
    callback(null, response),
};
const server = new Server();
server.addService(service, implementation);
server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  announcePort(port);
});
