import type { ReactNode } from "react";
import { PageLink } from "./page-link";
import type { Route } from "./route";

/**
 * The top of a resource's page: the way back to its list, its
 * namespace/name, a watch's error, and a line when the watch has loaded
 * and the resource is not there (never made, or deleted while open).
 */
export function ResourceHeading({
  back,
  backLabel,
  namespace,
  name,
  error,
  missing,
  go,
}: {
  back: Route;
  backLabel: string;
  namespace: string;
  name: string;
  error: string | undefined;
  /** Said when the watch has loaded without the resource; nothing otherwise. */
  missing: ReactNode;
  go: (route: Route) => void;
}) {
  return (
    <>
      <p>
        <PageLink to={back} go={go}>
          ← {backLabel}
        </PageLink>
      </p>
      <h2>
        {namespace}/{name}
      </h2>
      {error && <p className="error">{error}</p>}
      {missing && <p>{missing}</p>}
    </>
  );
}
