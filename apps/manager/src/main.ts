import { parseArgs } from "node:util";
import {
  ServeConfigError,
  createLogger,
  parseByteSize,
  parseDuration,
} from "@virtrigaud/contracts";
import {
  formatServeFlagsHelp,
  serveFlags,
  serveOptionsFromFlags,
  setupTracing,
} from "@virtrigaud/contracts/server";
import type { AuditLogOptions } from "./audit/audit-log.js";
import {
  type EndpointAllowlist,
  parseEndpointAllowlist,
} from "./controllers/endpoint-allowlist.js";
import { copyStoreUsage, runCopyStore } from "./copy-store-cli.js";
import { parseOidcScopes } from "./console/console-login.js";
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { type Subject, SubjectSchema } from "@virtrigaud/proto/manager";
import { tokenLine } from "./auth/token-file.js";
import { type ManagerAuthOptions, type ManagerOptions, startManager } from "./manager.js";
import { runRotateSecrets, runSecretKey, secretsUsage } from "./secrets/secrets-cli.js";
import { StoreInUseError, isPostgresUrl } from "./store/resource-store.js";

const name = "virtrigaud-manager";
const managerFlags = {
  data: { type: "string" },
  store: { type: "string" },
  "store-password-file": { type: "string" },
  "replica-id": { type: "string" },
  "lease-duration": { type: "string" },
  "lease-renew-interval": { type: "string" },
  "provider-tls-dir": { type: "string" },
  "migration-staging-dir": { type: "string" },
  "secret-key-file": { type: "string" },
  "provider-endpoints": { type: "string" },
  "health-interval": { type: "string" },
  "drift-page-interval": { type: "string" },
  "min-probe-interval": { type: "string" },
  "max-probe-interval": { type: "string" },
  "vm-workers": { type: "string" },
  "watch-max-pending": { type: "string" },
  "watch-max-pending-bytes": { type: "string" },
  "audit-log": { type: "string" },
  "audit-log-max-size": { type: "string" },
  "audit-log-max-files": { type: "string" },
  "token-file": { type: "string" },
  "oidc-issuer": { type: "string" },
  "oidc-audience": { type: "string" },
  "oidc-username-claim": { type: "string" },
  "oidc-groups-claim": { type: "string" },
  "oidc-username-prefix": { type: "string" },
  "oidc-groups-prefix": { type: "string" },
  "oidc-scopes": { type: "string" },
  "bootstrap-admin": { type: "string", multiple: true },
  "rate-limit-per-identity": { type: "string" },
  "max-watches-per-identity": { type: "string" },
  "console-dir": { type: "string" },
  "console-idle-timeout": { type: "string" },
  "console-max-session": { type: "string" },
  "console-ticket-ttl": { type: "string" },
} as const;

const usage = `${name}: declarative VMs reconciled across providers

Usage: ${name} --data DIR [flags]
       ${name} --store postgres://USER@HOST:PORT/DB --store-password-file FILE [flags]
       ${name} copy-store --from SRC --to DST [flags]   (see below)
       ${name} hash-token NAME [GROUP,...] < token     (a token file's line for a token)
       ${name} secret-key generate FILE                 (see below)
       ${name} rotate-secrets --data DIR --secret-key-file FILE   (see below)

${formatServeFlagsHelp({ listen: ":9090", opsListen: ":9091" })}

Manager flags (environment fallback in brackets):
  --data DIR                    where the embedded store lives (one SQLite file, manager.db) [VIRTRIGAUD_DATA]
  --store URL                   a store on PostgreSQL instead (postgres://...), shared by any number of
                                managers: each serves the whole API, the one holding the lease runs the
                                controllers [VIRTRIGAUD_STORE]
  --store-password-file FILE    the PostgreSQL password, the file's first line [VIRTRIGAUD_STORE_PASSWORD_FILE]
  --replica-id NAME             this manager's name among the replicas (default: host name, pid, random)
                                [VIRTRIGAUD_REPLICA_ID]
  --lease-duration DURATION     how long the controllers' lease lasts unrenewed (default 15s); another
                                manager takes over at most this long after the leader is gone
  --lease-renew-interval DURATION  between renewals of the lease by its holder (default 5s)
  --provider-tls-dir DIR        the only directory whose files a Provider's spec.tls may name; unset, no
                                Provider may name TLS files [VIRTRIGAUD_PROVIDER_TLS_DIR]
  --migration-staging-dir DIR   where a VMMigration with spec.storage {type: directory} stages its disks
                                between source and target; unset, such migrations fail
                                [VIRTRIGAUD_MIGRATION_STAGING_DIR]
  --secret-key-file FILE        the keys Secrets are encrypted with at rest (AES-256-GCM; made by
                                secret-key generate); unset, Secrets are refused
                                [VIRTRIGAUD_SECRET_KEY_FILE]
  --provider-endpoints LIST     where Provider endpoints may point: host names, *.domain patterns, IP addresses
                                and CIDR networks, comma-separated; a host name is resolved at each connection
                                and each address must be in a listed network, when the list has any. Unset:
                                anywhere [VIRTRIGAUD_PROVIDER_ENDPOINTS]
  --console-dir DIR             serve the built web console (apps/console/dist) at /console/ on the API's
                                port; unset, no console [VIRTRIGAUD_CONSOLE_DIR]
  --console-idle-timeout DURATION  a VM console (vrtg console, the web console) with no bytes either way
                                for this long is closed (default 15m)
  --console-max-session DURATION   a VM console is closed this long after it opened (default 8h)
  --console-ticket-ttl DURATION    how long a console ticket (CreateConsoleTicket) is accepted (default 30s)
  --health-interval DURATION    between Validate probes of a healthy provider (default 10s)
  --drift-page-interval DURATION  between ListVMs pages of each provider's drift sweep (default 5s)
  --min-probe-interval DURATION   before the first probe back of a failing provider (default 1s);
                                  the wait doubles after each failed probe
  --max-probe-interval DURATION   the longest wait between probes of a failing provider (default 30s)
  --vm-workers N                VirtualMachine reconciles at once (default 256); those of VMs on one
                                provider, at most as many as its calls in flight (64)
  --watch-max-pending N         changes one watch may hold for a client reading slower than they come; past it
                                the watch ends (RESOURCE_EXHAUSTED) and the client resumes (default 10000)
  --watch-max-pending-bytes SIZE  the same bound in bytes, or with Ki/Mi/Gi (default 16Mi)
  --audit-log FILE              append one JSON line per mutating or refused API call to FILE (made 0600),
                                or to standard output with "-"; unset, the last 1000 are kept in memory
                                only, for vrtg audit [VIRTRIGAUD_AUDIT_LOG]
  --audit-log-max-size SIZE     rotate the file past this size, with Ki/Mi/Gi (default 100Mi)
  --audit-log-max-files N       rotated files kept, FILE.1 the newest (default 5)

Authentication and authorization (any of the three turns them on; without any, every caller is the
administrator "anonymous", allowed on a loopback address only):
  --token-file FILE             bearer tokens, as lines "sha256:HEX NAME [GROUP,...]" (make one with
                                hash-token); read again within a second of a change [VIRTRIGAUD_TOKEN_FILE]
  --oidc-issuer URL             accept OIDC ID tokens of this issuer (https; http on loopback only)
                                [VIRTRIGAUD_OIDC_ISSUER]
  --oidc-audience AUD           the audience (client id) they must carry [VIRTRIGAUD_OIDC_AUDIENCE]
  --oidc-username-claim CLAIM   the claim naming the user (default sub)
  --oidc-groups-claim CLAIM     the claim listing the groups (default groups)
  --oidc-username-prefix TEXT   put before OIDC user names, so they cannot take a token user's name
                                (default, as Kubernetes: "ISSUER#" unless the claim is email; - for none)
  --oidc-groups-prefix TEXT     put before OIDC groups (default none)
  --oidc-scopes LIST            what the web console asks the issuer for when it logs people in, as a public
                                client whose id is the audience: space- or comma-separated, with openid (default
                                "openid profile email"; add what brings the groups claim, e.g. groups for Dex)
                                [VIRTRIGAUD_OIDC_SCOPES]
  --tls-client-ca FILE          (above) client certificates name users: subject CN the user, O the groups
  --bootstrap-admin user:NAME|group:NAME  bound to the built-in admin ClusterRole everywhere; repeatable
                                (comma-separated in the environment) [VIRTRIGAUD_BOOTSTRAP_ADMIN]
  --rate-limit-per-identity N   calls per second one identity may make (as many at once); above it
                                RESOURCE_EXHAUSTED with the time to retry (default: no limit)
  --max-watches-per-identity N  watches one identity may hold open (default: no cap)

${name} copy-store: moving a store between SQLite and PostgreSQL
${copyStoreUsage}
${name} secret-key and rotate-secrets: the keys of Secrets
${secretsUsage}`;

function duration(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch (err) {
    throw new ServeConfigError(`--${flag}: ${(err as Error).message}`);
  }
}

/** `user:NAME` or `group:NAME`. */
function bootstrapSubject(text: string): Subject {
  const match = /^(user|group):(\S{1,253})$/.exec(text);
  if (!match)
    throw new ServeConfigError(
      `--bootstrap-admin must be user:NAME or group:NAME, got ${JSON.stringify(text.slice(0, 100))}`,
    );
  return create(SubjectSchema, {
    kind: match[1] === "user" ? "User" : "Group",
    name: match[2] as string,
  });
}

/** `hash-token NAME [GROUP,...]`: the token on standard input, the line on standard output. */
function hashTokenCommand(args: string[]): number {
  const [user, groups, ...extra] = args;
  if (!user || extra.length || user.startsWith("-")) {
    process.stderr.write(`usage: ${name} hash-token NAME [GROUP,...] < token\n`);
    return 2;
  }
  const token = readFileSync(0, "utf8").trim();
  if (!token) {
    process.stderr.write(`${name} hash-token: standard input holds no token\n`);
    return 2;
  }
  process.stdout.write(
    `${tokenLine(token, user, groups ? groups.split(",").filter(Boolean) : [])}\n`,
  );
  return 0;
}

async function main(): Promise<void> {
  if (process.argv[2] === "copy-store") {
    process.exitCode = await runCopyStore(process.argv.slice(3));
    return;
  }
  if (process.argv[2] === "hash-token") {
    process.exitCode = hashTokenCommand(process.argv.slice(3));
    return;
  }
  if (process.argv[2] === "secret-key") {
    process.exitCode = runSecretKey(process.argv.slice(3));
    return;
  }
  if (process.argv[2] === "rotate-secrets") {
    process.exitCode = await runRotateSecrets(process.argv.slice(3));
    return;
  }
  let values: ReturnType<
    typeof parseArgs<{ options: typeof serveFlags & typeof managerFlags }>
  >["values"];
  let serve: ReturnType<typeof serveOptionsFromFlags>;
  let dataDir: string | undefined;
  let postgres: { url: string; passwordFile?: string } | undefined;
  let replicaId: string | undefined;
  let providerTlsDir: string | undefined;
  let migrationStagingDir: string | undefined;
  let secretKeyFile: string | undefined;
  let consoleDir: string | undefined;
  let consoleOidcScopes: string[] | undefined;
  let consoleRelay: ManagerOptions["consoleRelay"];
  let providerEndpoints: EndpointAllowlist | undefined;
  let lease: { ttlMs?: number; renewIntervalMs?: number };
  let healthIntervalMs: number | undefined;
  let driftPageIntervalMs: number | undefined;
  let minProbeIntervalMs: number | undefined;
  let maxProbeIntervalMs: number | undefined;
  let vmWorkers: number | undefined;
  const watch: { maxPendingEvents?: number; maxPendingBytes?: number } = {};
  let audit: AuditLogOptions;
  const auth: ManagerAuthOptions = {};
  try {
    values = parseArgs({
      options: { ...serveFlags, ...managerFlags },
      strict: true,
      allowPositionals: false,
    }).values;
    if (values.help) {
      process.stdout.write(usage);
      return;
    }
    serve = serveOptionsFromFlags(values);
    const storeUrl = values.store ?? process.env["VIRTRIGAUD_STORE"] ?? "";
    if (storeUrl) {
      if (!isPostgresUrl(storeUrl))
        throw new ServeConfigError("--store must be a postgres:// or postgresql:// URL");
      const passwordFile =
        values["store-password-file"] ?? process.env["VIRTRIGAUD_STORE_PASSWORD_FILE"];
      postgres = { url: storeUrl, ...(passwordFile ? { passwordFile } : {}) };
      if (values.data)
        throw new ServeConfigError("--data and --store are exclusive: choose one store");
    } else {
      dataDir = values.data ?? process.env["VIRTRIGAUD_DATA"] ?? "";
      if (!dataDir) throw new ServeConfigError("--data DIR or --store URL is required");
    }
    replicaId = values["replica-id"] ?? process.env["VIRTRIGAUD_REPLICA_ID"];
    providerTlsDir =
      values["provider-tls-dir"] ?? (process.env["VIRTRIGAUD_PROVIDER_TLS_DIR"] || undefined);
    migrationStagingDir =
      values["migration-staging-dir"] ??
      (process.env["VIRTRIGAUD_MIGRATION_STAGING_DIR"] || undefined);
    secretKeyFile =
      values["secret-key-file"] ?? (process.env["VIRTRIGAUD_SECRET_KEY_FILE"] || undefined);
    consoleDir = values["console-dir"] ?? (process.env["VIRTRIGAUD_CONSOLE_DIR"] || undefined);
    const endpoints =
      values["provider-endpoints"] ?? (process.env["VIRTRIGAUD_PROVIDER_ENDPOINTS"] || undefined);
    if (endpoints !== undefined) {
      try {
        providerEndpoints = parseEndpointAllowlist(endpoints);
      } catch (err) {
        throw new ServeConfigError(`--provider-endpoints: ${(err as Error).message}`);
      }
    }
    const ttlMs = duration("lease-duration", values["lease-duration"]);
    const renewIntervalMs = duration("lease-renew-interval", values["lease-renew-interval"]);
    if ((renewIntervalMs ?? 5000) * 2 >= (ttlMs ?? 15_000))
      throw new ServeConfigError(
        "--lease-renew-interval must be under half of --lease-duration (a renewal may fail and be retried)",
      );
    lease = { ...(ttlMs ? { ttlMs } : {}), ...(renewIntervalMs ? { renewIntervalMs } : {}) };
    const consoleIdleTimeoutMs = duration("console-idle-timeout", values["console-idle-timeout"]);
    const consoleMaxSessionMs = duration("console-max-session", values["console-max-session"]);
    const consoleTicketTtlMs = duration("console-ticket-ttl", values["console-ticket-ttl"]);
    consoleRelay = {
      ...(consoleTicketTtlMs ? { ticketTtlMs: consoleTicketTtlMs } : {}),
      ...(consoleIdleTimeoutMs ? { idleTimeoutMs: consoleIdleTimeoutMs } : {}),
      ...(consoleMaxSessionMs ? { maxSessionMs: consoleMaxSessionMs } : {}),
    };
    healthIntervalMs = duration("health-interval", values["health-interval"]);
    driftPageIntervalMs = duration("drift-page-interval", values["drift-page-interval"]);
    minProbeIntervalMs = duration("min-probe-interval", values["min-probe-interval"]);
    maxProbeIntervalMs = duration("max-probe-interval", values["max-probe-interval"]);
    if ((minProbeIntervalMs ?? 1000) > (maxProbeIntervalMs ?? 30_000))
      throw new ServeConfigError("--min-probe-interval must not exceed --max-probe-interval");
    if (values["vm-workers"] !== undefined) {
      vmWorkers = Number(values["vm-workers"]);
      if (!Number.isInteger(vmWorkers) || vmWorkers < 1)
        throw new ServeConfigError("--vm-workers must be a positive whole number");
    }
    if (values["watch-max-pending"] !== undefined) {
      watch.maxPendingEvents = Number(values["watch-max-pending"]);
      if (!Number.isInteger(watch.maxPendingEvents) || watch.maxPendingEvents < 1)
        throw new ServeConfigError("--watch-max-pending must be a positive whole number");
    }
    if (values["watch-max-pending-bytes"] !== undefined) {
      let bytes: number;
      try {
        bytes = parseByteSize(values["watch-max-pending-bytes"]);
      } catch (err) {
        throw new ServeConfigError(`--watch-max-pending-bytes: ${(err as Error).message}`);
      }
      if (bytes < 1) throw new ServeConfigError("--watch-max-pending-bytes must be at least 1");
      watch.maxPendingBytes = bytes;
    }
    audit = auditOptions(values);
    const tokenFile = values["token-file"] ?? (process.env["VIRTRIGAUD_TOKEN_FILE"] || undefined);
    if (tokenFile) auth.tokenFile = tokenFile;
    const issuer = values["oidc-issuer"] ?? (process.env["VIRTRIGAUD_OIDC_ISSUER"] || undefined);
    if (issuer)
      auth.oidc = {
        issuer,
        audience: values["oidc-audience"] ?? process.env["VIRTRIGAUD_OIDC_AUDIENCE"] ?? "",
        ...(values["oidc-username-claim"] ? { usernameClaim: values["oidc-username-claim"] } : {}),
        ...(values["oidc-groups-claim"] ? { groupsClaim: values["oidc-groups-claim"] } : {}),
        ...(values["oidc-username-prefix"] !== undefined
          ? { usernamePrefix: values["oidc-username-prefix"] }
          : {}),
        ...(values["oidc-groups-prefix"] !== undefined
          ? { groupsPrefix: values["oidc-groups-prefix"] }
          : {}),
      };
    const scopes = values["oidc-scopes"] ?? (process.env["VIRTRIGAUD_OIDC_SCOPES"] || undefined);
    if (scopes !== undefined) {
      try {
        consoleOidcScopes = parseOidcScopes(scopes);
      } catch (err) {
        throw new ServeConfigError(`--oidc-scopes: ${(err as Error).message}`);
      }
    }
    const admins =
      values["bootstrap-admin"] ??
      (process.env["VIRTRIGAUD_BOOTSTRAP_ADMIN"] || "").split(",").filter(Boolean);
    auth.bootstrapAdmins = admins.map(bootstrapSubject);
    for (const [flag, key] of [
      ["rate-limit-per-identity", "ratePerIdentity"],
      ["max-watches-per-identity", "maxWatchesPerIdentity"],
    ] as const) {
      const text = values[flag];
      if (text === undefined) continue;
      const n = Number(text);
      if (
        !Number.isFinite(n) ||
        n <= 0 ||
        (key === "maxWatchesPerIdentity" && !Number.isInteger(n))
      )
        throw new ServeConfigError(`--${flag} must be a positive number`);
      auth[key] = n;
    }
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const { logLevel, ...serveOptions } = serve;
  const logger = createLogger({ name, level: logLevel });
  const tracing = setupTracing({ serviceName: name, serviceVersion: "0.1.0" });
  try {
    const manager = await startManager({
      ...(dataDir ? { dataDir } : {}),
      ...(postgres ? { postgres } : {}),
      ...(replicaId ? { replicaId } : {}),
      ...(providerTlsDir ? { providerTlsDir } : {}),
      ...(migrationStagingDir ? { migrationStagingDir } : {}),
      ...(secretKeyFile ? { secretKeyFile } : {}),
      ...(consoleDir ? { consoleDir } : {}),
      ...(consoleOidcScopes ? { consoleOidcScopes } : {}),
      ...(consoleRelay ? { consoleRelay } : {}),
      ...(providerEndpoints ? { providerEndpoints } : {}),
      lease,
      logger,
      auth,
      serve: {
        ...serveOptions,
        listen: serveOptions.listen ?? ":9090",
        opsListen: serveOptions.opsListen ?? ":9091",
        serviceName: name,
      },
      ...(healthIntervalMs ? { healthIntervalMs } : {}),
      ...(driftPageIntervalMs ? { driftPageIntervalMs } : {}),
      ...(minProbeIntervalMs ? { minProbeIntervalMs } : {}),
      ...(maxProbeIntervalMs ? { maxProbeIntervalMs } : {}),
      ...(vmWorkers ? { vmWorkers } : {}),
      watch,
      audit,
    });
    await manager.server?.closed;
    // Closed by a signal: stop the controllers and the store too.
    await manager.close();
    process.exitCode = 0;
  } catch (err) {
    if (err instanceof ServeConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof StoreInUseError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      logger.fatal({ err }, "the manager failed to start");
      process.exitCode = 1;
    }
  } finally {
    await tracing.shutdown();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
  }
}

/** The audit log's options from its flags. */
function auditOptions(values: {
  "audit-log"?: string | undefined;
  "audit-log-max-size"?: string | undefined;
  "audit-log-max-files"?: string | undefined;
}): AuditLogOptions {
  const path = values["audit-log"] ?? (process.env["VIRTRIGAUD_AUDIT_LOG"] || undefined);
  const options: AuditLogOptions = { path };
  if (values["audit-log-max-size"] !== undefined) {
    try {
      options.maxBytes = parseByteSize(values["audit-log-max-size"]);
    } catch (err) {
      throw new ServeConfigError(`--audit-log-max-size: ${(err as Error).message}`);
    }
    if (options.maxBytes < 1024)
      throw new ServeConfigError("--audit-log-max-size must be at least 1Ki");
  }
  if (values["audit-log-max-files"] !== undefined) {
    options.maxFiles = Number(values["audit-log-max-files"]);
    if (!Number.isInteger(options.maxFiles) || options.maxFiles < 0)
      throw new ServeConfigError("--audit-log-max-files must be a whole number");
  }
  return options;
}

await main();
