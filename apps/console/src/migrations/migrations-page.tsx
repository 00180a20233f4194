import { Kind, MigrationPhaseSchema } from "@virtrigaud/proto/manager";
import { enumWord } from "../format/enum-word";
import { PageLink } from "../routing/page-link";
import type { Route } from "../routing/route";
import { resourceKey } from "../watch/watched-resources";
import { useWatchedResources } from "../watch/use-watched-resources";
import { migrationProgress } from "./migration-progress";
import { ProgressBar } from "./progress-bar";

/** Every VMMigration the caller may see, live from the manager's Watch, with its phase and progress. */
export function MigrationsPage({ go }: { go: (route: Route) => void }) {
  const { items, loaded, error } = useWatchedResources(Kind.VM_MIGRATION, "vmMigration");
  const migrations = [...items].sort((a, b) => resourceKey(a).localeCompare(resourceKey(b)));
  return (
    <section className="migrations">
      <h2>Migrations</h2>
      {error && <p className="error">{error}</p>}
      {loaded && migrations.length === 0 && <p>No migrations.</p>}
      {migrations.length > 0 && (
        <table aria-label="migrations">
          <thead>
            <tr>
              <th>Migration</th>
              <th>VM</th>
              <th>To</th>
              <th>Phase</th>
              <th>Progress</th>
            </tr>
          </thead>
          <tbody>
            {migrations.map((m) => {
              const namespace = m.metadata?.namespace ?? "";
              const name = m.metadata?.name ?? "";
              const target = m.spec?.target;
              return (
                <tr key={resourceKey(m)} data-migration={resourceKey(m)}>
                  <td>
                    <PageLink to={{ page: "migration", namespace, name }} go={go}>
                      {namespace}/{name}
                    </PageLink>
                  </td>
                  <td>{m.spec?.source?.vmRef?.name}</td>
                  <td>
                    {target?.name || m.spec?.source?.vmRef?.name} on {target?.providerRef?.name}
                  </td>
                  <td data-field="phase">{enumWord(MigrationPhaseSchema, m.status?.phase ?? 0)}</td>
                  <td>
                    <ProgressBar progress={migrationProgress(m)} label={`${name} progress`} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
