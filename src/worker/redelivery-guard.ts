// Copies of a task RabbitMQ delivers again because the connection its ack was due on went away —
// killed node, closed connection, restarted broker — while this worker ran (or had just run) the
// task: the ack of a delivery from a dead channel is a no-op (or, batched, never reached the
// broker), so the message comes back marked redelivered, usually to this same worker once it has
// reconnected. Celery runs such a copy again; ts-celery does not run it twice in one worker: the
// copy waits for the earlier run and is then settled as that run settled its message (acked,
// rejected), or runs after all when the earlier run gave its message back. Only a delivery
// flagged redelivered with the same task id and retry count counts as a copy (a retry is a new
// message with the same id and retries + 1). Bounded: the oldest entries go first. One entry per
// task id (the id string is already hashed by then, a composite key would be built and hashed on
// every task): a retry's run replaces the run it retries, so a copy of that earlier attempt
// arriving after the retry started runs again, as Celery would run it.

/** How a run settled its message. */
export type Settlement = 'ack' | 'reject' | 'requeue';

const DEFAULT_CAPACITY = 10_000;

export class RedeliveryGuard {
  /** Runs on the current connection: running, or finished recently (their ack may not have landed). */
  private readonly current = new Map<string, Run>();
  /** Runs on a connection that was lost: a redelivered copy of one is not run again. */
  private readonly suspect = new Map<string, Run>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** A task starts running; call the returned function with how its message was settled (null: not at all). */
  started(id: string, retries: number): (settlement: Settlement | null) => void {
    const run = new Run(retries);
    put(this.current, id, run, this.capacity);
    return (settlement) => run.settle(settlement);
  }

  /** The connection was lost: what ran on it may come back. */
  connectionLost(): void {
    for (const [k, run] of this.current) put(this.suspect, k, run, this.capacity);
    this.current.clear();
  }

  /** For a redelivered copy of a run on a lost connection: how that run settled (once it has). */
  copyOf(id: string, retries: number, redelivered: boolean): Promise<Settlement | null> | null {
    if (!redelivered) return null;
    const run = this.suspect.get(id);
    if (!run || run.retries !== retries) return null;
    this.suspect.delete(id);
    return run.settled();
  }

  get size(): number {
    return this.current.size + this.suspect.size;
  }
}

/**
 * One run's settlement. A promise is made only for a redelivered copy that asks: every task
 * starts a run, next to none is ever asked about (the worker's hot path, one task each).
 */
class Run {
  private settlement: Settlement | null | undefined;
  private waiters: ((settlement: Settlement | null) => void)[] | null = null;

  constructor(readonly retries: number) {}

  settle(settlement: Settlement | null): void {
    if (this.settlement !== undefined) return;
    this.settlement = settlement;
    for (const resolve of this.waiters ?? []) resolve(settlement);
    this.waiters = null;
  }

  settled(): Promise<Settlement | null> {
    const settlement = this.settlement;
    if (settlement !== undefined) return Promise.resolve(settlement);
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }
}

/**
 * Remember `run` as the newest entry. Past the capacity, the oldest eighth goes in one pass:
 * a Map keeps deleted entries as holes at its front until it rehashes, so evicting one entry per
 * insert (`keys().next()`) would scan those holes on every task — thousands once the map is full.
 */
function put(map: Map<string, Run>, id: string, run: Run, capacity: number): void {
  map.delete(id);
  map.set(id, run);
  if (map.size <= capacity) return;
  let excess = map.size - capacity + (capacity >> 3);
  for (const oldest of map.keys()) {
    if (excess-- <= 0) break;
    map.delete(oldest);
  }
}
