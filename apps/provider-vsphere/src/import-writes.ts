import { type Ranges, addRange } from "@virtrigaud/contracts";

/** What is known of an import's staging file between writes. */
export interface StagingState {
  sizeBytes: number;
  /** The durable prefix: every byte before it is written and synced. */
  received: number;
  /** Ranges [start, end) past the prefix written and synced, sorted and apart. */
  ahead: Ranges;
  /** Nothing but zeros (holes) was ever written at or past this offset. */
  dirtyEnd: number;
}

/** What writing one chunk into the staging file takes, and the state after it. */
export interface WritePlan {
  /** Write the chunk's bytes at its offset. */
  writeData: boolean;
  /**
   * Write zeros over [from, to): the part of a zero range where earlier
   * writes may have left bytes. Past dirtyEnd the file is holes already.
   */
  zeroFill: { from: number; to: number } | undefined;
  next: StagingState;
}

/**
 * Plans a write of `length` bytes at `offset` (zeros when `zero`): zero
 * ranges stay holes where nothing was written. A range past the prefix is
 * remembered in `ahead` (chunks arrive out of order when several are in
 * flight), and the prefix grows over every range it comes to touch.
 */
export function planWrite(
  state: StagingState,
  chunk: { offset: number; length: number; zero: boolean },
): WritePlan {
  const end = chunk.offset + chunk.length;
  const zeroFill =
    chunk.zero && chunk.offset < state.dirtyEnd && chunk.length > 0
      ? { from: chunk.offset, to: Math.min(end, state.dirtyEnd) }
      : undefined;
  const dirtyEnd =
    chunk.zero || chunk.length === 0 ? state.dirtyEnd : Math.max(state.dirtyEnd, end);
  let received = state.received;
  let ahead =
    chunk.length > 0 && end > received ? addRange(state.ahead, chunk.offset, end) : state.ahead;
  while (ahead[0] && ahead[0][0] <= received) {
    received = Math.max(received, ahead[0][1]);
    ahead = ahead.slice(1);
  }
  return {
    writeData: !chunk.zero && chunk.length > 0,
    zeroFill,
    next: { sizeBytes: state.sizeBytes, received, ahead, dirtyEnd },
  };
}

/** Bytes of durable prefix between two writes of an import's record, and the step its dirtyEnd is reserved in. */
export const checkpointBytes = 64 * 1024 * 1024;

/** The import's record to write around one chunk's write; undefined: none. */
export interface RecordPlan {
  /**
   * Before the chunk's bytes: the chunk dirties the file past the recorded
   * dirtyEnd, which must never be below what was written (a restarted
   * provider takes the file past it for holes), so it is raised, a
   * checkpoint's worth further than needed.
   */
  before: StagingState | undefined;
  /** After them: the durable prefix crossed a checkpoint since the record, or reached the end. */
  after: StagingState | undefined;
}

/**
 * When the record is written: not per chunk (an fsync and a rename each), but
 * every `checkpointBytes` of durable prefix, at the end, and ahead of writes
 * past the recorded dirtyEnd. The prefix in the record only has to be durable
 * (its bytes synced), not current: a restarted provider resumes from it.
 */
export function planRecord(
  recorded: StagingState,
  current: StagingState,
  next: StagingState,
): RecordPlan {
  const size = next.sizeBytes;
  const before =
    next.dirtyEnd > recorded.dirtyEnd
      ? {
          ...current,
          dirtyEnd: Math.min(size, Math.ceil(next.dirtyEnd / checkpointBytes) * checkpointBytes),
        }
      : undefined;
  const last = before ?? recorded;
  const crossed =
    Math.floor(next.received / checkpointBytes) > Math.floor(last.received / checkpointBytes) ||
    (next.received === size && last.received !== size);
  return {
    before,
    after: crossed ? { ...next, dirtyEnd: Math.max(next.dirtyEnd, last.dirtyEnd) } : undefined,
  };
}
