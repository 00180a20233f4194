import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import type { HealthMonitor } from "./health.js";
import { ServingStatus } from "./health.js";
import { type ConnectionLimits, http1Timeouts } from "./rpc-listener.js";

/**
 * The operations endpoints, on their own port so they can stay plain HTTP
 * behind TLS-only RPCs:
 *  - GET /healthz: 200 while the process serves (liveness)
 *  - GET /readyz: 200 while the provider's Validate passes and the server is
 *    not draining, 503 otherwise (readiness), with the server's own details
 *  - GET /metrics: Prometheus text format
 *
 * With the RPC port's header and request timeouts and connection cap.
 */
export function createOpsServer(
  health: HealthMonitor,
  metrics: PrometheusExporter,
  limits: ConnectionLimits,
  details?: () => Record<string, unknown>,
): Server {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  const server = createServer(
    http1Timeouts(limits),
    (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") {
        json(res, 405, { error: "method not allowed" });
      } else if (path === "/healthz") {
        json(res, 200, { status: "ok" });
      } else if (path === "/readyz") {
        const ready = health.status === ServingStatus.SERVING;
        json(res, ready ? 200 : 503, {
          status: ServingStatus[health.status],
          ...(health.reason ? { reason: health.reason } : {}),
          ...details?.(),
        });
      } else if (path === "/metrics") {
        metrics.getMetricsRequestHandler(req, res);
      } else {
        json(res, 404, { error: "not found" });
      }
    },
  );
  server.maxConnections = limits.maxConnections;
  return server;
}
