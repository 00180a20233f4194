import { listCommand } from "./list-command.js";
import { UsageError, runCommand } from "./run-command.js";
import { usage } from "./usage.js";

const [command, ...args] = process.argv.slice(2);
try {
  if (command === "run") process.exitCode = await runCommand(args);
  else if (command === "list") process.exitCode = listCommand();
  else if (command === "help" || command === "--help" || command === "-h")
    process.stdout.write(usage);
  else throw new UsageError(command ? `unknown command ${command}` : "a command is required");
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`vcts: ${err.message}\n\n${usage}`);
  process.exitCode = 2;
}
