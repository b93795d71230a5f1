// ETA/countdown messages wait here, unacknowledged, until they are due. The worker raises its
// prefetch window by one per held message, as Celery does (celery/worker/strategy.py `default`:
// `qos.increment_eventually()`; celery/worker/consumer/consumer.py `Consumer.apply_eta_task`), so
// held messages never starve the worker of runnable ones. Better than Celery (whose
// `worker_eta_task_limit` caps the whole prefetch window, so a flood of far-future tasks stops
// every other task too): at most `limit` messages are held — the earliest ones. A later one is
// given back to the broker (to the back of its queue) after at most a second, and an earlier one
// takes the place of the latest held, which is given back at once: far-future floods stay on
// the broker instead of in memory, without a hot re-fetch loop.
import type { Request } from './request.js';

/** setTimeout's ceiling (~24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** How long a message over the limit waits before it goes back (bounds the re-fetch rate). */
const OVERFLOW_WAIT_MS = 1000;

interface Held {
  dueAt: number;
  timer: NodeJS.Timeout;
}

export interface EtaHolderOptions {
  /** At most this many messages held (null = no limit, Celery's default). */
  limit?: number | null;
  /** Give a message the holder will not keep back to the broker. */
  giveBack?: (req: Request) => void;
}

export class EtaHolder {
  private readonly held = new Map<Request, Held>();
  /** Over the limit, waiting to be given back (or run, if due first); not counted in `size`. */
  private readonly overflow = new Map<Request, NodeJS.Timeout>();

  constructor(
    private readonly now: () => number,
    private readonly options: EtaHolderOptions = {},
  ) {}

  /** Messages held for their ETA (each raises the prefetch window by one); at most `limit`. */
  get size(): number {
    return this.held.size;
  }

  /** Held and overflowing requests (`inspect scheduled`). */
  requests(): Request[] {
    return [...this.held.keys(), ...this.overflow.keys()];
  }

  /** Hold `req` until `dueAt` (epoch ms), then call `onDue`. */
  hold(req: Request, dueAt: number, onDue: (req: Request) => void): void {
    const limit = this.options.limit;
    if (limit !== null && limit !== undefined && this.held.size >= limit) {
      const latest = this.latest();
      if (latest && dueAt < latest[1].dueAt) {
        this.release((r) => r === latest[0]).forEach((r) => this.options.giveBack?.(r));
      } else {
        this.overflowed(req, dueAt, onDue);
        return;
      }
    }
    const arm = () => {
      const wait = dueAt - this.now();
      if (wait <= 0) {
        this.held.delete(req);
        onDue(req);
        return;
      }
      this.held.set(req, { dueAt, timer: setTimeout(arm, Math.min(wait, MAX_TIMER_MS)) });
    };
    this.held.set(req, { dueAt, timer: setTimeout(arm, Math.min(Math.max(0, dueAt - this.now()), MAX_TIMER_MS)) });
  }

  private overflowed(req: Request, dueAt: number, onDue: (req: Request) => void): void {
    const wait = Math.max(0, Math.min(OVERFLOW_WAIT_MS, dueAt - this.now()));
    this.overflow.set(
      req,
      setTimeout(() => {
        this.overflow.delete(req);
        if (dueAt <= this.now()) onDue(req);
        else this.options.giveBack?.(req);
      }, wait),
    );
  }

  private latest(): [Request, Held] | undefined {
    let found: [Request, Held] | undefined;
    for (const entry of this.held) if (!found || entry[1].dueAt > found[1].dueAt) found = entry;
    return found;
  }

  /** Stop holding the requests `which` picks (overflowing ones included); returns them. */
  release(which: (req: Request) => boolean): Request[] {
    const released = this.requests().filter(which);
    for (const req of released) {
      clearTimeout(this.held.get(req)?.timer ?? this.overflow.get(req));
      this.held.delete(req);
      this.overflow.delete(req);
    }
    return released;
  }

  /** Stop holding everything; returns the requests that were held (to give back to the broker). */
  releaseAll(): Request[] {
    return this.release(() => true);
  }
}
