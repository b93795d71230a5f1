// What a worker publishes after a task finishes: link callbacks and the next chain step on success
// (celery/app/trace.py `build_tracer`, its `_dispatch_callbacks_and_chain`), errbacks on failure
// (celery/backends/base.py `Backend._call_task_errbacks`) — each a child of the finished task.
import type { Celery } from '../app.js';
import { applySignature } from '../canvas/apply-signature.js';
import type { Logger } from '../log.js';
import { newId } from '../protocol/ids.js';
import type { ResultTuple } from '../protocol/result-meta.js';
import type { Signature, TaskRequest } from '../protocol/task-message.js';
import type { SendTaskOptions } from '../send-task-options.js';

/**
 * A child's options: parent and root, plus `more` (added with Object.assign, not after a spread:
 * in Node 20's V8 `{ ...base, key }` gives every object a map of its own, and this runs for every
 * chain step).
 */
function childOptions(task: TaskRequest, more?: SendTaskOptions): SendTaskOptions {
  const options: SendTaskOptions = { parent_id: task.id, root_id: task.rootId ?? task.id };
  return more ? Object.assign(options, more) : options;
}

async function applyEach(app: Celery, sigs: Signature[], prepend: unknown[], options: (i: number) => SendTaskOptions, logger: Logger): Promise<ResultTuple[]> {
  const children: ResultTuple[] = [];
  for (const [i, sig] of sigs.entries()) {
    try {
      children.push(await applySignature(app, sig, { prepend, options: options(i) }));
    } catch (error) {
      logger.error(`Could not publish ${sig.task}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return children;
}

/** Success callbacks: one is sent alone; several plain ones go out as one group (fresh group id). */
export function publishCallbacks(app: Celery, task: TaskRequest, value: unknown, logger: Logger): Promise<ResultTuple[]> {
  const callbacks = task.embed.callbacks ?? [];
  const groupId = callbacks.length > 1 ? newId() : undefined;
  return applyEach(app, callbacks, [value], (i) => childOptions(task, groupId ? { group_id: groupId, group_index: i } : undefined), logger);
}

/** The next chain step: the LAST element of embed.chain, with the rest as its own chain. */
export async function publishChainStep(app: Celery, task: TaskRequest, value: unknown, logger: Logger): Promise<ResultTuple | null> {
  const chain = task.embed.chain ?? [];
  const next = chain.at(-1);
  if (!next) return null;
  const rest = chain.slice(0, -1);
  const [child] = await applyEach(app, [next], [value], () => childOptions(task, { chain: rest.length ? rest : undefined }), logger);
  return child ?? null;
}

/** Errbacks are published with the failed task's id as their only argument (`_call_task_errbacks`). */
export async function publishErrbacks(app: Celery, task: TaskRequest, logger: Logger): Promise<void> {
  const errbacks = task.embed.errbacks ?? [];
  if (errbacks.length === 0) return;
  const groupId = newId();
  const errbackArgs = errbacks.map((sig) => ({ ...sig, immutable: true, args: [task.id, ...(sig.args ?? [])] }));
  await applyEach(app, errbackArgs, [], (i) => childOptions(task, { group_id: groupId, group_index: i }), logger);
}
