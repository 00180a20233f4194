import { useQuery } from "@tanstack/react-query";
import { type OidcLoginConfig, parseOidcLoginConfig } from "./oidc-login-config";

async function fetchOidcLoginConfig(): Promise<OidcLoginConfig | null> {
  const response = await fetch("/console/config.json", { headers: { accept: "application/json" } });
  // A console served without one (vite's dev server) offers the token form only.
  if (!response.ok) return null;
  return parseOidcLoginConfig(await response.json()) ?? null;
}

/** The OIDC login the manager offers (its /console/config.json); undefined while unknown or none. */
export function useOidcLoginConfig(): OidcLoginConfig | undefined {
  const config = useQuery({
    queryKey: ["virtrigaud-console-config"],
    queryFn: fetchOidcLoginConfig,
    staleTime: Infinity,
    retry: false,
  });
  return config.data ?? undefined;
}
