import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ManagerService } from "@virtrigaud/proto/manager";
import { useState } from "react";

/**
 * Asks for a bearer token (a line of the manager's --token-file) and keeps it
 * only when the manager accepts it: WhoAmI answers with the caller's name.
 */
export function LoginPage({ onLogin }: { onLogin: (token: string) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    const client = createClient(
      ManagerService,
      createConnectTransport({ baseUrl: window.location.origin, useBinaryFormat: true }),
    );
    try {
      await client.whoAmI({}, { headers: { authorization: `Bearer ${token.trim()}` } });
      onLogin(token.trim());
    } catch (err) {
      setError(ConnectError.from(err).rawMessage);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="login"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2>Log in</h2>
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
  );
}
