import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { createSecureContext } from "node:tls";
import {
  type Logger,
  ServeConfigError,
  type ServeOptions,
  createLogger,
} from "@virtrigaud/contracts";
import {
  type ServerMetrics,
  type ServicesServer,
  compileServeOptions,
  createServerMetrics,
  isLoopbackHost,
  serveServices,
  servedService,
} from "@virtrigaud/contracts/server";
import { useFastTextEncoding } from "@virtrigaud/contracts/wire";
import { Kind, ManagerService, type Subject } from "@virtrigaud/proto/manager";
import {
  anonymousIdentity,
  authenticationOn,
  createAuthenticationInterceptor,
} from "./auth/authenticate.js";
import { createAuthorizer } from "./auth/authorizer.js";
import { createIdentityLimitsInterceptor } from "./auth/identity-limits.js";
import { type OidcOptions, checkIssuerUrl, createOidcVerifier } from "./auth/oidc.js";
import { parseTokenFile } from "./auth/token-file.js";
import { type TokenFileWatch, watchTokenFile } from "./auth/token-file-watch.js";
import { type ManagerServiceOptions, createManagerService } from "./api/manager-service.js";
import { type AuditLog, type AuditLogOptions, openAuditLog } from "./audit/audit-log.js";
import { createAuditObserver } from "./audit/audit-observer.js";
import { accessRequestOf } from "./auth/access-request-key.js";
import { type ConsoleFiles, loadConsoleFiles } from "./console/console-files.js";
import { createConsoleHandler } from "./console/console-handler.js";
import {
  type ConsoleLogin,
  consoleConfigFile,
  consoleConnectSources,
  defaultOidcScopes,
} from "./console/console-login.js";
import { identityOf } from "./auth/identity.js";
import type { EndpointAllowlist } from "./controllers/endpoint-allowlist.js";
import type { ControllerSettings, Queues } from "./controllers/context.js";
import { startControllers } from "./controllers/controller-set.js";
import type { ProviderConnection } from "./controllers/provider-connection.js";
import { createManagerMetrics } from "./metrics/manager-metrics.js";
import { type Leadership, startLeadership } from "./leadership.js";
import { KeyFileError, readKeyring, readableByOthers } from "./secrets/keyring.js";
import { createSecretAccess } from "./secrets/secret-access.js";
import type { PostgresLocation } from "./store/postgres/connection.js";
import { type ResourceStore, openStore } from "./store/resource-store.js";
import { type ConsoleRelay, createConsoleRelay } from "./console-relay/console-relay.js";
import { createConsoleTickets } from "./console-relay/console-tickets.js";

/** Options of `startManager`. */
export interface ManagerOptions {
  /** The directory of the embedded store's file, manager.db; unless `postgres` is given. */
  dataDir?: string;
  /**
   * A store on PostgreSQL instead, shared with other managers: each serves
   * the whole API, and the controllers run on the one that holds the lease.
   */
  postgres?: PostgresLocation;
  /** This manager's name among the replicas. Default: host name, pid and a random suffix. */
  replicaId?: string;
  /** The controllers' lease on PostgreSQL. Defaults: 15 s, renewed every 5 s, sought every 1 s. */
  lease?: { ttlMs?: number; renewIntervalMs?: number; retryIntervalMs?: number };
  /** Default: a JSON logger at info. */
  logger?: Logger;
  /** Serve the API with these options; without them, controllers only. */
  serve?: ServeOptions;
  /**
   * The audit log of the API: every mutating call and every refused one.
   * Default: kept in memory only (the last 1000, for ListAuditEntries).
   */
  audit?: AuditLogOptions;
  /**
   * The only directory whose files a Provider's spec.tls may name (the
   * manager's host is not the manifest author's to read). Unset: no Provider
   * may name TLS files.
   */
  providerTlsDir?: string;
  /**
   * Who may call the API. With none of a token file, OIDC or client
   * certificates (serve.tls.clientCaFile), authentication is off: every
   * caller is the administrator "anonymous", which is allowed on loopback only.
   */
  auth?: ManagerAuthOptions;
  /**
   * The key file Secrets are sealed with (see `readKeyring`). Unset: Secrets
   * are refused, never stored in clear text.
   */
  secretKeyFile?: string;
  /**
   * Whether a caller may read the values of Secrets in a namespace (see
   * `ManagerServiceOptions.maySeeSecretData`). Default: those the access
   * rules let get Secrets there (everyone with authentication off).
   */
  maySeeSecretData?: ManagerServiceOptions["maySeeSecretData"];
  /**
   * Where Provider endpoints may point: refused at apply outside it, and
   * each connection's host name resolved and checked. Unset: anywhere.
   */
  providerEndpoints?: EndpointAllowlist;
  /** Where migrations with spec.storage stage their disks; unset, such migrations fail. */
  migrationStagingDir?: string;
  /**
   * The built web console (apps/console/dist) to serve at /console/ on the
   * API's port, same origin as the API. Unset: no console.
   */
  consoleDir?: string;
  /**
   * What the console asks the OIDC issuer for when it logs people in
   * (with `auth.oidc`). Default: openid, profile and email.
   */
  consoleOidcScopes?: readonly string[];
  /**
   * The limits of the VM consoles relayed on the API's port (see
   * `createConsoleRelay`). Defaults: tickets accepted for 30 s, a console
   * closed idle for 15 min or 8 h after it opened.
   */
  consoleRelay?: { ticketTtlMs?: number; idleTimeoutMs?: number; maxSessionMs?: number };
  /** Default: 10000 ms. */
  healthIntervalMs?: number;
  /** Default: 5000 ms. */
  driftPageIntervalMs?: number;
  /** Default: 1000 ms. */
  minProbeIntervalMs?: number;
  /** Default: 30000 ms. */
  maxProbeIntervalMs?: number;
  /** VirtualMachine reconciles at once. Default: 256. */
  vmWorkers?: number;
  /**
   * What one Watch may hold for a client that reads slower than changes
   * come (see `WatchOptions`). Defaults: 10000 changes, 16 MiB.
   */
  watch?: { maxPendingEvents?: number; maxPendingBytes?: number };
  /**
   * Where the manager's instruments go; served on /metrics when serving.
   * Default: `createServerMetrics` of the service's name.
   */
  metrics?: ServerMetrics;
}

/** How callers prove who they are, and the first administrators. */
export interface ManagerAuthOptions {
  /** Lines of `sha256:HEX NAME [GROUP,...]`, read again when the file changes. */
  tokenFile?: string;
  /** OIDC ID tokens from this issuer. */
  oidc?: OidcOptions;
  /** Bound to the built-in admin ClusterRole everywhere, from configuration only. */
  bootstrapAdmins?: readonly Subject[];
  /** Calls per second one identity may make; unset, no limit per identity. */
  ratePerIdentity?: number;
  /** Watches one identity may hold open; unset, no cap per identity. */
  maxWatchesPerIdentity?: number;
}

/** A running manager. */
export interface Manager {
  store: ResourceStore;
  /** The API server, when serving. */
  server: ServicesServer | undefined;
  /** Provider connections, by "namespace/name" (RPC counts live in them). */
  connections: Map<string, ProviderConnection>;
  /** The manager's metrics (served on the ops listener's /metrics). */
  metrics: ServerMetrics;
  /** Who runs the controllers: this manager alone (embedded store), or the lease's holder. */
  leadership: Leadership;
  /** Stops the API (drain), the controllers and the store. */
  close(): Promise<void>;
}

/**
 * Starts the manager: opens the store, starts the controllers (every stored
 * resource is reconciled once at start, so work a previous run left half
 * done is finished) at once on the embedded store, or while this replica
 * holds the lease on PostgreSQL, and serves the ManagerService when `serve`
 * is given.
 *
 * @throws Error when the store cannot be opened (StoreInUseError when
 * another manager has the embedded one); ServeConfigError for bad serve
 * options, before the store is made.
 */
export async function startManager(options: ManagerOptions): Promise<Manager> {
  const logger = options.logger ?? createLogger({ name: "virtrigaud-manager" });
  useFastTextEncoding();
  // Every setting is checked before anything is made on disk.
  if (options.serve) checkServeOptions(options.serve, options.auth ?? {});
  if (!options.dataDir && !options.postgres)
    throw new ServeConfigError("the manager needs a store: a data directory or a PostgreSQL URL");
  const consoleLogin: ConsoleLogin = options.auth?.oidc
    ? {
        oidc: {
          issuer: options.auth.oidc.issuer,
          // The ID tokens the console gets carry its client id as their audience.
          clientId: options.auth.oidc.audience,
          scopes: options.consoleOidcScopes ?? defaultOidcScopes,
        },
      }
    : {};
  const consoleFiles =
    options.serve && options.consoleDir ? openConsole(options.consoleDir, consoleLogin) : undefined;
  const auditLog = openAuditFirst(options.audit);
  const secrets = createSecretAccess(
    options.secretKeyFile ? openKeyring(options.secretKeyFile, logger) : undefined,
  );
  const store = await openStore(
    options.postgres
      ? {
          postgres: options.postgres,
          onError: (message, err) => logger.warn({ err: errorText(err) }, message),
        }
      : { dataDir: options.dataDir as string },
  ).catch((err: unknown) => {
    auditLog.close();
    throw err;
  });
  const settings: ControllerSettings = {
    healthIntervalMs: options.healthIntervalMs ?? 10_000,
    driftPageIntervalMs: options.driftPageIntervalMs ?? 5_000,
    minProbeIntervalMs: options.minProbeIntervalMs ?? 1_000,
    maxProbeIntervalMs: options.maxProbeIntervalMs ?? 30_000,
    providerTlsDir: options.providerTlsDir,
    providerEndpoints: options.providerEndpoints,
    migrationStagingDir: options.migrationStagingDir,
  };
  const serviceName = options.serve?.serviceName ?? "virtrigaud-manager";
  const metrics = options.metrics ?? createServerMetrics({ serviceName });
  const queues = {} as Queues;
  const connections = new Map<string, ProviderConnection>();
  const openWatches = { count: 0 };
  const replicaId =
    options.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const instruments = createManagerMetrics(metrics.meter("@virtrigaud/manager"), {
    store,
    queues: () => new Map(Object.entries(queues)),
    connections,
    watches: () => openWatches.count,
    // Read at collection, once `leadership` below exists.
    leadership: () => leadership.status(),
  });
  const runControllers = (fence?: Parameters<typeof startControllers>[0]["fence"]) =>
    startControllers({
      store,
      logger,
      settings,
      queues,
      connections,
      vmWorkers: options.vmWorkers ?? 256,
      providerCall: instruments.providerCall,
      reconciled: instruments.reconciled,
      secrets,
      ...(fence ? { fence } : {}),
    });
  const leadership: Leadership = startLeadership({
    store,
    replicaId,
    logger,
    ...(options.postgres ? { postgres: options.postgres } : {}),
    ...(options.lease ? { lease: options.lease } : {}),
    run: runControllers,
  });
  logger.info(
    { store: store.location, resourceVersion: store.resourceVersion, replica: replicaId },
    "store opened",
  );

  let tokens: TokenFileWatch | undefined;
  let server: ServicesServer | undefined;
  let consoleRelay: ConsoleRelay | undefined;
  // Watches never end by themselves: a drain (SIGTERM, or close) ends them first.
  const stopWatches = new AbortController();
  // Every open watch listens to it until it ends: many watches are no leak to warn about.
  setMaxListeners(0, stopWatches.signal);
  if (options.serve) {
    const auth = options.auth ?? {};
    tokens = auth.tokenFile ? watchTokenFile(auth.tokenFile, logger) : undefined;
    const authenticators = {
      tokens,
      oidc: auth.oidc ? createOidcVerifier(auth.oidc) : undefined,
      clientCertificates: Boolean(options.serve.tls?.clientCaFile),
    };
    const authorizer = createAuthorizer(store, {
      on: authenticationOn(authenticators),
      bootstrapAdmins: auth.bootstrapAdmins ?? [],
    });
    const relayOptions = options.consoleRelay ?? {};
    const consoleTickets = createConsoleTickets(
      relayOptions.ticketTtlMs ? { ttlMs: relayOptions.ticketTtlMs } : {},
    );
    consoleRelay = createConsoleRelay({
      tickets: consoleTickets,
      store,
      connections,
      logger,
      ...(relayOptions.idleTimeoutMs ? { idleTimeoutMs: relayOptions.idleTimeoutMs } : {}),
      ...(relayOptions.maxSessionMs ? { maxSessionMs: relayOptions.maxSessionMs } : {}),
    });
    server = await serveServices({
      ...options.serve,
      logger,
      serviceName,
      role: "manager",
      readiness: () => Promise.resolve(),
      metrics,
      // A drain stops the controllers too, beside the API, so their work in
      // flight ends within the same drain timeout.
      onDrain: () => {
        stopWatches.abort();
        consoleRelay?.close();
        void leadership.stop();
      },
      readyzDetails: () => ({ ...leadership.status() }),
      ...(consoleFiles
        ? {
            otherRequests: createConsoleHandler(consoleFiles, consoleConnectSources(consoleLogin)),
          }
        : {}),
      upgrade: consoleRelay.upgrade,
      callObservers: [
        ...(options.serve.callObservers ?? []),
        createAuditObserver(auditLog, {
          replica: replicaId,
          identityOf,
          accessOf: accessRequestOf,
        }),
      ],
      services: [
        servedService(
          ManagerService,
          createManagerService(store, {
            ...options.watch,
            shutdown: stopWatches.signal,
            openWatches,
            logger,
            leadership: () => leadership.status(),
            providerTlsDir: options.providerTlsDir,
            auditLog,
            authorizer,
            secrets,
            // Secret values only to those who may get Secrets there: an editor, not a viewer.
            maySeeSecretData:
              options.maySeeSecretData ??
              ((context, namespace) =>
                authorizer.allows(
                  identityOf(context.values) ?? anonymousIdentity,
                  "get",
                  Kind.SECRET,
                  namespace,
                )),
            providerEndpoints: options.providerEndpoints,
            consoleTickets,
          }),
          [],
          [
            createAuthenticationInterceptor(authenticators),
            ...(auth.ratePerIdentity || auth.maxWatchesPerIdentity
              ? [
                  createIdentityLimitsInterceptor({
                    ratePerIdentity: auth.ratePerIdentity,
                    maxWatchesPerIdentity: auth.maxWatchesPerIdentity,
                  }),
                ]
              : []),
          ],
        ),
      ],
      describe: {
        store: store.location,
        replica: replicaId,
        ...(consoleFiles ? { console: "/console/" } : {}),
        authentication: authorizer.on
          ? [
              ...(tokens ? ["token"] : []),
              ...(auth.oidc ? ["oidc"] : []),
              ...(authenticators.clientCertificates ? ["certificate"] : []),
            ]
          : "off (loopback: every caller is an administrator)",
      },
    });
  }

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      stopWatches.abort();
      consoleRelay?.close();
      await server?.close();
      tokens?.close();
      // Reconciles still running after the drain are cut short: closing the
      // provider connections ends their calls.
      await leadership.stop(server ? 500 : undefined);
      await store.close();
      auditLog.close();
      await metrics.shutdown();
    })());
  return { store, server, connections, metrics, leadership, close };
}

/** The audit log, opened before the store: a path it cannot write stops the start, as a bad flag. */
function openAuditFirst(options: AuditLogOptions | undefined): AuditLog {
  try {
    return openAuditLog(options);
  } catch (err) {
    throw new ServeConfigError(`the audit log cannot be written: ${errorText(err)}`);
  }
}

/**
 * Reads the Secrets' key file, warning when others than the manager's user may read it.
 *
 * @throws ServeConfigError when it cannot be used.
 */
function openKeyring(file: string, logger: Logger) {
  try {
    const keyring = readKeyring(file);
    if (readableByOthers(file))
      logger.warn(
        { file },
        "the secret key file is readable by others than its owner: chmod 600 it",
      );
    logger.info({ file, keys: keyring.keys.map((k) => k.name) }, "secret keys read");
    return keyring;
  } catch (err) {
    if (err instanceof KeyFileError) throw new ServeConfigError(err.message);
    throw err;
  }
}

/**
 * The console's files, read once, and its /config.json saying how it may
 * log people in (made here, whatever the directory holds under that name).
 *
 * @throws ServeConfigError when the directory holds no built console.
 */
function openConsole(dir: string, login: ConsoleLogin): ConsoleFiles {
  try {
    return new Map([...loadConsoleFiles(dir), ["/config.json", consoleConfigFile(login)]]);
  } catch (err) {
    throw new ServeConfigError(`--console-dir: ${errorText(err)}`);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Checks the serve options as `serveServices` will, TLS files included.
 *
 * @throws ServeConfigError naming what is wrong.
 */
function checkServeOptions(serve: ServeOptions, auth: ManagerAuthOptions): void {
  // Plaintext only on a loopback address, as every server of the harness.
  const { listen } = compileServeOptions(serve);
  const authenticated = Boolean(auth.tokenFile || auth.oidc || serve.tls?.clientCaFile);
  // Without authentication every caller is an administrator: only this machine's.
  if (!authenticated && !isLoopbackHost(listen.host))
    throw new ServeConfigError(
      `refusing to serve ${listen.host || "every interface"} (port ${listen.port}) without authentication: every caller would be an administrator; configure --token-file, --oidc-issuer or client certificates (--tls-client-ca), or listen on a loopback address`,
    );
  if (auth.tokenFile) {
    try {
      parseTokenFile(readFileSync(auth.tokenFile, "utf8"));
    } catch (err) {
      throw new ServeConfigError(`--token-file: ${(err as Error).message}`);
    }
  }
  if (auth.oidc) {
    try {
      checkIssuerUrl(auth.oidc.issuer);
    } catch (err) {
      throw new ServeConfigError((err as Error).message);
    }
    if (!auth.oidc.audience)
      throw new ServeConfigError("--oidc-audience is required with --oidc-issuer");
  }
  if (!serve.tls) return;
  try {
    createSecureContext({
      cert: readFileSync(serve.tls.certFile),
      key: readFileSync(serve.tls.keyFile),
      ...(serve.tls.clientCaFile ? { ca: readFileSync(serve.tls.clientCaFile) } : {}),
    });
  } catch (err) {
    throw new ServeConfigError(`the TLS files do not load: ${(err as Error).message}`);
  }
}
