import { readFileSync } from "node:fs";

/**
 * Reads and parses a JSON file.
 *
 * @throws Error whose message starts with the file name, the cause attached.
 */
export function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}
