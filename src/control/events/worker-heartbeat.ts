// worker-online at start, worker-heartbeat every `freq` seconds, worker-offline at stop
// (celery/worker/heartbeat.py `Heart`; fixtures event-worker-*).
import type { EventDispatcher } from './event-dispatcher.js';
import { loadAverage, type SoftwareInfo } from './event.js';

export interface HeartbeatOptions {
  dispatcher: EventDispatcher;
  software: SoftwareInfo;
  /** Tasks executing now and tasks accepted since start (Celery: `active_requests`, `all_total_count`). */
  counters: () => { active: number; processed: number };
  /** Seconds between heartbeats (Celery: 2.0). */
  freq?: number;
  /** Injected for tests; default the global timers. */
  setInterval?: (fn: () => void, ms: number) => unknown;
  clearInterval?: (handle: unknown) => void;
}

export class WorkerHeartbeat {
  readonly freq: number;
  private handle: unknown = null;

  constructor(private readonly options: HeartbeatOptions) {
    this.freq = options.freq ?? 2.0;
  }

  /** Send worker-online and start the heartbeat timer (only when the dispatcher is enabled). */
  start(): void {
    if (!this.options.dispatcher.enabled || this.handle !== null) return;
    this.send('worker-online');
    const set = this.options.setInterval ?? ((fn: () => void, ms: number) => setInterval(fn, ms).unref());
    this.handle = set(() => this.send('worker-heartbeat'), this.freq * 1000);
  }

  /** Stop the timer and send worker-offline. */
  stop(): void {
    if (this.handle !== null) {
      (this.options.clearInterval ?? ((h: unknown) => clearInterval(h as NodeJS.Timeout)))(this.handle);
      this.handle = null;
      if (this.options.dispatcher.enabled) this.send('worker-offline');
    }
  }

  private send(type: string): void {
    const { active, processed } = this.options.counters();
    this.options.dispatcher.send(type, { freq: this.freq, active, processed, loadavg: loadAverage(), ...this.options.software });
  }
}
