import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The temporary directories one test file makes, removed together: call
 * `removeAll` in the file's `afterEach` or `afterAll`, so a run of the suite
 * leaves nothing behind in the OS's temporary directory.
 */
export class TempDirs {
  readonly #prefix: string;
  readonly #made: string[] = [];

  /** @param prefix begins each directory's name, to tell whose it is (e.g. `keyring-`). */
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** A new, empty directory under the OS's temporary directory. */
  make(): string {
    const dir = mkdtempSync(join(tmpdir(), this.#prefix));
    this.#made.push(dir);
    return dir;
  }

  /** Removes every directory made so far, with what is in it; those already gone are skipped. */
  removeAll(): void {
    for (const dir of this.#made.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}
