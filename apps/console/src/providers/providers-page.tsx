import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Kind, type Provider } from "@virtrigaud/proto/manager";
import { ConditionsTable } from "../format/conditions-table";
import { useWatchedResources } from "../watch/use-watched-resources";
import { resourceKey } from "../watch/watched-resources";
import { declaredFeatures, providerSummary } from "./provider-summary";

function ProviderCard({ provider }: { provider: Provider }) {
  const p = providerSummary(provider);
  const checked = provider.status?.lastHealthCheck;
  const features = declaredFeatures(provider.status?.details);
  return (
    <article className="provider" data-provider={p.key} aria-label={p.key}>
      <h3>
        {p.namespace}/{p.name}{" "}
        <span className={p.healthy ? "badge ok" : "badge bad"} data-field="phase">
          {p.phase}
        </span>
      </h3>
      <dl className="facts">
        <dt>Type</dt>
        <dd>{p.type}</dd>
        <dt>Endpoint</dt>
        <dd>{p.endpoint}</dd>
        <dt>Circuit</dt>
        <dd data-field="circuit">{p.circuit}</dd>
        <dt>Version</dt>
        <dd data-field="version">{p.version}</dd>
        <dt>VMs</dt>
        <dd data-field="vms">{p.connectedVms}</dd>
        <dt>Last probe</dt>
        <dd>{checked ? timestampDate(checked).toLocaleString() : ""}</dd>
        <dt>Message</dt>
        <dd data-field="message">{p.message}</dd>
        <dt>Capabilities</dt>
        <dd data-field="capabilities">{p.capabilities.join(", ")}</dd>
      </dl>
      {features.length > 0 ? (
        <details>
          <summary>Declared by the provider</summary>
          <table aria-label={`${p.key} declared`}>
            <tbody>
              {features.map((f) => (
                <tr key={f.name}>
                  <th>{f.name}</th>
                  <td>{f.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : (
        <p>Nothing declared yet: the manager has not reached the provider.</p>
      )}
      <ConditionsTable
        label={`${p.key} conditions`}
        conditions={provider.status?.conditions ?? []}
      />
    </article>
  );
}

/**
 * Every Provider the caller may list, in every namespace, live from the
 * manager's Watch: its health as the manager's probes see it, the circuit in
 * front of it and what it declared it can do.
 */
export function ProvidersPage() {
  const { items, loaded, error } = useWatchedResources(Kind.PROVIDER, "provider");
  const providers = [...items].sort((a, b) => resourceKey(a).localeCompare(resourceKey(b)));
  return (
    <section className="providers">
      <h2>Providers</h2>
      {error && <p className="error">{error}</p>}
      {loaded && providers.length === 0 && <p>No providers.</p>}
      {providers.map((p) => (
        <ProviderCard key={`${p.metadata?.namespace}/${p.metadata?.name}`} provider={p} />
      ))}
    </section>
  );
}
