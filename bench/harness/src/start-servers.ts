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

/** The four servers compared. */
export type ServerName = "harness" | "provider-mock" | "bare-connect" | "grpc-js";

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

/** A provider binary's command-line flags to listen on `port` on loopback, quietly. */
function providerArgs(port: number): string[] {
  return [
    ...["--listen", `127.0.0.1:${port}`, "--insecure", "--ops-listen", "off"],
    ...["--log-level", "warn"],
  ];
}

/**
 * Starts a provider process made with `runProvider` (the production harness)
 * and waits until it answers Describe; returns that first answer.
 */
async function startProvider(
  children: ChildProcesses,
  name: "harness" | "provider-mock",
  script: string,
  args: string[],
  nodeArgs: string[],
): Promise<{ server: RunningServer; answer: DescribeResponse }> {
  const port = await findFreePort();
  const child = children.startNode(name, script, [...providerArgs(port), ...args], {}, nodeArgs);
  forwardOutput(child, name);
  const url = `http://127.0.0.1:${port}`;
  const answer = await untilReady<DescribeResponse>(child, name, startTimeoutMs, (settle) =>
    pollDescribe(url, settle),
  );
  const server: RunningServer = { name, url, pid: child.pid ?? -1, protocols: ["grpc", "connect"] };
  return { server, answer };
}

/**
 * Starts the provider-mock binary with one seeded VM, and returns the
 * Describe answer every server must then give.
 */
async function startProviderMock(
  children: ChildProcesses,
  workDir: string,
  nodeArgs: string[],
): Promise<{ server: RunningServer; reference: DescribeResponse }> {
  const inventory = join(workDir, "inventory.json");
  const vm = { name: "bench-vm", cpu: 2, memoryMib: 2048, powerState: "on" };
  writeFileSync(inventory, JSON.stringify({ templates: [], vms: [vm] }));
  const { server, answer } = await startProvider(
    children,
    "provider-mock",
    mockBin(),
    ["--inventory", inventory],
    nodeArgs,
  );
  if (!answer.exists) throw new Error(`provider-mock does not know ${benchVmId}`);
  return { server, reference: answer };
}

/** The compiled script of one of this package's servers. */
function ownScript(name: string): string {
  return fileURLToPath(new URL(`./servers/${name}.js`, import.meta.url));
}

/** Starts one of this package's server processes and waits for its ready line. */
async function startOwnServer(
  children: ChildProcesses,
  name: "bare-connect" | "grpc-js",
  responseFile: string,
  protocols: BenchProtocol[],
  nodeArgs: string[],
): Promise<RunningServer> {
  const child = children.startNode(
    name,
    ownScript(name),
    ["--response", responseFile],
    {},
    nodeArgs,
  );
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
 * Starts the provider-mock binary, then the harness and the two baselines
 * answering with the very bytes the mock returned, and checks that every
 * server and protocol answers with an equal message. With `profDir`, each
 * server writes a CPU profile there when it exits.
 *
 * @throws Error when a server does not start or answers differently.
 */
export async function startServers(
  children: ChildProcesses,
  workDir: string,
  profDir?: string,
): Promise<RunningServer[]> {
  const nodeArgs = profDir ? ["--cpu-prof", "--cpu-prof-dir", profDir] : [];
  const { server: mock, reference } = await startProviderMock(children, workDir, nodeArgs);
  const responseFile = join(workDir, "describe-response.bin");
  writeFileSync(responseFile, toBinary(DescribeResponseSchema, reference));
  const { server: harness } = await startProvider(
    children,
    "harness",
    ownScript("harness"),
    ["--response", responseFile],
    nodeArgs,
  );
  const servers = [
    harness,
    mock,
    await startOwnServer(children, "bare-connect", responseFile, ["grpc", "connect"], nodeArgs),
    await startOwnServer(children, "grpc-js", responseFile, ["grpc"], nodeArgs),
  ];
  for (const server of servers) {
    for (const protocol of server.protocols) {
      const answer = await describeOnce(server.url, protocol);
      if (!equals(DescribeResponseSchema, answer, reference)) {
        throw new Error(`${server.name} over ${protocol} answers Describe unlike provider-mock`);
      }
    }
  }
  return servers;
}
