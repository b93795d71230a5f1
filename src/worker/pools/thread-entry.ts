// A task thread of `-P threads`: loads the worker's tasks module (its own copy of the app, used
// only for its task registry) and runs tasks by name for the pool. Results, errors and state
// updates go back to the main thread, which owns the broker and the result backend.
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { Celery } from '../../app.js';
import { EncodeError, NotRegistered, Retry } from '../../errors.js';
import { loadApp } from '../../registry/module-loader.js';
import type { TaskContext, TaskDefinition } from '../../registry/task-definition.js';
import { taskControlFlow } from '../../registry/task-handle.js';
import { autoretryFor } from '../retry.js';
import { decodeError, encodeError } from './thread-errors.js';
import type { FromThread, ThreadInit, ToThread } from './thread-messages.js';

const port = parentPort;
if (!port) throw new Error('thread-entry runs only as a worker thread of the thread pool');
const init = workerData as ThreadInit;
const send = (message: FromThread) => port.postMessage(message);

const jobs = new Map<number, AbortController>();
const stateCalls = new Map<number, { resolve: () => void; reject: (error: unknown) => void }>();
let nextCall = 0;

function memoryInUse(): number {
  const heap = getHeapStatistics();
  return heap.used_heap_size + heap.external_memory;
}

/** `ctx.updateState` in a thread: the main thread stores it through the real context and acks back. */
function updateState(job: number, state: string, meta: unknown): Promise<void> {
  const call = ++nextCall;
  return new Promise<void>((resolve, reject) => {
    stateCalls.set(call, { resolve, reject });
    try {
      send({ type: 'update-state', job, call, state, meta: meta ?? null });
    } catch (error) {
      stateCalls.delete(call);
      reject(error);
    }
  });
}

/** The error the worker sees: an autoretry is decided here, where the task's error classes live. */
function outcomeError(thrown: unknown, definition: TaskDefinition | undefined, ctx: TaskContext): unknown {
  if (!definition || !(definition.options.autoretry_for?.length)) return thrown;
  const name = thrown instanceof Error ? thrown.name : '';
  if (['Retry', 'Reject', 'Ignore', 'Replace'].includes(name)) return thrown;
  // As the tracer does: a handler that lets the soft-limit abort escape fails with the reason itself.
  const reason: unknown = ctx.signal.reason;
  const escaped = ctx.signal.aborted && reason instanceof Error && reason.name === 'SoftTimeLimitExceeded' && thrown instanceof Error && thrown.name === 'AbortError';
  const retry = autoretryFor(escaped ? reason : thrown, definition.options, ctx.retries);
  return retry ? new Retry(retry) : thrown;
}

async function run(app: Celery, message: Extract<ToThread, { type: 'run' }>): Promise<void> {
  const { job } = message;
  const controller = new AbortController();
  jobs.set(job, controller);
  const ctx: TaskContext = {
    ...message.ctx,
    signal: controller.signal,
    updateState: (state, meta) => updateState(job, state, meta),
    ...taskControlFlow,
  };
  const definition = app.tasks.get(message.name);
  let reply: FromThread;
  try {
    if (!definition) throw new NotRegistered(message.name);
    const value = await app.currentTask.run(ctx, () => definition.run(message.args, message.kwargs, ctx));
    reply = { type: 'done', job, ok: true, value: value ?? null, memory: 0 };
  } catch (thrown) {
    reply = { type: 'done', job, ok: false, error: encodeError(outcomeError(thrown, definition, ctx), controller.signal), memory: 0 };
  } finally {
    jobs.delete(job);
  }
  reply.memory = memoryInUse();
  try {
    send(reply);
  } catch (cloneError) {
    // A return value structured clone cannot copy (a function, a socket…) cannot be stored either.
    const reason = cloneError instanceof Error ? cloneError.message : String(cloneError);
    send({ type: 'done', job, ok: false, error: encodeError(new EncodeError(`cannot send the return value to the worker: ${reason}`)), memory: reply.memory });
  }
}

async function main(): Promise<void> {
  let app: Celery;
  try {
    app = await loadApp(init.appModule, init.cwd);
  } catch (error) {
    send({ type: 'init-failed', error: encodeError(error) });
    port!.close();
    return;
  }
  port!.on('message', (message: ToThread) => {
    switch (message.type) {
      case 'run':
        void run(app, message);
        break;
      case 'abort':
        jobs.get(message.job)?.abort(decodeError(message.reason));
        break;
      case 'state-done': {
        const pending = stateCalls.get(message.call);
        stateCalls.delete(message.call);
        if (message.error) pending?.reject(decodeError(message.error));
        else pending?.resolve();
        break;
      }
    }
  });
  send({ type: 'ready' });
}

await main();
