import { parseArgs } from "node:util";
import { SpanStatusCode, context, trace } from "@opentelemetry/api";
import { ProviderError, clip } from "@virtrigaud/contracts";
import {
  CliError,
  type GlobalOptions,
  type Io,
  type ManagerClient,
  connect,
  exitCodes,
  explain,
} from "./common.js";
import { findCommand } from "./commands/index.js";
import {
  configCommand,
  configPath,
  readConfig,
  readTokenFile,
  resolveContextPaths,
  selectContext,
} from "./config-file.js";

const usage = `vrtg: declare and inspect VirtRigaud resources

Usage: vrtg COMMAND [ARGS] [flags]

Commands:
  apply -f FILE|DIR|-                      create or update resources from manifests (YAML or JSON)
  get KIND [NAME...] [-o wide|yaml|json] [-l SELECTOR] [-w]
  describe KIND NAME...                    resources with their conditions and events
  delete KIND NAME... | -f FILE [--force] [--wait]
  wait KIND NAME... --for condition=Ready[=True] | --for delete [--timeout DURATION]
  events [KIND NAME] [-w]
  snapshot create VM NAME [--memory] | revert VM SNAPSHOT [--timeout DURATION] | list VM
  provider add NAME --type TYPE --endpoint URL | list | check NAME
  status [-o yaml|json]                    the manager that answered, its store, and who runs the controllers
  audit [-o yaml|json]                     the answering manager's recent audit records (mutating and refused calls)
  auth whoami [-o json]                    who the manager takes you for
  auth can-i VERB KIND [NAME] [-n NS|-A]   whether you may: prints yes (exit 0) or no (exit 1)
  console VM                               the VM's serial console in this terminal; Ctrl-] leaves it
  config use-context NAME | get-contexts | current-context

Kinds: providers, vmclasses, vmimages, vmnetworkattachments, virtualmachines (vm),
       vmsnapshots (snapshot), vmclones (clone), vmmigrations (migration), secrets,
       roles, rolebindings, clusterroles, clusterrolebindings

Flags:
  -s, --server URL          the manager [VRTG_SERVER] (default http://127.0.0.1:9090)
  -n, --namespace NS        default "default"
  -A, --all-namespaces
  --ca FILE, --cert FILE, --key FILE   TLS toward the manager (--cert and --key: a client certificate)
  --token TOKEN             a bearer token [VIRTRIGAUD_TOKEN]; --token-file FILE reads it from a file
  --context NAME            a context of the config file (--config FILE [VRTG_CONFIG], default
                            ~/.config/vrtg/config.yaml: current-context, contexts of name, server,
                            namespace, token or token-file, ca, cert, key); flags and variables win
  -f, --filename PATH       repeatable
  -o, --output FORMAT       wide, yaml or json
  -l, --selector SELECTOR   labels, for example app=web,tier!=db
  -w, --watch               keep printing changes
  --for, --timeout          for wait (default 30s); --timeout also bounds delete --wait (default 5m)
                            and snapshot revert's wait for the manager (default 60s)
  --dry-run                 check and report, store nothing
  --force                   delete a VirtualMachine without waiting for its provider
  --wait                    delete: wait until the resource is gone

Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 invalid manifest or value,
5 conflict, 6 timed out, 7 manager unreachable, 8 apply stored only some resources.
`;

/** Runs vrtg with arguments; returns the exit code. */
export async function runVrtg(
  argv: string[],
  io: Io,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        server: { type: "string", short: "s" },
        namespace: { type: "string", short: "n" },
        "all-namespaces": { type: "boolean", short: "A" },
        ca: { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        token: { type: "string" },
        "token-file": { type: "string" },
        context: { type: "string" },
        config: { type: "string" },
        filename: { type: "string", short: "f", multiple: true },
        output: { type: "string", short: "o" },
        selector: { type: "string", short: "l" },
        watch: { type: "boolean", short: "w" },
        for: { type: "string" },
        timeout: { type: "string" },
        "dry-run": { type: "boolean" },
        force: { type: "boolean" },
        wait: { type: "boolean" },
        memory: { type: "boolean" },
        type: { type: "string" },
        endpoint: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    io.err(`error: ${clip((err as Error).message, 500)}\n\n${usage}`);
    return exitCodes.usage;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || !command) {
    io.out(usage);
    return command || values.help ? exitCodes.ok : exitCodes.usage;
  }
  let global: GlobalOptions;
  try {
    const path = configPath(values.config, env);
    if (command === "config") return configCommand(path, args, io.out);
    const selected = selectContext(readConfig(path), values.context);
    const ctx = selected && resolveContextPaths(selected, path, env);
    const tokenFile = values["token-file"] ?? ctx?.["token-file"];
    const token =
      values.token ??
      (values["token-file"] ? readTokenFile(values["token-file"]) : undefined) ??
      (env["VIRTRIGAUD_TOKEN"] || undefined) ??
      ctx?.token ??
      (tokenFile ? readTokenFile(tokenFile) : undefined);
    const caFile = values.ca ?? ctx?.ca;
    const certFile = values.cert ?? ctx?.cert;
    const keyFile = values.key ?? ctx?.key;
    global = {
      server: values.server ?? env["VRTG_SERVER"] ?? ctx?.server ?? "http://127.0.0.1:9090",
      namespace: values.namespace ?? ctx?.namespace ?? "default",
      allNamespaces: values["all-namespaces"] ?? false,
      ...(caFile ? { caFile } : {}),
      ...(certFile ? { certFile } : {}),
      ...(keyFile ? { keyFile } : {}),
      ...(token ? { token } : {}),
    };
  } catch (err) {
    const error = explain(err);
    io.err(`error: ${error.message}\n`);
    return error.exitCode;
  }
  const run = findCommand(command);
  if (!run) {
    io.err(`error: unknown command ${clip(JSON.stringify(command), 100)}\n\n${usage}`);
    return exitCodes.usage;
  }
  let connected: ManagerClient;
  try {
    connected = connect(global);
  } catch (err) {
    if (err instanceof CliError) {
      io.err(`error: ${err.message}\n`);
      return err.exitCode;
    }
    // A TLS file that cannot work (the client checks them when it is made):
    // name the flag and the file, which vrtg read and handed over as PEM.
    const flags: Record<string, [string, string | undefined]> = {
      ca: ["--ca", global.caFile],
      cert: ["--cert", global.certFile],
      key: ["--key", global.keyFile],
    };
    const error = ProviderError.from(err);
    const part = (error.field ?? "").replace(/^tls\./, "").replace(/File$/, "");
    const [flag, file] = flags[part] ?? [part, undefined];
    io.err(`error: ${flag}: ${file ? `${JSON.stringify(file)} ` : ""}${error.rawMessage}\n`);
    return exitCodes.usage;
  }
  let client: ManagerClient | undefined = connected;
  // One span per command: every call to the manager is its child, and the
  // manager's work continues its trace (exported when tracing is set up).
  const span = trace.getTracer("@virtrigaud/vrtg").startSpan(`vrtg ${command}`, {
    attributes: { "vrtg.command": command, "vrtg.server": global.server },
  });
  const active = trace.setSpan(context.active(), span);
  try {
    const code = await context.with(active, () =>
      run({
        client: connected,
        global,
        io,
        args,
        flags: {
          filename: values.filename ?? [],
          ...(values.output ? { output: values.output } : {}),
          ...(values.selector ? { selector: values.selector } : {}),
          watch: values.watch ?? false,
          ...(values.for ? { for: values.for } : {}),
          ...(values.timeout ? { timeout: values.timeout } : {}),
          dryRun: values["dry-run"] ?? false,
          force: values.force ?? false,
          wait: values.wait ?? false,
          memory: values.memory ?? false,
          ...(values.type ? { type: values.type } : {}),
          ...(values.endpoint ? { endpoint: values.endpoint } : {}),
        },
      }),
    );
    // Nothing more goes to the manager: close before waiting below, so the
    // connection is not left open for the manager's GOAWAY to arrive on.
    client = undefined;
    connected.close();
    // A failed write reports itself on a later tick: let it, before the code is final.
    await new Promise((resolve) => setImmediate(resolve));
    const final = code === exitCodes.ok && outputFailed(io) ? exitCodes.error : code;
    span.setAttribute("vrtg.exit_code", final);
    if (final !== exitCodes.ok) span.setStatus({ code: SpanStatusCode.ERROR });
    return final;
  } catch (err) {
    const error = err instanceof CliError ? err : explain(err, "", global.server);
    io.err(`error: ${error.message}\n`);
    span.setAttribute("vrtg.exit_code", error.exitCode);
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    return error.exitCode;
  } finally {
    span.end();
    client?.close();
  }
}

/**
 * Standard output failed for another reason than its reader going away
 * (a full disk, say): the output is incomplete, so vrtg does not exit 0.
 */
function outputFailed(io: Io): boolean {
  const reason = io.outClosed.reason as NodeJS.ErrnoException | undefined;
  return io.outClosed.aborted && reason?.code !== "EPIPE";
}

/**
 * The process's Io. When standard output's reader goes away (`vrtg ... |
 * head -1`) vrtg stops writing and finishes what it was asked to do; a
 * closed standard error is no reason to stop either.
 */
export function createProcessIo(): Io {
  const closed = new AbortController();
  let errClosed = false;
  const err = (text: string) => {
    if (!errClosed) process.stderr.write(text);
  };
  process.stderr.on("error", () => (errClosed = true));
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (closed.signal.aborted) return;
    closed.abort(error);
    if (error.code !== "EPIPE") err(`error: cannot write to standard output: ${error.message}\n`);
  });
  return {
    out: (text) => {
      if (!closed.signal.aborted) process.stdout.write(text);
    },
    err,
    stdin: () => process.stdin,
    outClosed: closed.signal,
    ...(process.stdin.isTTY ? { setRawMode: (on: boolean) => process.stdin.setRawMode(on) } : {}),
  };
}
