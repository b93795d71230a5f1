// The default execution pool: tasks run as async functions on the worker's event loop, at most
// `concurrency` at a time. A CPU-bound handler blocks the loop; that is what `-P threads` is for.

export class AsyncPool {
  private running = 0;
  private readonly waiting: (() => Promise<void>)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(private concurrency: number) {}

  get size(): number {
    return this.concurrency;
  }

  get active(): number {
    return this.running;
  }

  /** Change the number of slots (pool_grow / pool_shrink); growing starts waiting jobs at once. */
  resize(concurrency: number): void {
    this.concurrency = Math.max(1, concurrency);
    while (this.running < this.concurrency && this.waiting.length > 0) this.start(this.waiting.shift()!);
  }

  /** Run `job` when a slot is free. */
  submit(job: () => Promise<void>): void {
    if (this.running < this.concurrency) this.start(job);
    else this.waiting.push(job);
  }

  /** Drop jobs that have not started (the caller gives their messages back). */
  clearWaiting(): void {
    this.waiting.length = 0;
  }

  /** Resolves when nothing runs and nothing waits. */
  onIdle(): Promise<void> {
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private start(job: () => Promise<void>): void {
    this.running++;
    // Jobs record their own failures: a rejection only frees the slot, as a fulfilment does.
    job().then(this.finished, this.finished);
  }

  /** One bound callback for every job (no closures or promise chains built per task). */
  private readonly finished = (): void => {
    this.running--;
    const next = this.waiting.shift();
    if (next) this.start(next);
    else if (this.running === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  };
}
