import { type Client, createClient } from "@connectrpc/connect";
import {
  Http2SessionManager,
  createConnectTransport,
  createGrpcTransport,
} from "@connectrpc/connect-node";
import { type DescribeResponse, ProviderService } from "@virtrigaud/proto";

/** The wire protocols the load client speaks; grpc-js only understands "grpc". */
export type BenchProtocol = "grpc" | "connect";

/** The VM every Describe asks for: the first (and only) VM of the seed inventory. */
export const benchVmId = "vm-000001";

/** A ProviderService client on one HTTP/2 connection, and a way to close that connection. */
export interface DescribeClient {
  client: Client<typeof ProviderService>;
  close: () => void;
}

/**
 * The one client implementation every server is measured with: connect-node
 * over plaintext HTTP/2 (h2c), with no interceptors, so client-side cost is
 * the same whatever answers.
 */
export function createDescribeClient(baseUrl: string, protocol: BenchProtocol): DescribeClient {
  const sessionManager = new Http2SessionManager(baseUrl);
  const options = { baseUrl, httpVersion: "2" as const, sessionManager };
  const transport =
    protocol === "grpc" ? createGrpcTransport(options) : createConnectTransport(options);
  return { client: createClient(ProviderService, transport), close: () => sessionManager.abort() };
}

/**
 * One Describe of the bench VM on a fresh connection.
 *
 * @throws ConnectError when the server does not answer.
 */
export async function describeOnce(
  baseUrl: string,
  protocol: BenchProtocol,
): Promise<DescribeResponse> {
  const { client, close } = createDescribeClient(baseUrl, protocol);
  try {
    return await client.describe({ vmId: benchVmId }, { timeoutMs: 5000 });
  } finally {
    close();
  }
}
