// Chord bookkeeping, per result backend (celery/backends/base.py `Backend.apply_chord` and
// `on_chord_part_return`, which each backend overrides): the producer records the header before
// sending it; every finished header task reports to the counter; the one that completes it gets
// every header outcome back and sends (or fails) the body. Redis keeps a join set
// (redis/chord.ts); django-celery-results a counter row (django/chord-counter.ts); index.ts
// `chordCounterFor` picks a backend's.
import type { ResultTuple, TaskMeta } from '../protocol/result-meta.js';
import { PROPAGATE_STATES, READY_STATES, SUCCESS } from '../protocol/states.js';

/** One header task's outcome. */
export interface ChordEntry {
  taskId: string;
  state: string;
  /**
   * The JSON result: the return value, or the exception dict (celery/backends/base.py
   * `Backend.prepare_exception`).
   */
  result: unknown;
}

export type ChordPartOutcome =
  | { complete: false }
  | {
      complete: true;
      /** Every header outcome, in `group_index` order (insertion order when unordered). */
      results: ChordEntry[];
      /** The header saved as a GroupResult (nested groups), which Celery joins instead; else null. */
      savedGroup: ResultTuple | null;
      /** Our dispatch claim; pass it to `finishChord` once the body is sent. */
      claimToken: string;
    };

export interface ChordPart {
  groupId: string;
  /** The task's `group_index` header; null scores `+inf` (redis.py). */
  groupIndex: number | null;
  taskId: string;
  /** Any ready state: SUCCESS, FAILURE and REVOKED all count. */
  state: string;
  result: unknown;
}

export interface ChordCounter {
  /** Producer side, before the header is sent: `Backend.apply_chord` with the header's frozen results. */
  applyChord(groupId: string, header: ResultTuple[]): Promise<void>;
  /** A header task finished (`Backend.on_chord_part_return`). */
  onChordPartReturn(part: ChordPart): Promise<ChordPartOutcome>;
  /** After the body was sent (or failed): release what `onChordPartReturn` claimed. */
  finishChord(groupId: string, claimToken: string): Promise<unknown>;
}

/**
 * What the error says when a chord is sent with a backend that can neither count nor poll one
 * (none, memory, rpc:// — celery/backends/rpc.py `ensure_chords_allowed`: "The rpc result backend
 * does not support chords!").
 */
export const CHORD_BACKENDS =
  "chords need the Redis, django-db or SQLAlchemy (db+) result backend; rpc:// does not support chords, as in Celery (set result_backend to a redis:// URL, django-db or db+postgresql://…)";

/** The task ids a header's result tuples name: a member's own id, or every member of a nested group. */
export function headerIds(tuples: readonly ResultTuple[]): string[] {
  return tuples.flatMap(([[id], children]) => (children ? headerIds(children) : [id]));
}

/**
 * `GroupResult.join` over stored metas: each header member's outcome in header order; a nested
 * group's is the list of its members' values, or its first member that failed or is not ready.
 * A chain in the header is its last step (the tuple's own id; its parents don't count).
 */
export function joinHeader(tuples: readonly ResultTuple[], metaOf: (taskId: string) => TaskMeta): ChordEntry[] {
  return tuples.map(([[id], children]) => {
    if (!children) {
      const meta = metaOf(id);
      return { taskId: id, state: meta.status, result: meta.result };
    }
    const members = joinHeader(children, metaOf);
    const failed = members.find((entry) => PROPAGATE_STATES.has(entry.state) || !READY_STATES.has(entry.state));
    return failed ?? { taskId: id, state: SUCCESS, result: members.map((entry) => entry.result) };
  });
}
