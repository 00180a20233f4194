import { generateKeyPairSync, randomBytes } from "node:crypto";
import { type RequestListener, type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";

/** A user the test issuer knows, by the login name typed on its page. */
export interface IssuerAccount {
  name: string;
  groups: string[];
}

/** A real OIDC issuer (panva's oidc-provider) on 127.0.0.1, for one public client. */
export interface TestIssuer {
  /** Its issuer URL, http://127.0.0.1:PORT. */
  url: string;
  /**
   * Serves the issuer for the public client `clientId`, which may send the
   * browser back to `redirectUri` only. Until then it answers 503: the
   * manager, which needs `url` to start, gives the redirect URI's port.
   */
  serve(clientId: string, redirectUri: string): void;
  stop(): Promise<void>;
}

/**
 * Starts the issuer's socket. Its login page (oidc-provider's own
 * interaction pages) takes any password for a login of `accounts`, then
 * asks for consent; the ID token carries the account's name and groups
 * (scopes profile and groups).
 */
export async function startTestIssuer(
  accounts: Record<string, IssuerAccount>,
): Promise<TestIssuer> {
  let handler: RequestListener | undefined;
  const server: Server = createServer((request, response) => {
    if (handler) handler(request, response);
    else response.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
    format: "jwk",
  });
  return {
    url,
    serve(clientId, redirectUri) {
      const provider = new Provider(url, {
        clients: [
          {
            client_id: clientId,
            // A public client: no secret; PKCE is required of it (oidc-provider's default for one).
            token_endpoint_auth_method: "none",
            redirect_uris: [redirectUri],
            // Where its RP-initiated logout comes back to: the console's first page.
            post_logout_redirect_uris: [new URL("/console/", redirectUri).toString()],
            grant_types: ["authorization_code"],
            response_types: ["code"],
          },
        ],
        pkce: { required: () => true },
        findAccount: (_ctx, id) => {
          const account = accounts[id];
          if (!account) return undefined;
          return {
            accountId: id,
            claims: () => ({ sub: id, name: account.name, groups: account.groups }),
          };
        },
        claims: { openid: ["sub"], profile: ["name"], groups: ["groups"] },
        // The claims of the scopes go in the ID token, where the manager reads them.
        conformIdTokenClaims: false,
        jwks: { keys: [{ ...signingKey, kid: "test-key", use: "sig", alg: "RS256" }] },
        cookies: { keys: [randomBytes(32).toString("base64url")] },
        // Chosen here rather than left to defaults that oidc-provider asks to be chosen.
        ttl: {
          Session: 3600,
          Grant: 3600,
          Interaction: 600,
          AuthorizationCode: 60,
          AccessToken: 3600,
          IdToken: 3600,
        },
        clientBasedCORS: (_ctx, origin) => origin === new URL(redirectUri).origin,
        features: { devInteractions: { enabled: true } },
      });
      const listener = provider.callback();
      handler = (request, response) => void listener(request, response);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
