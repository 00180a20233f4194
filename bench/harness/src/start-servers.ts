import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { equals, toBinary } from "@bufbuild/protobuf";
import { type DescribeResponse, DescribeResponseSchema } from "@virtrigaud/proto";
import { forwardOutput, untilReady } from "./child-output.js";
import type { ChildProcesses } from "./child-processes.js";
import { type BenchProtocol, benchVmId, describeOnce } from "./describe-call.js";
import { findFreePort } from "./free-port.js";
import { portOfReadyLine } from "./servers/ready-line.js";

/** The three servers compared. */
export type ServerName = "harness" | "bare-connect" | "grpc-js";

/** A server process listening on loopback. */
export interface RunningServer {
  name: ServerName;
  url: string;
  pid: number;
  /** The protocols it answers; grpc-js speaks only gRPC. */
  protocols: BenchProtocol[];
}

const startTimeoutMs = 15_000;

/** The provider-mock binary, found through its package rather than a guessed path. */
function mockBin(): string {
  const bin = fileURLToPath(new URL("./main.js", import.meta.resolve("@virtrigaud/provider-mock")));
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run npm run build first`);
  return bin;
}

/** Asks until the server answers; the binary prints nothing once it serves at level warn. */
function pollDescribe(url: string, settle: (response: DescribeResponse) => void): void {
  describeOnce(url, "grpc").then(settle, () => setTimeout(() => pollDescribe(url, settle), 100));
}

/**
 * Starts the provider binary, the full production harness, with one seeded
 * VM, and returns the Describe answer every server must then give.
 */
async function startHarness(
  children: ChildProcesses,
  workDir: string,
  nodeArgs: string[],
): Promise<{ server: RunningServer; reference: DescribeResponse }> {
  const inventory = join(workDir, "inventory.json");
  const vm = { name: "bench-vm", cpu: 2, memoryMib: 2048, powerState: "on" };
  writeFileSync(inventory, JSON.stringify({ templates: [], vms: [vm] }));
  const port = await findFreePort();
  const child = children.startNode(
    "harness",
    mockBin(),
    [
      ...["--listen", `127.0.0.1:${port}`, "--insecure", "--ops-listen", "off"],
      ...["--log-level", "warn", "--inventory", inventory],
    ],
    {},
    nodeArgs,
  );
  forwardOutput(child, "harness");
  const url = `http://127.0.0.1:${port}`;
  const reference = await untilReady<DescribeResponse>(child, "harness", startTimeoutMs, (settle) =>
    pollDescribe(url, settle),
  );
  if (!reference.exists) throw new Error(`the harness does not know ${benchVmId}`);
  const server: RunningServer = {
    name: "harness",
    url,
    pid: child.pid ?? -1,
    protocols: ["grpc", "connect"],
  };
  return { server, reference };
}

/** Starts one of this package's server processes and waits for its ready line. */
async function startOwnServer(
  children: ChildProcesses,
  name: Exclude<ServerName, "harness">,
  responseFile: string,
  protocols: BenchProtocol[],
  nodeArgs: string[],
): Promise<RunningServer> {
  const script = fileURLToPath(new URL(`./servers/${name}.js`, import.meta.url));
  const child = children.startNode(name, script, ["--response", responseFile], {}, nodeArgs);
  const port = await untilReady<number>(child, name, startTimeoutMs, (settle) =>
    forwardOutput(child, name, (line) => {
      const port = portOfReadyLine(line);
      if (port === undefined) return "forward";
      settle(port);
      return "consumed";
    }),
  );
  return { name, url: `http://127.0.0.1:${port}`, pid: child.pid ?? -1, protocols };
}

/**
 * Starts the harness, then the two baselines answering with the very bytes
 * the harness returned, and checks that every server and protocol answers
 * with an equal message. With `profDir`, each server writes a CPU profile
 * there when it exits.
 *
 * @throws Error when a server does not start or answers differently.
 */
export async function startServers(
  children: ChildProcesses,
  workDir: string,
  profDir?: string,
): Promise<RunningServer[]> {
  const nodeArgs = profDir ? ["--cpu-prof", "--cpu-prof-dir", profDir] : [];
  const { server: harness, reference } = await startHarness(children, workDir, nodeArgs);
  const responseFile = join(workDir, "describe-response.bin");
  writeFileSync(responseFile, toBinary(DescribeResponseSchema, reference));
  const servers = [
    harness,
    await startOwnServer(children, "bare-connect", responseFile, ["grpc", "connect"], nodeArgs),
    await startOwnServer(children, "grpc-js", responseFile, ["grpc"], nodeArgs),
  ];
  for (const server of servers) {
    for (const protocol of server.protocols) {
      const answer = await describeOnce(server.url, protocol);
      if (!equals(DescribeResponseSchema, answer, reference)) {
        throw new Error(`${server.name} over ${protocol} answers Describe unlike the harness`);
      }
    }
  }
  return servers;
}
