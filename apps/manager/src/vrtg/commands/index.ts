import type { Command } from "../command-context.js";
import { apply } from "./apply.js";
import { audit } from "./audit.js";
import { auth } from "./auth.js";
import { consoleCommand } from "./console.js";
import { remove } from "./delete.js";
import { describe } from "./describe.js";
import { events } from "./events.js";
import { get } from "./get.js";
import { provider } from "./provider.js";
import { snapshot } from "./snapshot.js";
import { status } from "./status.js";
import { wait } from "./wait.js";

/** vrtg's commands by the name they are called by, one file each. */
const commands: Readonly<Record<string, Command>> = {
  apply,
  get,
  describe,
  delete: remove,
  wait,
  events,
  snapshot,
  provider,
  status,
  audit,
  auth,
  console: consoleCommand,
};

/** The command called `name`, if vrtg has one. */
export function findCommand(name: string): Command | undefined {
  return Object.hasOwn(commands, name) ? commands[name] : undefined;
}
