// Sending a signature (a serialized task call; celery/canvas.py `Signature.apply_async`,
// `group.apply_async`, `_chain.run`, `_chord.run`): a plain task
// becomes one message; groups, chains and chords are unrolled as Celery's canvas does — ids are
// assigned up front (`freeze`), a chain step `group | task` becomes a chord, and a chord's header
// tasks carry the body, after the chord is recorded in the result backend's chord counter
// (celery/backends/base.py `Backend.apply_chord`; backend/chord-counter.ts, `chordCounterFor`) —
// or, on a backend without one (SQLAlchemy db+), after `celery.chord_unlock` is sent to poll it.
import { CHORD_BACKENDS, chordCounterFor, pollsChords } from '../backend/index.js';
import type { ResultBackend } from '../backend/result-backend.js';
import type { CeleryConfig } from '../config.js';
import type { Router } from '../routing.js';
import { CeleryError } from '../errors.js';
import { newId } from '../protocol/ids.js';
import type { ResultTuple } from '../protocol/result-meta.js';
import type { Signature } from '../protocol/task-message.js';
import type { SendTaskOptions } from '../send-task-options.js';
import { type ChordSignature, chord, type GroupSignature, tasksOf } from './signatures.js';

/**
 * What sending a signature needs of the app: its producer, its result backend (a chord records
 * its size there) and the backend's options. The app (`Celery`) is one; the canvas does not
 * import it back.
 */
export interface SignatureProducer {
  sendTask(name: string, args: unknown[], kwargs: Record<string, unknown>, options: SendTaskOptions): Promise<{ id: string }>;
  readonly backend: ResultBackend | null;
  readonly conf: Pick<CeleryConfig, 'result_backend_transport_options'>;
  /** Where a chord body would go (`celery.chord_unlock` is sent to the same queue). */
  readonly router: Pick<Router, 'route'>;
}

/** Celery's built-in that joins a chord on backends without a chord counter (worker side: chord-unlock.ts). */
export const CHORD_UNLOCK_TASK = 'celery.chord_unlock';

/** Signature options that map onto send options one to one (same Celery names). */
const PASSED_OPTIONS = [
  'task_id', 'queue', 'exchange', 'routing_key', 'priority', 'countdown', 'eta', 'expires', 'headers', 'shadow',
  'ignore_result', 'compression', 'link', 'link_error', 'time_limit', 'soft_time_limit', 'group_id', 'group_index',
  'root_id', 'parent_id', 'chain', 'chord', 'replaced_task_nesting',
] as const;

/** What makes a task a member of a group or chord: it belongs on a chain's LAST step. */
const MEMBERSHIP = ['group_id', 'group_index', 'chord'] as const;

export interface ApplyOverrides {
  /** Prepended to the signature's args unless it is immutable (the parent's return value). */
  prepend?: unknown[];
  /** Options that win over the signature's own (parent linkage, group membership). */
  options?: SendTaskOptions;
}

function sendOptions(sig: Signature): SendTaskOptions {
  const picked: Record<string, unknown> = {};
  const options = sig.options ?? {};
  for (const key of PASSED_OPTIONS) if (options[key] !== undefined && options[key] !== null) picked[key] = options[key];
  return picked as SendTaskOptions;
}

function without<T extends object>(options: T, keys: readonly string[]): T {
  return Object.fromEntries(Object.entries(options).filter(([k, v]) => !keys.includes(k) && v !== undefined)) as T;
}

const withOptions = (sig: Signature, options: Record<string, unknown>): Signature => ({ ...sig, options: { ...sig.options, ...options } });

/**
 * Celery's `freeze`: every task, group, chord body and chain step gets its id now, so the caller
 * can hold the final result before anything runs. Ids already assigned are kept.
 */
export function freeze(sig: Signature): Signature {
  switch (sig.subtask_type ?? null) {
    case 'group':
      return { ...withOptions(sig, { task_id: sig.options?.task_id ?? newId() }), kwargs: { ...sig.kwargs, tasks: tasksOf(sig).map(freeze) } };
    case 'chain':
      return { ...sig, kwargs: { ...sig.kwargs, tasks: prepareChain(tasksOf(sig)) } };
    case 'chord': {
      const { header, body } = sig.kwargs as ChordSignature['kwargs'];
      // As chord.freeze: the body keeps an id it has, else takes the chord's (`chord(..., task_id=)`
      // names the body); the chord itself then goes by its header group's id.
      const frozenBody = freeze(withOptions(body, { task_id: body.options?.task_id ?? sig.options?.task_id ?? newId() }));
      const frozenHeader = freeze(header) as GroupSignature;
      return {
        ...withOptions(sig, { task_id: frozenHeader.options.task_id }),
        kwargs: { ...sig.kwargs, header: frozenHeader, body: frozenBody },
      };
    }
    default:
      return withOptions(sig, { task_id: sig.options?.task_id ?? newId() });
  }
}

/**
 * `chain.prepare_steps`: nested chains are flattened, a group followed by another step becomes a
 * chord with that step as body, and every step is frozen.
 */
function prepareChain(tasks: Signature[]): Signature[] {
  const flat = tasks.flatMap((t) => (t.subtask_type === 'chain' ? prepareChain(tasksOf(t)) : [t]));
  const steps: Signature[] = [];
  for (let i = 0; i < flat.length; i++) {
    const step = flat[i]!;
    const next = flat[i + 1];
    if (step.subtask_type === 'group' && next) {
      steps.push(chord(step as GroupSignature, next));
      i++;
    } else {
      steps.push(step);
    }
  }
  return steps.map(freeze);
}

/** The id of the result a caller waits for (a frozen signature's): a chain's last step, a chord's body, a group's id. */
export function finalId(sig: Signature): string {
  if (sig.subtask_type === 'chain') {
    const last = tasksOf(sig).at(-1);
    if (!last) throw new CeleryError('an empty chain has no result');
    return finalId(last);
  }
  if (sig.subtask_type === 'chord') return finalId((sig as ChordSignature).kwargs.body);
  return sig.options.task_id as string;
}

/** The result tuple a frozen signature will have once sent (what `applyFrozen` returns). */
export function frozenTuple(sig: Signature): ResultTuple {
  switch (sig.subtask_type ?? null) {
    case 'group':
      return [[sig.options.task_id as string, null], tasksOf(sig).map(frozenTuple)];
    case 'chain':
      return chainTuple(tasksOf(sig));
    case 'chord': {
      const { header } = (sig as ChordSignature).kwargs;
      return [[finalId(sig), frozenTuple(header)], null];
    }
    default:
      return [[sig.options.task_id as string, null], null];
  }
}

/** Publish a signature; returns the result tuple of what was sent (Celery's `as_tuple`). */
export function applySignature(app: SignatureProducer, sig: Signature, overrides: ApplyOverrides = {}): Promise<ResultTuple> {
  return applyFrozen(app, freeze(sig), overrides);
}

/** Publish a signature `freeze` has already given its ids (its parts are frozen with it). */
export async function applyFrozen(app: SignatureProducer, frozen: Signature, overrides: ApplyOverrides = {}): Promise<ResultTuple> {
  const prepend = frozen.immutable ? [] : (overrides.prepend ?? []);
  switch (frozen.subtask_type ?? null) {
    case null: {
      const options = { ...sendOptions(frozen), ...overrides.options };
      const result = await app.sendTask(frozen.task, [...prepend, ...(frozen.args ?? [])], frozen.kwargs ?? {}, options);
      return [[result.id, null], null];
    }
    case 'group': {
      const groupId = frozen.options.task_id as string;
      const results: ResultTuple[] = [];
      for (const [index, member] of tasksOf(frozen).entries()) {
        results.push(await applyFrozen(app, member, { prepend, options: { ...overrides.options, group_id: groupId, group_index: index } }));
      }
      return [[groupId, null], results];
    }
    case 'chain':
      return applyChain(app, tasksOf(frozen), prepend, overrides.options ?? {});
    case 'chord':
      return applyChord(app, frozen as ChordSignature, prepend, overrides.options ?? {});
    default:
      throw new CeleryError(`cannot apply a '${frozen.subtask_type}' signature (${frozen.task})`);
  }
}

/**
 * celery/canvas.py `_chain.run`: the producer sends only the first step; the rest ride in
 * embed.chain, next step last (`_chain.prepare_steps` reverses them).
 * Group/chord membership of the whole chain belongs to its last step, where the result is.
 */
async function applyChain(app: SignatureProducer, steps: Signature[], prepend: unknown[], options: SendTaskOptions): Promise<ResultTuple> {
  if (steps.length === 0) return chainTuple(steps);
  const membership = Object.fromEntries(MEMBERSHIP.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
  const last = steps.length - 1;
  const placed = steps.map((step, i) => (i === last && Object.keys(membership).length ? withOptions(step, membership) : step));
  const [first, ...rest] = placed;
  const firstOptions = without(options, MEMBERSHIP);
  await applyFrozen(app, first!, { prepend, options: { ...firstOptions, ...(rest.length ? { chain: rest.reverse() } : {}) } });
  return chainTuple(steps);
}

/** A chain's result: the last step's, its parents being the earlier steps (AsyncResult.parent in Python). */
function chainTuple(steps: Signature[]): ResultTuple {
  return steps.reduce<ResultTuple | null>((parent, step) => [[finalId(step), parent], null], null) ?? [[newId(), null], null];
}

/** `_chord.run` (canvas.py): record the chord in the backend's chord counter, then send the header tasks carrying the body. */
async function applyChord(app: SignatureProducer, sig: ChordSignature, prepend: unknown[], options: SendTaskOptions): Promise<ResultTuple> {
  const { header, body } = sig.kwargs;
  const groupId = header.options.task_id as string;
  const callerOptions = { ...without(sig.options, ['task_id']), ...without(options, ['task_id']) };
  // The body takes the caller's options (a chain's remainder, links) but not its parent: the
  // header task that completes the chord becomes that. Header tasks get neither chain nor links.
  const fullBody = withOptions(body, without(callerOptions, ['parent_id', 'group_id', 'group_index']));
  const headerOptions = without(callerOptions, ['chain', 'chord', 'link', 'link_error', 'group_id', 'group_index']) as SendTaskOptions;
  const members = tasksOf(header);
  if (members.length === 0) {
    // Nothing will ever complete the chord: the body runs at once with no results (Celery does the same).
    await applyFrozen(app, fullBody, { prepend: [[]] });
    return [[finalId(fullBody), [[groupId, null], []]], null];
  }
  const counter = chordCounterFor(app.backend, app.conf.result_backend_transport_options);
  if (counter) await counter.applyChord(groupId, members.map(frozenTuple));
  else if (pollsChords(app.backend)) await sendChordUnlock(app, groupId, fullBody, members.map(frozenTuple));
  else throw new CeleryError(CHORD_BACKENDS);
  const results: ResultTuple[] = [];
  for (const [index, member] of members.entries()) {
    results.push(await applyFrozen(app, member, { prepend, options: { ...headerOptions, group_id: groupId, group_index: index, chord: fullBody } }));
  }
  return [[finalId(fullBody), [[groupId, null], results]], null];
}

/**
 * celery/backends/base.py `BaseBackend.fallback_chord_unlock` (5.7), sent before the header as
 * `apply_chord` does: `celery.chord_unlock(group_id, body, interval=None, max_retries=None,
 * result=[header tuples], _chord_unlock_exchange_type=…)`, one second from now, to the body's
 * queue (its `queue` option, else where the router sends the body's task) with the body's
 * exchange / routing_key / headers options — so the worker that runs the body polls the header.
 * The body's priority goes along when it has one (Celery sends 0 otherwise, which a quorum queue
 * refuses here).
 */
async function sendChordUnlock(app: SignatureProducer, groupId: string, body: Signature, header: ResultTuple[]): Promise<void> {
  const options = body.options ?? {};
  const pick = (key: string) => (options[key] !== undefined && options[key] !== null ? { [key]: options[key] } : {});
  const routing = { ...pick('exchange'), ...pick('routing_key'), ...pick('headers'), ...pick('priority') } as SendTaskOptions;
  const kwargs = { interval: null, max_retries: null, result: header };
  const route = app.router.route(body.task, [], kwargs, { ...(typeof options.queue === 'string' ? { queue: options.queue } : {}) });
  const exchangeType = (options.exchange_type as string | undefined) ?? route.queue?.exchangeType;
  const queue = route.queue?.name;
  await app.sendTask(CHORD_UNLOCK_TASK, [groupId, body], exchangeType ? { ...kwargs, _chord_unlock_exchange_type: exchangeType } : kwargs, {
    countdown: 1,
    ...(queue ? { queue } : {}),
    ...routing,
  });
}
