import { ConnectError } from "@connectrpc/connect";
import { useEffect, useState } from "react";
import { whoIs } from "../login/who-is";
import { oidcCallbackPath } from "./callback-path";
import { OidcLoginError, loginFailureText } from "./oidc-login-error";

interface FinishedLogin {
  token: string;
  returnTo: string;
}

async function finishLogin(): Promise<FinishedLogin> {
  const callback = new URL(window.location.href);
  // The code leaves the address bar and the history at once: a reload does
  // not try it again, and nothing later on the page can read it there.
  window.history.replaceState(null, "", oidcCallbackPath);
  const { finishOidcLogin } = await import("./oidc-flow");
  const { idToken, returnTo } = await finishOidcLogin(callback);
  try {
    await whoIs(idToken);
  } catch (err) {
    throw new OidcLoginError(
      `The manager refused the issuer's ID token: ${ConnectError.from(err).rawMessage}`,
    );
  }
  return { token: idToken, returnTo };
}

// Once per page load: React's strict mode runs an effect twice in development,
// and an issuer's answer is good for one try only.
let finishing: Promise<FinishedLogin> | undefined;

/**
 * The page the issuer sends the browser back to: finishes the login this
 * tab started, keeps the ID token as the bearer token and goes back to the
 * page the login started from; says why when it cannot.
 */
export function OidcCallbackPage({ onLogin }: { onLogin: (token: string) => void }) {
  const [error, setError] = useState<string>();
  useEffect(() => {
    let live = true;
    finishing ??= finishLogin();
    finishing.then(
      ({ token, returnTo }) => {
        if (!live) return;
        window.history.replaceState(null, "", returnTo);
        onLogin(token);
      },
      (err: unknown) => {
        if (live) setError(loginFailureText(err));
      },
    );
    return () => {
      live = false;
    };
  }, [onLogin]);
  if (!error) return <p>Logging in…</p>;
  return (
    <div className="login">
      <h2>Log in</h2>
      <p className="error" role="alert">
        {error}
      </p>
      <a href="/console/">Back to the login</a>
    </div>
  );
}
