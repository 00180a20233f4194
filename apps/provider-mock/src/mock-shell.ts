/**
 * A tiny line-based shell behind the mock's serial console, so tests can
 * type a command and read its answer: characters are echoed as a terminal
 * in cooked mode echoes them, and Enter runs the line. It knows `echo ...`,
 * `hostname`, `stty size` (its terminal's rows and columns, as a pty's
 * window: 0 0 until the caller sends a size) and nothing else. Pure: bytes
 * and sizes in, bytes out.
 */
export interface MockShell {
  /** What the console shows when it is opened: a banner and the prompt. */
  readonly greeting: string;
  /** What the console shows after `input` was typed. */
  feed(input: string): string;
  /** The caller's terminal now has `rows` rows of `cols` columns. */
  resize(cols: number, rows: number): void;
}

/** A shell on the VM named `hostname`. */
export function createMockShell(hostname: string): MockShell {
  const prompt = `${hostname}$ `;
  let line = "";
  let size = { cols: 0, rows: 0 };
  const run = (command: string): string => {
    const [name = "", ...args] = command.trim().split(/\s+/);
    if (name === "") return "";
    if (name === "echo") return `${args.join(" ")}\r\n`;
    if (name === "hostname") return `${hostname}\r\n`;
    if (name === "stty" && args.join(" ") === "size") return `${size.rows} ${size.cols}\r\n`;
    return `${name}: command not found\r\n`;
  };
  return {
    greeting: `mock serial console of ${hostname}\r\n${prompt}`,
    resize(cols, rows) {
      size = { cols, rows };
    },
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
