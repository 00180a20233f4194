/**
 * Serving any Connect service the way `serveProvider` serves a provider
 * (TLS, the ops port, health, metrics, tracing, validation, the drain), and
 * the pieces a service's own binary assembles: its flags, its metrics and
 * its tracing.
 *
 * @packageDocumentation
 */
export {
  serveServices,
  servedService,
  type ServedService,
  type ServeServicesOptions,
  type ServicesServer,
} from "./serve-services.js";
export type { CallGuard } from "./interceptors/guards.js";
export type { CallObserver } from "./interceptors/observers.js";
export type { CallInfo } from "./call-context.js";
export { type Peer, peerOf } from "./peer.js";
export type { NodeHandler } from "./node-handler.js";
export { compileServeOptions } from "./serve-options.js";
export { isLoopbackHost } from "./loopback.js";
export { shareTurn, turnBudgetMs } from "./turn-budget.js";
export { serveFlags, formatServeFlagsHelp, serveOptionsFromFlags } from "./run-provider.js";
export {
  createServerMetrics,
  type ServerMetrics,
  type ServerMetricsOptions,
} from "./server-metrics.js";
export { setupTracing, type Tracing, type TracingOptions } from "../telemetry/setup-tracing.js";
