import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "@jest/globals";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { ProviderProcess } from "@virtrigaud/contracts/testing";
import { repoRoot, spawnMock } from "./spawn-mock.js";

// An independent gRPC implementation: grpc-js, with the contract loaded from
// the .proto files at run time rather than from our generated code.
type Unary = (
  request: object,
  callback: (error: grpc.ServiceError | null, response?: Record<string, unknown>) => void,
) => void;
type ProviderServiceClient = grpc.Client &
  Record<"Power" | "Create" | "Describe" | "GetCapabilities", Unary>;

let mock: ProviderProcess;
let client: ProviderServiceClient;

beforeAll(async () => {
  mock = await spawnMock(["--insecure"]);
  const definition = await protoLoader.load("virtrigaud/provider/v1/provider_service.proto", {
    includeDirs: [join(repoRoot, "proto")],
    enums: String,
    defaults: true,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    virtrigaud: {
      provider: {
        v1: {
          ProviderService: new (
            address: string,
            credentials: grpc.ChannelCredentials,
          ) => ProviderServiceClient;
        };
      };
    };
  };
  const address = new URL(mock.url).host;
  client = new loaded.virtrigaud.provider.v1.ProviderService(
    address,
    grpc.credentials.createInsecure(),
  );
});

afterAll(async () => {
  client.close();
  await mock.stop();
});

function call(method: "Power" | "Create" | "Describe" | "GetCapabilities", request: object) {
  return new Promise<{
    error: grpc.ServiceError | null;
    response: Record<string, unknown> | undefined;
  }>((resolve) => client[method](request, (error, response) => resolve({ error, response })));
}

it("answers NOT_FOUND for an unknown VM", async () => {
  const { error } = await call("Power", { vmId: "vm-404404", operation: "POWER_OPERATION_ON" });
  expect(error?.code).toBe(grpc.status.NOT_FOUND);
  expect(error?.details).toMatch(/vm-404404 does not exist/);
  // The typed detail travels in the standard trailer.
  expect(error?.metadata.get("grpc-status-details-bin")).toHaveLength(1);
});

it("answers INVALID_ARGUMENT naming the field for cpu 0", async () => {
  const { error } = await call("Create", { name: "interop", class: { cpu: 0, memoryMib: 512 } });
  expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
  // grpc-js decodes grpc-message with decodeURI, which leaves reserved characters
  // such as ":" percent-encoded; the spec allows any byte to be encoded.
  expect(decodeURIComponent(error?.details ?? "")).toBe("class.cpu: must be greater than 0");
});

it("serves a successful call to the same client", async () => {
  const { error, response } = await call("GetCapabilities", {});
  expect(error).toBeNull();
  expect(response?.["capabilities"]).toMatchObject({ providerType: "mock", snapshots: true });
  const missing = await call("Describe", { vmId: "vm-404404" });
  expect(missing.response).toMatchObject({ exists: false });
});
