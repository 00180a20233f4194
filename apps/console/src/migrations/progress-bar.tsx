import type { MigrationProgressView } from "./migration-progress";

/** A migration's copy as a bar, with the bytes, rate and time left beside it. */
export function ProgressBar({
  progress,
  label,
}: {
  progress: MigrationProgressView;
  label: string;
}) {
  return (
    <span className="progress">
      <progress aria-label={label} max={100} value={progress.percent} data-field="percent">
        {progress.percent}%
      </progress>{" "}
      <span data-field="percent-text">{progress.percent}%</span>
      {progress.bytes && <span data-field="bytes"> · {progress.bytes}</span>}
      {progress.rate && <span data-field="rate"> · {progress.rate}</span>}
      {progress.timeLeft && <span data-field="time-left"> · {progress.timeLeft} left</span>}
    </span>
  );
}
