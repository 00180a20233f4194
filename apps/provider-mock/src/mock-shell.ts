/**
 * A tiny line-based shell behind the mock's serial console, so tests can
 * type a command and read its answer: characters are echoed as a terminal
 * in cooked mode echoes them, and Enter runs the line. It knows `echo ...`,
 * `hostname` and nothing else. Pure: bytes in, bytes out.
 */
export interface MockShell {
  /** What the console shows when it is opened: a banner and the prompt. */
  readonly greeting: string;
  /** What the console shows after `input` was typed. */
  feed(input: string): string;
}

/** A shell on the VM named `hostname`. */
export function createMockShell(hostname: string): MockShell {
  const prompt = `${hostname}$ `;
  let line = "";
  const run = (command: string): string => {
    const [name = "", ...args] = command.trim().split(/\s+/);
    if (name === "") return "";
    if (name === "echo") return `${args.join(" ")}\r\n`;
    if (name === "hostname") return `${hostname}\r\n`;
    return `${name}: command not found\r\n`;
  };
  return {
    greeting: `mock serial console of ${hostname}\r\n${prompt}`,
    feed(input) {
      let out = "";
      for (const char of input) {
        if (char === "\r" || char === "\n") {
          out += `\r\n${run(line)}${prompt}`;
          line = "";
        } else if (char === "\x7f" || char === "\b") {
          if (line.length > 0) {
            line = line.slice(0, -1);
            out += "\b \b";
          }
        } else if (char >= " ") {
          line += char;
          out += char;
        }
      }
      return out;
    },
  };
}
