import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { parse, stringify } from "yaml";
import { CliError, exitCodes } from "./common.js";

/** One manager and how to reach it, as a kubeconfig context says. */
export interface VrtgContext {
  name: string;
  server?: string;
  namespace?: string;
  token?: string;
  "token-file"?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

/** vrtg's config file: contexts and the one in use. */
export interface VrtgConfig {
  "current-context"?: string;
  contexts?: VrtgContext[];
}

/** --config, VRTG_CONFIG, or ~/.config/vrtg/config.yaml. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return (
    flag ?? env["VRTG_CONFIG"] ?? join(env["HOME"] ?? homedir(), ".config", "vrtg", "config.yaml")
  );
}

/**
 * Reads the config file; an absent one is empty.
 *
 * @throws CliError (usage) for a file that is not such a YAML document.
 */
export function readConfig(path: string): VrtgConfig {
  if (!existsSync(path)) return {};
  let config: unknown;
  try {
    config = parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new CliError(`config file ${path}: ${(err as Error).message}`, exitCodes.usage);
  }
  if (config === null || config === undefined) return {};
  const contexts = (config as VrtgConfig).contexts;
  if (typeof config !== "object" || (contexts !== undefined && !Array.isArray(contexts)))
    throw new CliError(
      `config file ${path}: expected current-context and a list of contexts`,
      exitCodes.usage,
    );
  return config;
}

/**
 * A file a context names, as kubectl reads kubeconfig paths: `~/` is the
 * home directory, and a relative path is relative to the config file.
 */
function contextPath(path: string, configFile: string, env: NodeJS.ProcessEnv): string {
  if (path.startsWith("~/")) return join(env["HOME"] ?? homedir(), path.slice(2));
  return isAbsolute(path) ? path : join(dirname(configFile), path);
}

/** The context's file paths, resolved (see `contextPath`). */
export function resolveContextPaths(
  context: VrtgContext,
  configFile: string,
  env: NodeJS.ProcessEnv,
): VrtgContext {
  const resolved = { ...context };
  for (const key of ["token-file", "ca", "cert", "key"] as const) {
    const value = context[key];
    if (value) resolved[key] = contextPath(value, configFile, env);
  }
  return resolved;
}

/**
 * The context named by --context, or the file's current one.
 *
 * @throws CliError (usage) when the named context is not in the file.
 */
export function selectContext(
  config: VrtgConfig,
  name: string | undefined,
): VrtgContext | undefined {
  const wanted = name ?? config["current-context"];
  if (!wanted) return undefined;
  const found = config.contexts?.find((c) => c.name === wanted);
  if (!found)
    throw new CliError(
      `no context named ${JSON.stringify(wanted)} in the config file`,
      exitCodes.usage,
    );
  return found;
}

/** `vrtg config use-context NAME` and `vrtg config get-contexts`. */
export function configCommand(path: string, args: string[], out: (text: string) => void): number {
  const config = readConfig(path);
  const [sub, name] = args;
  if (sub === "use-context" && name) {
    selectContext(config, name);
    writeFileSync(path, stringify({ ...config, "current-context": name }), { mode: 0o600 });
    out(`Switched to context "${name}".\n`);
    return exitCodes.ok;
  }
  if (sub === "get-contexts") {
    for (const c of config.contexts ?? [])
      out(`${c.name === config["current-context"] ? "*" : " "} ${c.name}\t${c.server ?? ""}\n`);
    return exitCodes.ok;
  }
  if (sub === "current-context") {
    out(`${config["current-context"] ?? ""}\n`);
    return config["current-context"] ? exitCodes.ok : exitCodes.error;
  }
  throw new CliError(
    "vrtg config use-context NAME | get-contexts | current-context",
    exitCodes.usage,
  );
}

/**
 * A token file's token: its first line. The file stays the user's to keep
 * private; its content never reaches an error message.
 *
 * @throws CliError (usage) when it cannot be read or is empty.
 */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new CliError(`--token-file ${path}: ${(err as Error).message}`, exitCodes.usage);
  }
  const token = text.split("\n", 1)[0]?.trim() ?? "";
  if (!token) throw new CliError(`--token-file ${path}: holds no token`, exitCodes.usage);
  return token;
}
