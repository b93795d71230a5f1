// The abort handle of one running task: `ctx.signal` is created only when something reads it
// (most handlers never do), so a task costs no AbortController/AbortSignal pair unless asked.

export class TaskAbort {
  private controller: AbortController | null = null;
  private aborted: { reason: unknown } | null = null;

  /** The task's AbortSignal (already aborted when read after abort()). */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.aborted.reason);
    }
    return this.controller.signal;
  }

  /** Abort with `reason` (terminate, time limits, cold shutdown); the first reason stays. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = { reason };
    this.controller?.abort(reason);
  }

  /** The abort reason; undefined while not aborted. */
  get reason(): unknown {
    return this.aborted?.reason;
  }
}
