// `Task.replace(sig)` (celery/app/task.py, 5.7): the replacement inherits the running task's id,
// its callbacks, errbacks, group/chord membership and root, and the rest of its chain; a group is
// first turned into a chord whose body is `celery.accumulate`, so something finishes under that id.
// Pure: the caller sends the result and ends the task with Ignore.
import { CeleryError } from '../errors.js';
import type { Signature, TaskRequest } from '../protocol/task-types.js';
import { chain, chord, type GroupSignature, isGroup, tasksOf } from './signatures.js';

/**
 * Thrown by `ctx.replace(sig)`: the worker sends the replacement (which inherits this task's id,
 * links, membership and chain) and ends the task as Ignore does (celery/app/task.py `replace`).
 */
export class Replace extends CeleryError {
  override readonly name = 'Replace' as const;
  constructor(readonly signature: Signature) {
    super(`Replaced by ${signature.task}`);
  }
}

/** The built-in body of a replacing group: returns the header results (or one of them). */
export const ACCUMULATE_TASK = 'celery.accumulate';

const accumulate = (): Signature => ({ task: ACCUMULATE_TASK, args: [], kwargs: { index: 0 }, options: {}, subtask_type: null, immutable: false });

/** Apply `update` to the signature whose result is the whole signature's result. */
function onFinal(sig: Signature, update: (s: Signature) => Signature): Signature {
  if (sig.subtask_type === 'chain') {
    const tasks = tasksOf(sig);
    return { ...sig, kwargs: { ...sig.kwargs, tasks: [...tasks.slice(0, -1), onFinal(tasks.at(-1)!, update)] } };
  }
  if (sig.subtask_type === 'chord') return { ...sig, kwargs: { ...sig.kwargs, body: onFinal(sig.kwargs.body as Signature, update) } };
  return update(sig);
}

const listOf = (value: unknown): Signature[] => (value == null ? [] : Array.isArray(value) ? (value as Signature[]) : [value as Signature]);

/** Python's `celery.accumulate`: `args[index]` when an index is given, else all args. */
export function accumulateResults(args: unknown[], index: unknown): unknown {
  return typeof index === 'number' ? args[index] : args;
}

export function replacementFor(task: TaskRequest, sig: Signature): Signature {
  if (sig.options?.chord) throw new CeleryError('A signature replacing a task must not be part of a chord');
  if (sig.subtask_type === 'chain' && tasksOf(sig).length === 0) throw new CeleryError('Cannot replace with an empty chain');
  let out = sig;
  // Groups get uplifted to a chord, so something links on and finishes under the task's id.
  if (isGroup(out)) out = chord(out, accumulate());
  if (out.subtask_type === 'chain' && isGroup(tasksOf(out).at(-1)!)) {
    const tasks = tasksOf(out);
    out = { ...out, kwargs: { ...out.kwargs, tasks: [...tasks.slice(0, -1), chord(tasks.at(-1) as GroupSignature, accumulate())] } };
  }
  const nesting = Number(task.headers.replaced_task_nesting ?? 0) + 1;
  // Callbacks and errbacks of the replaced task follow its result; the final task inherits the
  // id (earlier AsyncResults stay valid) and the group/chord membership.
  out = onFinal(out, (s) => {
    const link = [...listOf(s.options.link), ...(task.embed.callbacks ?? [])];
    const linkError = [...listOf(s.options.link_error), ...(task.embed.errbacks ?? [])];
    return {
      ...s,
      options: {
        ...s.options,
        task_id: task.id,
        ...(link.length ? { link } : {}),
        ...(linkError.length ? { link_error: linkError } : {}),
        chord: task.embed.chord,
        group_id: task.group,
        group_index: task.groupIndex,
      },
    };
  });
  const mark = (s: Signature): Signature => ({ ...s, options: { ...s.options, root_id: task.rootId, replaced_task_nesting: nesting } });
  out = out.subtask_type === 'chain' ? { ...mark(out), kwargs: { ...out.kwargs, tasks: tasksOf(out).map(mark) } } : mark(out);
  // The rest of the replaced task's chain runs after the replacement (embed.chain: next step last).
  const rest = [...(task.embed.chain ?? [])].reverse().map(mark);
  return rest.length ? chain([out, ...rest]) : out;
}
