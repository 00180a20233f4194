import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { Kind, MigrationPhaseSchema } from "@virtrigaud/proto/manager";
import { formatBytes } from "../format/bytes";
import { ConditionsTable } from "../format/conditions-table";
import { enumWord } from "../format/enum-word";
import { PageLink } from "../routing/page-link";
import { ResourceHeading } from "../routing/resource-heading";
import type { Route } from "../routing/route";
import { useWatchedResources } from "../watch/use-watched-resources";
import { migrationProgress } from "./migration-progress";
import { ProgressBar } from "./progress-bar";

const when = (t: Timestamp | undefined) => (t ? timestampDate(t).toLocaleString() : "");

/** One VMMigration, live: its phase, message, progress, disks and conditions. */
export function MigrationPage({
  namespace,
  name,
  go,
}: {
  namespace: string;
  name: string;
  go: (route: Route) => void;
}) {
  const { items, loaded, error } = useWatchedResources(Kind.VM_MIGRATION, "vmMigration", namespace);
  const migration = items.find((m) => m.metadata?.name === name);
  const status = migration?.status;
  const targetVm = status?.targetVmRef?.name;
  return (
    <section className="migration">
      <ResourceHeading
        back={{ page: "migrations" }}
        backLabel="Migrations"
        namespace={namespace}
        name={name}
        error={error}
        missing={loaded && !migration && "No such migration (or it is gone)."}
        go={go}
      />
      {migration && (
        <>
          <dl className="facts">
            <dt>Phase</dt>
            <dd data-field="phase">{enumWord(MigrationPhaseSchema, status?.phase ?? 0)}</dd>
            <dt>Message</dt>
            <dd data-field="message">{status?.message}</dd>
            <dt>VM</dt>
            <dd>
              <PageLink
                to={{ page: "vm", namespace, name: migration.spec?.source?.vmRef?.name ?? "" }}
                go={go}
              >
                {migration.spec?.source?.vmRef?.name}
              </PageLink>
            </dd>
            <dt>Target</dt>
            <dd data-field="target">
              {targetVm ? (
                <PageLink
                  to={{
                    page: "vm",
                    namespace: migration.spec?.target?.namespace || namespace,
                    name: targetVm,
                  }}
                  go={go}
                >
                  {targetVm}
                </PageLink>
              ) : (
                migration.spec?.target?.name
              )}{" "}
              on {migration.spec?.target?.providerRef?.name}
            </dd>
            <dt>Progress</dt>
            <dd>
              <ProgressBar progress={migrationProgress(migration)} label="progress" />
            </dd>
            <dt>Started</dt>
            <dd>{when(status?.startTime)}</dd>
            <dt>Completed</dt>
            <dd data-field="completed">{when(status?.completionTime)}</dd>
          </dl>
          {(status?.disks.length ?? 0) > 0 && (
            <table aria-label="disks">
              <thead>
                <tr>
                  <th>Disk</th>
                  <th>Size</th>
                  <th>At the target</th>
                  <th>Committed</th>
                </tr>
              </thead>
              <tbody>
                {status?.disks.map((d) => (
                  <tr key={d.name}>
                    <td>{d.name}</td>
                    <td>{formatBytes(d.sizeBytes)}</td>
                    <td>{formatBytes(d.verifiedOffset)}</td>
                    <td>{d.committed ? "yes" : "no"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h3>Conditions</h3>
          <ConditionsTable label="conditions" conditions={status?.conditions ?? []} />
        </>
      )}
    </section>
  );
}
