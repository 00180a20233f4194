import type { PeerCertificate } from "node:tls";
import type { Interceptor } from "@connectrpc/connect";
import { ProviderError } from "@virtrigaud/contracts";
import { peerOf } from "@virtrigaud/contracts/server";
import { type Identity, anonymousName, identityKey } from "./identity.js";
import type { OidcVerifier } from "./oidc.js";
import type { TokenFileWatch } from "./token-file-watch.js";

/** The ways callers may prove who they are; none set means authentication is off. */
export interface Authenticators {
  tokens?: TokenFileWatch | undefined;
  oidc?: OidcVerifier | undefined;
  /** Mutual TLS is on (--tls-client-ca): a verified client certificate names its holder. */
  clientCertificates?: boolean | undefined;
}

/** Whether any way of authenticating is configured. */
export function authenticationOn(authenticators: Authenticators): boolean {
  return Boolean(authenticators.tokens || authenticators.oidc || authenticators.clientCertificates);
}

/** Every caller, with authentication off (loopback only): an administrator. */
export const anonymousIdentity: Identity = { name: anonymousName, groups: [], method: "anonymous" };

const jwtShape = /^[\w-]+\.[\w-]+\.[\w-]+$/;

function listOf(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** A client certificate's identity, as Kubernetes reads one: CN the user, each O a group. */
function certificateIdentity(certificate: PeerCertificate): Identity | undefined {
  const name = listOf(certificate.subject.CN)[0];
  if (!name) return undefined;
  return { name, groups: listOf(certificate.subject.O), method: "certificate" };
}

/** The subject a refused JWT claims, marked unverified, for the audit; anonymous when unreadable. */
function claimedIdentity(oidc: OidcVerifier, token: string): Identity {
  const name = oidc.claimedName(token);
  return name
    ? { name, groups: [], method: "oidc", unverified: true }
    : { ...anonymousIdentity, unverified: true };
}

/**
 * Finds who a call comes from, and puts the identity in its context values
 * (identityKey) before anything can refuse the call, so observers (the
 * audit) see it even for refused calls. A bearer token is tried first: a
 * JWT against OIDC when configured, any other token against the token file;
 * then a verified client certificate. With authentication off, every caller
 * is `anonymous`.
 *
 * @throws ProviderError UNAUTHENTICATED for no credentials or refused ones
 * (the token itself never appears in the message).
 */
export function createAuthenticationInterceptor(authenticators: Authenticators): Interceptor {
  const on = authenticationOn(authenticators);
  const identify = async (
    header: Headers,
    certificate: () => PeerCertificate | undefined,
  ): Promise<Identity | Refusal> => {
    const authorization = header.get("authorization");
    if (authorization !== null) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match)
        return refusal(anonymousIdentity, "the authorization header must be Bearer TOKEN");
      const token = match[1] as string;
      if (authenticators.oidc && jwtShape.test(token)) {
        try {
          const { name, groups } = await authenticators.oidc.verify(token);
          return { name, groups, method: "oidc" };
        } catch (err) {
          return refusal(
            claimedIdentity(authenticators.oidc, token),
            `the OIDC token is refused: ${(err as Error).message}`,
          );
        }
      }
      const holder = authenticators.tokens?.holderOf(token);
      if (!holder)
        return refusal(
          anonymousIdentity,
          "the bearer token is not known (revoked or never issued)",
        );
      return { name: holder.name, groups: holder.groups, method: "token" };
    }
    const peer = authenticators.clientCertificates ? certificate() : undefined;
    if (peer) {
      return (
        certificateIdentity(peer) ??
        refusal(anonymousIdentity, "the client certificate has no subject CN to name its user")
      );
    }
    return refusal(
      anonymousIdentity,
      "no credentials: send a bearer token (vrtg --token) or a client certificate",
    );
  };
  return (next) => async (req) => {
    if (!on) {
      req.contextValues.set(identityKey, anonymousIdentity);
      return next(req);
    }
    const found = await identify(req.header, () => peerOf(req.contextValues)?.certificate);
    if ("refused" in found) {
      req.contextValues.set(identityKey, found.refused);
      throw ProviderError.unauthenticated(found.message);
    }
    req.contextValues.set(identityKey, found);
    return next(req);
  };
}

/** Why a call's credentials are refused, and who it claimed to be. */
interface Refusal {
  refused: Identity;
  message: string;
}

function refusal(refused: Identity, message: string): Refusal {
  return { refused, message };
}
