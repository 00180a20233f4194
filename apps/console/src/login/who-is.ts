import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ManagerService, type WhoAmIResponse } from "@virtrigaud/proto/manager";

/**
 * Who the manager takes the bearer of `token` for (WhoAmI with it): asked
 * before the console keeps a token, so a refused one is never kept.
 *
 * @throws ConnectError as the manager answered (UNAUTHENTICATED for a token it refuses).
 */
export async function whoIs(token: string): Promise<WhoAmIResponse> {
  const client = createClient(
    ManagerService,
    createConnectTransport({ baseUrl: window.location.origin, useBinaryFormat: true }),
  );
  return client.whoAmI({}, { headers: { authorization: `Bearer ${token}` } });
}
