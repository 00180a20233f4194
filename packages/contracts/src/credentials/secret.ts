import { inspect } from "node:util";

/**
 * A secret value (password, token, private key) that does not print: its
 * string, JSON and inspected forms are "[redacted]". Call `reveal()` at the
 * one place the value is used.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return "[redacted]";
  }

  toJSON(): string {
    return "[redacted]";
  }

  [inspect.custom](): string {
    return "Secret([redacted])";
  }
}
