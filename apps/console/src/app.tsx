import { Code } from "@connectrpc/connect";
import { TransportProvider, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { ManagerService } from "@virtrigaud/proto/manager";
import { Suspense, lazy, useCallback, useMemo, useState } from "react";
import { createManagerTransport } from "./api/transport";
import { FleetPage } from "./fleet/fleet-page";
import { LoginPage } from "./login/login-page";
import { MigrationPage } from "./migrations/migration-page";
import { MigrationsPage } from "./migrations/migrations-page";
import { isOidcCallback } from "./oidc/callback-path";
import { OidcCallbackPage } from "./oidc/oidc-callback-page";
import { isIdTokenOf } from "./oidc/end-session";
import { useOidcLoginConfig } from "./oidc/use-oidc-login-config";
import { ProvidersPage } from "./providers/providers-page";
import { PageLink } from "./routing/page-link";
import { type Route } from "./routing/route";
import { useRoute } from "./routing/use-route";
import { forgetToken, readToken, saveToken } from "./session/token-store";
import { useLogoutAtExpiry } from "./session/use-logout-at-expiry";
import { VmPage } from "./vm/vm-page";

// The editor (CodeMirror, the YAML parser, the manifest codec) loads when its page is opened.
const ApplyPage = lazy(() => import("./apply/apply-page"));

function Page({ route, go }: { route: Route; go: (route: Route) => void }) {
  switch (route.page) {
    case "vm":
      return <VmPage key={`${route.namespace}/${route.name}`} {...route} go={go} />;
    case "providers":
      return <ProvidersPage />;
    case "apply":
      return (
        <Suspense fallback={<p>Loading the editor…</p>}>
          <ApplyPage go={go} />
        </Suspense>
      );
    case "migrations":
      return <MigrationsPage go={go} />;
    case "migration":
      return <MigrationPage key={`${route.namespace}/${route.name}`} {...route} go={go} />;
    case "fleet":
      return <FleetPage go={go} />;
  }
}

/**
 * Who the caller is decides what shows: a manager without authentication
 * answers WhoAmI for anyone ("anonymous"), one with it asks for a token first.
 */
function Signed({
  onLogout,
  onLogin,
  notice,
}: {
  onLogout: () => void;
  onLogin: (t: string) => void;
  notice: string | undefined;
}) {
  const me = useQuery(ManagerService.method.whoAmI, {}, { retry: false });
  const [route, go] = useRoute();
  if (me.error?.code === Code.Unauthenticated)
    return <LoginPage onLogin={onLogin} notice={notice} />;
  if (me.error)
    return <p className="error">The manager cannot be reached: {me.error.rawMessage}</p>;
  if (!me.data) return <p>Connecting…</p>;
  return (
    <>
      <header>
        <h1>VirtRigaud</h1>
        <nav aria-label="pages">
          <PageLink to={{ page: "fleet" }} go={go} current={route.page === "fleet"}>
            Fleet
          </PageLink>
          <PageLink to={{ page: "providers" }} go={go} current={route.page === "providers"}>
            Providers
          </PageLink>
          <PageLink
            to={{ page: "migrations" }}
            go={go}
            current={route.page === "migrations" || route.page === "migration"}
          >
            Migrations
          </PageLink>
          <PageLink to={{ page: "apply" }} go={go} current={route.page === "apply"}>
            Apply YAML
          </PageLink>
        </nav>
        <span className="who" data-testid="user">
          {me.data.name}
        </span>
        {(me.data.method === "token" || me.data.method === "oidc") && (
          <button onClick={onLogout}>Log out</button>
        )}
      </header>
      <main>
        <Page route={route} go={go} />
      </main>
    </>
  );
}

/** The console: the manager's API on this origin, with the tab's token. */
export function App() {
  const queryClient = useQueryClient();
  const [token, setToken] = useState(readToken);
  // Why the login page shows again, when the person did not log out.
  const [notice, setNotice] = useState<string>();
  const end = useCallback(
    (why?: string) => {
      forgetToken();
      setToken(undefined);
      setNotice(why);
      queryClient.clear();
    },
    [queryClient],
  );
  const oidc = useOidcLoginConfig();
  // An ID token's session at its issuer is ended there too, when the issuer
  // offers it: the token is forgotten here first, whatever the issuer does.
  const logout = useCallback(() => {
    end();
    if (!oidc || !token || !isIdTokenOf(token, oidc.issuer)) return;
    void import("./oidc/oidc-flow")
      .then(({ endSessionAt }) => endSessionAt(oidc, token))
      .then((url) => url && window.location.assign(url));
  }, [end, oidc, token]);
  const expire = useCallback(() => end("Your session has ended: log in again."), [end]);
  const login = useCallback(
    (next: string) => {
      saveToken(next);
      setToken(next);
      setNotice(undefined);
      queryClient.clear();
    },
    [queryClient],
  );
  useLogoutAtExpiry(token, expire);
  const transport = useMemo(() => createManagerTransport(() => token, expire), [token, expire]);
  if (!token && isOidcCallback(window.location.pathname))
    return <OidcCallbackPage onLogin={login} />;
  return (
    <TransportProvider transport={transport}>
      <Signed key={token ?? ""} onLogout={logout} onLogin={login} notice={notice} />
    </TransportProvider>
  );
}
