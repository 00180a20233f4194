import type { ConformanceEvents } from "../suite/run-conformance.js";
import type { CaseResult, ConformanceCase } from "../suite/types.js";

interface Row {
  id: string;
  state: "waiting" | "running" | "passed" | "failed";
  detail: string;
}

const marks: Record<Row["state"], string> = {
  waiting: "·",
  running: "…",
  passed: "✓",
  failed: "✗",
};

/**
 * Shows the run as it goes. On a terminal: a table of every case, redrawn
 * in place as cases start and finish. Elsewhere (CI logs): a line per
 * finished case.
 */
export function createLiveTable(
  cases: readonly ConformanceCase[],
  stream: NodeJS.WriteStream = process.stdout,
): ConformanceEvents & { done(): void } {
  const interactive = stream.isTTY === true;
  const rows = new Map<string, Row>(
    cases.map((c) => [c.id, { id: c.id, state: "waiting", detail: c.title }]),
  );
  const width = Math.max(...cases.map((c) => c.id.length), 10);
  let drawn = 0;

  const line = (row: Row) => {
    const text = `${marks[row.state]} ${row.id.padEnd(width)}  ${row.detail}`;
    const columns = stream.columns ?? 120;
    return text.length > columns ? `${text.slice(0, columns - 1)}…` : text;
  };
  const redraw = () => {
    if (drawn) stream.write(`\x1b[${drawn}F`);
    for (const row of rows.values()) stream.write(`\x1b[2K${line(row)}\n`);
    drawn = rows.size;
  };
  const finished = (result: CaseResult) => {
    const row = rows.get(result.id);
    if (!row) return;
    row.state = result.status;
    row.detail = `${result.durationMs} ms${result.mode === "undeclared" ? " (undeclared: UNSUPPORTED checked)" : ""}${result.error ? `  ${result.error}` : ""}`;
    if (interactive) redraw();
    else stream.write(`${line(row)}\n`);
  };

  if (interactive) redraw();
  return {
    caseStarted(c) {
      const row = rows.get(c.id);
      if (row && interactive) {
        row.state = "running";
        redraw();
      }
    },
    caseFinished: finished,
    done() {
      if (interactive) redraw();
    },
  };
}
