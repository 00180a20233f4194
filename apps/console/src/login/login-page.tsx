import { ConnectError } from "@connectrpc/connect";
import { useState } from "react";
import { OidcLoginButton } from "../oidc/oidc-login-button";
import { useOidcLoginConfig } from "../oidc/use-oidc-login-config";
import { whoIs } from "./who-is";

/**
 * Asks for a bearer token (a line of the manager's --token-file) and keeps it
 * only when the manager accepts it: WhoAmI answers with the caller's name.
 * Beside it, when the manager offers one, the OIDC issuer's login.
 * `notice` says why the console asks again (a session that ended).
 */
export function LoginPage({
  onLogin,
  notice,
}: {
  onLogin: (token: string) => void;
  notice?: string | undefined;
}) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const oidc = useOidcLoginConfig();
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await whoIs(token.trim());
      onLogin(token.trim());
    } catch (err) {
      setError(ConnectError.from(err).rawMessage);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="login">
      <h2>Log in</h2>
      {notice && <p role="status">{notice}</p>}
      {oidc && (
        <>
          <OidcLoginButton config={oidc} />
          <p>or with a token:</p>
        </>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label>
          Token{" "}
          <input
            type="password"
            name="token"
            autoComplete="off"
            aria-label="token"
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
        </label>
        <button type="submit" disabled={busy || !token.trim()}>
          Log in
        </button>
        {error && <p className="error">The manager refused the token: {error}</p>}
      </form>
    </div>
  );
}
