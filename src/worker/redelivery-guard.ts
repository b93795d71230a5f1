// Copies of a task RabbitMQ delivers again because the connection its ack was due on went away —
// killed node, closed connection, restarted broker — while this worker ran (or had just run) the
// task: the ack of a delivery from a dead channel is a no-op (or, batched, never reached the
// broker), so the message comes back marked redelivered, usually to this same worker once it has
// reconnected. Celery runs such a copy again; ts-celery does not run it twice in one worker: the
// copy waits for the earlier run and is then settled as that run settled its message (acked,
// rejected), or runs after all when the earlier run gave its message back. Only a delivery
// flagged redelivered with the same task id and retry count counts as a copy (a retry is a new
// message with the same id and retries + 1). Bounded: the oldest entries go first.

/** How a run settled its message. */
export type Settlement = 'ack' | 'reject' | 'requeue';

const DEFAULT_CAPACITY = 10_000;

export class RedeliveryGuard {
  /** Runs on the current connection: running, or finished recently (their ack may not have landed). */
  private readonly current = new Map<string, Promise<Settlement | null>>();
  /** Runs on a connection that was lost: a redelivered copy of one is not run again. */
  private readonly suspect = new Map<string, Promise<Settlement | null>>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** A task starts running; call the returned function with how its message was settled (null: not at all). */
  started(id: string, retries: number): (settlement: Settlement | null) => void {
    let settle!: (settlement: Settlement | null) => void;
    const done = new Promise<Settlement | null>((resolve) => {
      settle = resolve;
    });
    put(this.current, key(id, retries), done, this.capacity);
    return settle;
  }

  /** The connection was lost: what ran on it may come back. */
  connectionLost(): void {
    for (const [k, done] of this.current) put(this.suspect, k, done, this.capacity);
    this.current.clear();
  }

  /** For a redelivered copy of a run on a lost connection: how that run settled (once it has). */
  copyOf(id: string, retries: number, redelivered: boolean): Promise<Settlement | null> | null {
    if (!redelivered) return null;
    const k = key(id, retries);
    const done = this.suspect.get(k);
    if (!done) return null;
    this.suspect.delete(k);
    return done;
  }

  get size(): number {
    return this.current.size + this.suspect.size;
  }
}

function key(id: string, retries: number): string {
  return `${id}\u0000${retries}`;
}

function put(map: Map<string, Promise<Settlement | null>>, k: string, done: Promise<Settlement | null>, capacity: number): void {
  map.delete(k);
  map.set(k, done);
  if (map.size > capacity) map.delete(map.keys().next().value!);
}
