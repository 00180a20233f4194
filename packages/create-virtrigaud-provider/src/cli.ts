import { parseArgs } from "node:util";
import { scaffoldProvider } from "./scaffold.js";

const usage = `create-virtrigaud-provider: a new VirtRigaud provider project, ready to build and pass vcts.

Usage: npx create-virtrigaud-provider NAME [--dir DIR]

  NAME        the provider's name: lowercase letters, digits and dashes (for example acme-cloud)
  --dir DIR   where to create it (default: ./virtrigaud-provider-NAME); must be empty or absent
`;

try {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { dir: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(usage);
  } else {
    const [name, ...extra] = positionals;
    if (!name || extra.length)
      throw new Error(name ? `unexpected ${extra.join(" ")}` : "NAME is required");
    const dir = scaffoldProvider({ name, ...(values.dir ? { dir: values.dir } : {}) });
    process.stdout.write(
      `Created ${dir}\n\nNext:\n  cd ${dir}\n  npm install    # writes package-lock.json: commit it; npm ci installs from it after that\n  npm test\n`,
    );
  }
} catch (err) {
  process.stderr.write(`create-virtrigaud-provider: ${(err as Error).message}\n\n${usage}`);
  process.exitCode = 2;
}
