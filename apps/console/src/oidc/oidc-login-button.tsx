import { useState } from "react";
import type { OidcLoginConfig } from "./oidc-login-config";
import { loginFailureText } from "./oidc-login-error";
import { consolePathOr } from "./pending-login";

/** How the issuer is named on the button: its host and path ("id.example.com/realms/ops"). */
function issuerLabel(issuer: string): string {
  const url = new URL(issuer);
  return `${url.host}${url.pathname}`.replace(/\/$/, "");
}

/** "Log in with ISSUER": sends the browser to the issuer, back to this page once logged in. */
export function OidcLoginButton({ config }: { config: OidcLoginConfig }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const start = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const { startOidcLogin } = await import("./oidc-flow");
      const returnTo = consolePathOr(window.location.pathname);
      window.location.assign(await startOidcLogin(config, returnTo));
    } catch (err) {
      setError(loginFailureText(err));
      setBusy(false);
    }
  };
  return (
    <div className="oidc-login">
      <button type="button" disabled={busy} onClick={() => void start()}>
        Log in with {issuerLabel(config.issuer)}
      </button>
      {error && <p className="error">{error}</p>}
    </div>
  );
}
