// ETA/countdown messages wait here, unacknowledged, until they are due. The worker raises its
// prefetch window by one per held message, as Celery does (celery/worker/strategy.py `default`:
// `qos.increment_eventually()`; celery/worker/consumer/consumer.py `Consumer.apply_eta_task`), so
// held messages never starve the worker of runnable ones.
import type { Request } from './request.js';

/** setTimeout's ceiling (~24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class EtaHolder {
  private readonly held = new Map<Request, NodeJS.Timeout>();

  constructor(private readonly now: () => number) {}

  get size(): number {
    return this.held.size;
  }

  requests(): Request[] {
    return [...this.held.keys()];
  }

  /** Hold `req` until `dueAt` (epoch ms), then call `onDue`. */
  hold(req: Request, dueAt: number, onDue: (req: Request) => void): void {
    const arm = () => {
      const wait = dueAt - this.now();
      if (wait <= 0) {
        this.held.delete(req);
        onDue(req);
        return;
      }
      this.held.set(req, setTimeout(arm, Math.min(wait, MAX_TIMER_MS)));
    };
    this.held.set(req, setTimeout(arm, Math.min(Math.max(0, dueAt - this.now()), MAX_TIMER_MS)));
  }

  /** Stop holding the requests `which` picks; returns them. */
  release(which: (req: Request) => boolean): Request[] {
    const released = this.requests().filter(which);
    for (const req of released) {
      clearTimeout(this.held.get(req));
      this.held.delete(req);
    }
    return released;
  }

  /** Stop holding everything; returns the requests that were held (to give back to the broker). */
  releaseAll(): Request[] {
    return this.release(() => true);
  }
}
