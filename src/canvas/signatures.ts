// Canvas builders: group, chain and chord as the signature dicts Python's celery.canvas produces
// (`dict(sig)`; celery/canvas.py `Signature`, `group`, `_chain`, `_chord`), so they can be applied
// here, embedded in messages, or handed to a Python worker unchanged. Pure data; `app.applyAsync`
// sends them.
import type { Signature } from '../protocol/task-types.js';

export interface GroupSignature extends Signature {
  task: 'celery.group';
  subtask_type: 'group';
  kwargs: { tasks: Signature[] };
}

export interface ChainSignature extends Signature {
  task: 'celery.chain';
  subtask_type: 'chain';
  kwargs: { tasks: Signature[] };
}

export interface ChordSignature extends Signature {
  task: 'celery.chord';
  subtask_type: 'chord';
  kwargs: { header: GroupSignature; body: Signature; kwargs: Record<string, unknown> };
}

/**
 * Run signatures in parallel (Python's `group(...)`).
 * @example await app.applyAsync(group([add.s([1, 1]), add.s([2, 2])]))
 */
export function group(tasks: Signature[], options: Record<string, unknown> = {}): GroupSignature {
  return { task: 'celery.group', args: [], kwargs: { tasks }, options, subtask_type: 'group', immutable: false };
}

/**
 * Run signatures one after another, each receiving the previous result (Python's `chain(...)`).
 * @example await app.applyAsync(chain([add.s([2, 2]), mul.s([4])]))
 */
export function chain(tasks: Signature[], options: Record<string, unknown> = {}): ChainSignature {
  return { task: 'celery.chain', args: [], kwargs: { tasks }, options, subtask_type: 'chain', immutable: false };
}

/**
 * Run `header` in parallel, then `body` with the list of their results (Python's `chord(...)`).
 * Needs a result backend that joins chords: Redis, django-db, or SQLAlchemy `db+` (polled by
 * `celery.chord_unlock`), as in Celery.
 * @example await app.applyAsync(chord([add.s([1, 1]), add.s([2, 2])], tsum.s()))
 */
export function chord(header: Signature[] | GroupSignature, body: Signature, options: Record<string, unknown> = {}): ChordSignature {
  const headerGroup = Array.isArray(header) ? group(header) : header;
  return { task: 'celery.chord', args: [], kwargs: { header: headerGroup, body, kwargs: {} }, options, subtask_type: 'chord', immutable: false };
}

/** The members of a group or the steps of a chain. */
export function tasksOf(sig: Signature): Signature[] {
  return (sig.kwargs?.tasks ?? []) as Signature[];
}

export function isGroup(sig: Signature): sig is GroupSignature {
  return sig.subtask_type === 'group';
}
