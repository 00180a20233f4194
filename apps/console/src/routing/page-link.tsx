import type { ReactNode } from "react";
import { type Route, pathOf } from "./route";

/**
 * A link to a page of the console: a real href (opens in a new tab, copies)
 * that a plain click follows without a reload.
 */
export function PageLink({
  to,
  go,
  children,
  current,
}: {
  to: Route;
  go: (route: Route) => void;
  children: ReactNode;
  current?: boolean;
}) {
  return (
    <a
      href={pathOf(to)}
      aria-current={current ? "page" : undefined}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        go(to);
      }}
    >
      {children}
    </a>
  );
}
