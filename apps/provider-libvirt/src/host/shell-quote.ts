/**
 * Quoting of arguments for the two command languages the provider writes:
 * POSIX sh (the host shell session) and virsh's own command strings. Both
 * treat a single-quoted string literally, so an argument becomes
 * `'...'` with each `'` written as `'\''`. Nothing a value holds (spaces,
 * `;`, `$`, backquotes, newlines, `#`, `!`) can end the argument early.
 */

/**
 * Quotes one argument for POSIX sh.
 *
 * @throws TypeError for a string holding a NUL byte, which no shell argument can carry.
 */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new TypeError("an argument cannot contain a NUL byte");
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Quotes an argument vector for POSIX sh: each argument quoted, joined by spaces. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/**
 * Quotes one argument for a virsh command string (`virsh 'cmd arg ; cmd'`).
 * virsh's parser reads `'...'` literally and a backslash outside quotes
 * escapes the next character, as sh does, so the same form is safe.
 *
 * @throws TypeError for a string holding a NUL byte or a newline (virsh reads a command string line by line).
 */
export function virshQuote(value: string): string {
  if (/[\0\n\r]/.test(value)) {
    throw new TypeError("a virsh argument cannot contain a NUL byte or a line break");
  }
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * The options of one virsh command: `true` is a flag, a string or number is
 * the option's value, a list repeats the option once per value.
 */
export type VirshOptions = Readonly<
  Record<string, string | number | boolean | readonly string[] | undefined>
>;

/**
 * One virsh command. Every value is written as `--name 'value'`, never as a
 * bare positional argument, so a value that looks like an option (`--config`)
 * is still data: virsh takes the word after an option name as its value.
 *
 * @throws TypeError for a command or option name that is not a plain word, or a value virshQuote refuses.
 */
export function virshCommand(name: string, options: VirshOptions = {}): string {
  if (!/^[a-z][a-z-]*$/.test(name)) throw new TypeError(`not a virsh command: ${name}`);
  const words = [name];
  for (const [option, value] of Object.entries(options)) {
    if (!/^[a-z][a-z-]*$/.test(option)) throw new TypeError(`not a virsh option: ${option}`);
    if (value === undefined || value === false) continue;
    if (value === true) words.push(`--${option}`);
    else if (typeof value === "object") {
      for (const v of value) words.push(`--${option} ${virshQuote(v)}`);
    } else words.push(`--${option} ${virshQuote(String(value))}`);
  }
  return words.join(" ");
}
