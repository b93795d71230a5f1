// The ids a worker has been told to revoke, with Celery's LimitedSet semantics
// (celery/utils/collections.py `LimitedSet`, celery/worker/state.py `revoked`): at most 50,000 ids,
// each living 10,800 s — but, as in Celery, expired ids are only dropped when the set is purged
// (on reaching the limit, or explicitly as `hello` does), so `inspect revoked` may still list them.

export const REVOKES_MAX = 50_000;
export const REVOKE_EXPIRES_S = 10_800;

export interface RevokedSetOptions {
  maxlen?: number;
  expiresS?: number;
  /** Monotonic seconds (Python `time.monotonic`); injected for tests. */
  now?: () => number;
}

export class RevokedSet {
  readonly maxlen: number;
  readonly expiresS: number;
  private readonly now: () => number;
  /** id → insertion time; Map order = insertion order = oldest first, as Python iterates. */
  private readonly items = new Map<string, number>();
  /** Bumped by every add and discard: whether there is anything new to save. */
  version = 0;

  constructor(options: RevokedSetOptions = {}) {
    this.maxlen = options.maxlen ?? REVOKES_MAX;
    this.expiresS = options.expiresS ?? REVOKE_EXPIRES_S;
    this.now = options.now ?? (() => performance.now() / 1000);
  }

  get size(): number {
    return this.items.size;
  }

  has(id: string): boolean {
    return this.items.has(id);
  }

  /** Add, or refresh the insertion time of, an id; purges when the limit is reached (LimitedSet.add). */
  add(id: string): void {
    this.version += 1;
    this.items.delete(id);
    this.items.set(id, this.now());
    if (this.maxlen && this.items.size >= this.maxlen) this.purge();
  }

  /** Add ids in order, stamped with the local clock (celery/worker/state.py `merge_revoked`). */
  update(ids: Iterable<string>): void {
    for (const id of ids) this.add(id);
  }

  discard(id: string): void {
    this.version += 1;
    this.items.delete(id);
  }

  /** Drop the oldest ids beyond the limit, then every expired one (LimitedSet.purge). */
  purge(now = this.now()): void {
    if (this.maxlen) {
      for (const id of this.items.keys()) {
        if (this.items.size <= this.maxlen) break;
        this.items.delete(id);
      }
    }
    if (this.expiresS) {
      for (const [id, inserted] of this.items) {
        if (inserted + this.expiresS > now) break;
        this.items.delete(id);
      }
    }
  }

  /**
   * The ids with the wall-clock time (epoch seconds) each was added, oldest first: what survives
   * a restart (worker/state-db.ts), where this set's monotonic stamps would mean nothing.
   */
  toWallClock(wallNow = Date.now() / 1000): [string, number][] {
    const now = this.now();
    return [...this.items].map(([id, inserted]) => [id, wallNow - (now - inserted)]);
  }

  /** Add ids saved by `toWallClock` (at start-up, to an empty set), keeping their age; the expired ones are left out. */
  addFromWallClock(entries: readonly [string, number][], wallNow = Date.now() / 1000): void {
    const now = this.now();
    for (const [id, addedAt] of entries) {
      const age = Math.max(0, wallNow - addedAt);
      if (this.expiresS && age >= this.expiresS) continue;
      this.items.delete(id);
      this.items.set(id, now - age);
    }
    if (this.maxlen && this.items.size >= this.maxlen) this.purge();
  }

  /** Oldest first, as `list(worker_state.revoked)` (the `revoked` and `hello` replies). */
  toList(): string[] {
    return [...this.items.keys()];
  }

  [Symbol.iterator](): IterableIterator<string> {
    return this.items.keys();
  }
}
