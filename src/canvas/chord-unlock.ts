// Celery's built-in `celery.chord_unlock` (celery/app/builtins.py `add_unlock_chord_task`): how a
// chord completes on a result backend without a chord counter (BaseBackend, e.g. the SQLAlchemy
// DatabaseBackend). The producer sends it with the header's result tuples (apply-signature.ts
// `sendChordUnlock`); it polls them, retrying itself every `interval` seconds until all are ready,
// then sends the body with the results joined in header order — or, when one failed, fails the
// body with ChordError('Dependency <id> raised <repr>') and calls its errbacks (chord-error.ts).
import { z } from 'zod';
import { headerIds, joinHeader } from '../backend/chord-counter.js';
import { ChordError, MaxRetriesExceededError } from '../errors.js';
import { exceptionRepr, toExceptionInfo } from '../protocol/exceptions.js';
import type { ResultTuple, TaskMeta } from '../protocol/result-meta.js';
import { PROPAGATE_STATES, READY_STATES } from '../protocol/states.js';
import type { Signature } from '../protocol/task-message.js';
import { validate } from '../registry/arguments.js';
import type { TaskContext, TaskOptions } from '../registry/task-definition.js';
import { applySignature, CHORD_UNLOCK_TASK, type SignatureProducer } from './apply-signature.js';
import { dependencyFailed, failChordBody } from './chord-error.js';

/** What to do with a chord whose header results were read. */
export type UnlockDecision =
  | { kind: 'wait' }
  /** The first failed header task in header order, and its stored exception. */
  | { kind: 'fail'; taskId: string; exception: unknown }
  | { kind: 'apply'; results: unknown[] };

/**
 * `GroupResult.ready()`, then `join(propagate=True)`: wait until every result is ready; the first
 * failed (FAILURE/REVOKED) one in header order fails the chord (`_failed_join_report`); else the
 * values in header order, a nested group giving its list of values (`GroupResult.get`).
 */
export function unlockDecision(header: readonly ResultTuple[], metaOf: (id: string) => TaskMeta): UnlockDecision {
  if (!headerIds(header).every((id) => READY_STATES.has(metaOf(id).status))) return { kind: 'wait' };
  const entries = joinHeader(header, metaOf);
  const failed = entries.find((entry) => PROPAGATE_STATES.has(entry.state));
  if (failed !== undefined) return { kind: 'fail', taskId: failed.taskId, exception: failed.result };
  return { kind: 'apply', results: entries.map((entry) => entry.result) };
}

/** What the unlock task needs of the app: send signatures, read results, the poll interval. */
export interface ChordUnlockApp extends SignatureProducer {
  readonly conf: SignatureProducer['conf'] & { result_chord_retry_interval: number };
}

/**
 * The arguments Celery sends: `unlock_chord(group_id, callback, interval=None, max_retries=None,
 * result=None, **kwargs)`. Any other keyword is accepted, as `**kwargs` does: 5.7 adds
 * `_chord_unlock_exchange_type` (the body queue's exchange type, which its retries re-declare —
 * ours go back where the message came from).
 */
const UNLOCK_PARAMS = ['group_id', 'callback', 'interval', 'max_retries', 'result'] as const;

const unlockKwargs = z.looseObject({
  group_id: z.string(),
  callback: z.looseObject({ task: z.string() }),
  interval: z.number().positive().nullable().optional(),
  max_retries: z.number().int().nonnegative().nullable().optional(),
  result: z.array(z.unknown()).nullable().optional(),
});

export type UnlockArguments = z.output<typeof unlockKwargs>;

/** Python's binding of `unlock_chord`'s positional and keyword arguments, then validation (one-line error). */
export function unlockArguments(args: unknown[], kwargs: Record<string, unknown>): UnlockArguments {
  if (args.length > UNLOCK_PARAMS.length) throw new TypeError(`celery.chord_unlock() takes ${UNLOCK_PARAMS.length} positional arguments but ${args.length} were given`);
  const bound: Record<string, unknown> = { ...kwargs };
  for (const [i, value] of args.entries()) bound[UNLOCK_PARAMS[i]!] = value;
  return validate(CHORD_UNLOCK_TASK, 'kwargs', unlockKwargs, bound);
}

/** The task's options, as Celery registers it: never stores a result, retries forever. */
export function chordUnlockOptions(app: ChordUnlockApp): Partial<TaskOptions> {
  return { ignore_result: true, max_retries: null, default_retry_delay: app.conf.result_chord_retry_interval };
}

/** The handler of `celery.chord_unlock` (bound arguments in `kwargs`). */
export async function unlockChord(app: ChordUnlockApp, kwargs: UnlockArguments, ctx: TaskContext): Promise<void> {
  const { group_id: groupId, interval, max_retries: maxRetries } = kwargs;
  const callback = kwargs.callback as unknown as Signature;
  const backend = app.backend;
  if (!backend) throw new ChordError(`chord ${groupId}: celery.chord_unlock needs a result backend to read the header from`);
  const header = (kwargs.result ?? []) as ResultTuple[];
  /**
   * Poll again in `interval` s. Past `max_retries` nothing would poll the chord again, so Celery
   * 5.7 fails the body with ChordError('chord_unlock could not be retried: …') and raises.
   */
  const pollAgain = async (readyError?: unknown): Promise<never> => {
    if (maxRetries != null && ctx.retries >= maxRetries) {
      const cause = readyError ?? new MaxRetriesExceededError(`Can't retry ${ctx.name}[${ctx.id}] (max_retries=${maxRetries})`);
      const info = toExceptionInfo(cause);
      await failChordBody(app, callback, new ChordError(`chord_unlock could not be retried: ${exceptionRepr(info)}`));
      throw cause;
    }
    return ctx.retry({ countdown: interval ?? app.conf.result_chord_retry_interval, max_retries: null, ...(readyError === undefined ? {} : { exc: readyError }) });
  };
  let decision: UnlockDecision;
  try {
    const metas = new Map<string, TaskMeta>();
    for (const id of headerIds(header)) metas.set(id, await backend.getMeta(id));
    decision = unlockDecision(header, (id) => metas.get(id)!);
  } catch (error) {
    // As Celery: a backend that cannot answer now is asked again at the next poll.
    return pollAgain(error);
  }
  if (decision.kind === 'wait') return pollAgain();
  if (decision.kind === 'fail') return failChordBody(app, callback, dependencyFailed(decision.taskId, decision.exception));
  try {
    await applySignature(app, callback, { prepend: [decision.results] });
  } catch (error) {
    await failChordBody(app, callback, new ChordError(`Callback error: ${error instanceof Error ? error.message : String(error)}`));
  }
}
