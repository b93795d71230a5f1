// Lamport's logical clock, as kombu keeps one per app (kombu/clocks.py `LamportClock`): forwarded
// for every message sent (pidbox `clock` header, event `clock` field), adjusted on every one received.

export class LamportClock {
  constructor(private current = 0) {}

  /** The current value (`inspect clock`, `stats().clock`). */
  get value(): number {
    return this.current;
  }

  /** Before sending: increment and return the new value. */
  forward(): number {
    return ++this.current;
  }

  /** On receipt of a message stamped `other`: max(ours, theirs) + 1 (kombu `adjust`). */
  adjust(other: unknown): number {
    const theirs = typeof other === 'number' && Number.isFinite(other) ? Math.trunc(other) : 0;
    this.current = Math.max(this.current, theirs) + 1;
    return this.current;
  }
}
