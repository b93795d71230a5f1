// Connection health of the transport as one signal: `connection-lost` once when any of its
// connections (or the fetch loop) fails, `reconnected` once when all are back.
import type { Redis } from 'ioredis';
import type { TransportEvent } from '../transport.js';

export class ConnectionHealth {
  private readonly down = new Set<string>();
  private lastError: Error | undefined;

  constructor(private readonly emit: (event: TransportEvent) => void) {}

  /**
   * Follow an ioredis connection: 'reconnecting' (emitted only for a connection we did not close
   * ourselves) → lost, 'ready' → back.
   */
  watch(name: string, redis: Redis): void {
    redis.on('error', (err: Error) => {
      this.lastError = err;
    });
    redis.on('reconnecting', () => this.lost(name, this.lastError ?? new Error('connection closed')));
    // Ended on purpose (quit/disconnect): no longer counts, and no 'reconnected' either.
    redis.on('end', () => this.forget(name));
    redis.on('ready', () => this.ok(name));
  }

  lost(name: string, error: Error): void {
    const wasHealthy = this.down.size === 0;
    this.down.add(name);
    if (wasHealthy) this.emit({ type: 'connection-lost', error });
  }

  /** Stop counting a connection or loop that ended on purpose, without emitting anything. */
  forget(name: string): void {
    this.down.delete(name);
  }

  ok(name: string): void {
    if (this.down.delete(name) && this.down.size === 0) this.emit({ type: 'reconnected' });
  }
}

/** Back-off between failed fetches: 100 ms doubling to 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(5000, 100 * 2 ** Math.max(0, attempt - 1));
}
