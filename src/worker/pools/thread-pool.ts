// `-P threads`: tasks run in Node worker threads, so CPU-bound handlers do not block the worker's
// event loop (broker I/O, timers, other tasks). Each thread loads the worker's tasks module itself
// and runs tasks by name. Like Celery's prefork pool (celery/concurrency/prefork.py, billiard) a
// thread is terminated and replaced at the hard time limit, replaced when it dies under a task
// (WorkerLostError), and recycled after --max-tasks-per-child tasks or --max-memory-per-child KiB.
import type { ResourceLimits } from 'node:worker_threads';
import { TaskRevokedError, TimeLimitExceeded } from '../../errors.js';
import { type Logger, silentLogger } from '../../log.js';
import type { TaskContext, TaskDefinition } from '../../registry/task-definition.js';
import type { TaskExecutor } from './executor.js';
import { PoolThread } from './pool-thread.js';
import { decodeError, encodeError } from './thread-errors.js';
import { contextData, type FromThread } from './thread-messages.js';
import { WorkerLostError } from './worker-lost.js';

export interface ThreadPoolOptions {
  /** The `-A MODULE[:EXPORT]` spec the worker was started with; every thread loads it. */
  appModule: string;
  /** Threads (the worker's concurrency). */
  size: number;
  /** The directory `appModule` is relative to (default: the current directory). */
  cwd?: string;
  /** Replace a thread after it ran this many tasks (`--max-tasks-per-child`). */
  maxTasksPerChild?: number | null;
  /** Replace a thread whose isolate holds more than this many KiB after a task (`--max-memory-per-child`). */
  maxMemoryPerChild?: number | null;
  /** V8 limits of each thread; a thread exceeding them dies (WorkerLostError). */
  resourceLimits?: ResourceLimits;
  logger?: Logger;
}

interface Job {
  id: number;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  ctx: TaskContext;
  thread: PoolThread | null;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  onAbort(): void;
}

/** Abort reasons that end the task where it stands: the thread is terminated, not asked. */
const kills = (reason: unknown) => reason instanceof TimeLimitExceeded || reason instanceof TaskRevokedError;

/**
 * Runs task handlers in worker threads.
 * @example
 * const pool = new ThreadPool({ appModule: './tasks.ts', size: 4 });
 * const worker = new Worker(app, { pool: 'threads', appModule: './tasks.ts' }); // what the worker does
 */
export class ThreadPool implements TaskExecutor {
  readonly name = 'threads';
  private size: number;
  private readonly logger: Logger;
  private readonly threads = new Set<PoolThread>();
  private readonly waiting: Job[] = [];
  private readonly running = new Map<number, Job>();
  private nextJob = 0;
  private closed = false;

  constructor(private readonly options: ThreadPoolOptions) {
    this.size = Math.max(1, options.size);
    this.logger = options.logger ?? silentLogger;
  }

  /** Thread ids of the live threads. */
  get threadIds(): number[] {
    return [...this.threads].map((t) => t.threadId);
  }

  /** Start all threads; resolves when each has loaded the tasks module, rejects with the load error. */
  async start(): Promise<void> {
    this.fill();
    await Promise.all([...this.threads].map((t) => t.ready));
  }

  resize(size: number): void {
    this.size = Math.max(1, size);
    for (const thread of [...this.threads]) {
      if (this.threads.size <= this.size) break;
      if (!thread.busy) void this.retire(thread);
    }
    this.pump();
  }

  run(definition: TaskDefinition, args: unknown[], kwargs: Record<string, unknown>, ctx: TaskContext): Promise<unknown> {
    if (this.closed) return Promise.reject(new WorkerLostError('the thread pool is closed'));
    return new Promise((resolve, reject) => {
      const job: Job = { id: ++this.nextJob, name: definition.name, args, kwargs, ctx, thread: null, resolve, reject, onAbort: () => this.onAbort(job) };
      if (ctx.signal.aborted && kills(ctx.signal.reason)) return reject(ctx.signal.reason);
      ctx.signal.addEventListener('abort', job.onAbort, { once: true });
      this.waiting.push(job);
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) this.settle(job, false, new WorkerLostError('the thread pool is closed'));
    for (const job of [...this.running.values()]) {
      this.settle(job, false, job.ctx.signal.aborted ? job.ctx.signal.reason : new WorkerLostError('the thread pool is closed'));
    }
    const threads = [...this.threads];
    this.threads.clear();
    await Promise.all(threads.map((t) => t.terminate()));
  }

  /** Start threads up to the pool size. */
  private fill(): void {
    while (!this.closed && this.threads.size < this.size) this.spawn();
  }

  private spawn(): void {
    const thread = new PoolThread(
      { appModule: this.options.appModule, cwd: this.options.cwd ?? process.cwd() },
      { onMessage: (t, message) => this.onMessage(t, message), onExit: (t, code, error) => this.onThreadExit(t, code, error) },
      this.options.resourceLimits,
    );
    this.threads.add(thread);
    thread.ready.then(
      () => this.pump(),
      (error: unknown) => {
        // The module does not load: fail what waits rather than restarting threads in a loop.
        this.threads.delete(thread);
        this.logger.error(`Task thread could not load ${this.options.appModule}: ${error instanceof Error ? error.message : String(error)}`);
        for (const job of this.waiting.splice(0)) this.settle(job, false, error);
      },
    );
  }

  /** Hand waiting jobs to idle, ready threads. */
  private pump(): void {
    if (this.closed) return;
    this.fill();
    for (const thread of this.threads) {
      if (this.waiting.length === 0) return;
      if (!thread.busy && thread.loaded) this.assign(thread, this.waiting.shift()!);
    }
  }

  private assign(thread: PoolThread, job: Job): void {
    try {
      thread.post({ type: 'run', job: job.id, name: job.name, args: job.args, kwargs: job.kwargs, ctx: contextData(job.ctx) });
    } catch (error) {
      // Arguments or headers structured clone cannot copy: the task fails, the thread stays idle.
      this.settle(job, false, error);
      return;
    }
    job.thread = thread;
    thread.setBusy(job.id);
    this.running.set(job.id, job);
    if (job.ctx.signal.aborted) this.onAbort(job);
  }

  private onAbort(job: Job): void {
    const reason: unknown = job.ctx.signal.reason;
    const thread = job.thread;
    if (!thread) {
      const index = this.waiting.indexOf(job);
      if (index >= 0) this.waiting.splice(index, 1);
      this.settle(job, false, reason);
    } else if (kills(reason)) {
      // celery/concurrency/prefork.py: a hard limit (or terminate) kills the child; a fresh one takes its place.
      this.settle(job, false, reason);
      void this.retire(thread);
    } else {
      thread.post({ type: 'abort', job: job.id, reason: encodeError(reason) });
    }
  }

  private onMessage(thread: PoolThread, message: FromThread): void {
    if (message.type === 'update-state') {
      const job = this.running.get(message.job);
      const ack = (error?: unknown) => {
        try {
          thread.post({ type: 'state-done', call: message.call, error: error === undefined ? undefined : encodeError(error) });
        } catch {
          // the thread is gone (terminated at the hard limit); nobody waits for the answer
        }
      };
      if (!job) return ack(new Error('the task is no longer running'));
      job.ctx.updateState(message.state, message.meta).then(() => ack(), (error: unknown) => ack(error ?? new Error('updateState failed')));
      return;
    }
    if (message.type !== 'done') return;
    const job = this.running.get(message.job);
    thread.setBusy(null);
    thread.tasksRun += 1;
    if (job) {
      if (message.ok) this.settle(job, true, message.value);
      else this.settle(job, false, decodeError(message.error, job.ctx.signal.reason));
    }
    this.afterTask(thread, message.memory);
  }

  /** Recycle the thread if it reached its task or memory limit, else give it the next job. */
  private afterTask(thread: PoolThread, memory: number): void {
    const { maxTasksPerChild, maxMemoryPerChild } = this.options;
    if (this.threads.size > this.size) {
      void this.retire(thread);
    } else if (maxTasksPerChild && thread.tasksRun >= maxTasksPerChild) {
      this.logger.debug(`Task thread ${thread.threadId} exiting after ${thread.tasksRun} tasks (max tasks per child)`);
      void this.retire(thread);
    } else if (maxMemoryPerChild && memory > maxMemoryPerChild * 1024) {
      // billiard/pool.py MAXMEM_USED_FMT: the child exits after the task that crossed the limit.
      this.logger.warn(`child process exiting after exceeding memory limit (${Math.round(memory / 1024)}KiB / ${maxMemoryPerChild}KiB)`);
      void this.retire(thread);
    }
    this.pump();
  }

  /** Terminate a thread and start its replacement (if the pool still needs one). */
  private async retire(thread: PoolThread): Promise<void> {
    this.threads.delete(thread);
    this.pump();
    await thread.terminate();
  }

  private onThreadExit(thread: PoolThread, exitCode: number, error: Error | undefined): void {
    if (!this.threads.delete(thread)) return;
    const job = thread.job !== null ? this.running.get(thread.job) : undefined;
    const why = error ? `: ${error.name}: ${error.message}` : '';
    this.logger.error(`Task thread ${thread.threadId} exited (exit code ${exitCode})${why}; starting a new one`);
    // billiard/pool.py: "Worker exited prematurely: exitcode N Job: N."
    if (job) this.settle(job, false, new WorkerLostError(`Worker exited prematurely: exitcode ${exitCode} Job: ${job.id}.`, error ? { cause: error } : undefined));
    this.pump();
  }

  private settle(job: Job, ok: boolean, outcome: unknown): void {
    job.ctx.signal.removeEventListener('abort', job.onAbort);
    this.running.delete(job.id);
    if (ok) job.resolve(outcome);
    else job.reject(outcome);
  }
}
