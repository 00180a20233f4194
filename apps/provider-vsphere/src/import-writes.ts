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
