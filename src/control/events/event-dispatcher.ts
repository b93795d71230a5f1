// Publishes Celery events on the `celeryev` exchange (fanout over PUB/SUB on Redis, routing key =
// type with - → .), buffering task events and sending them as one JSON list under `task.multi`
// on the next tick or at 24 events, as a Python worker on its event loop does
// (celery/events/dispatcher.py `EventDispatcher.send`, `flush`; fixtures event-*).
import { type Logger, silentLogger } from '../../log.js';
import { encodeBody } from '../../protocol/codec.js';
import type { Message } from '../../protocol/message.js';
import type { Transport } from '../../transport/transport.js';
import { LamportClock } from '../clock.js';
import { EVENT_EXCHANGE, eventRoutingKey } from '../names.js';
import { buildEvent, type CeleryEvent, groupFrom, utcoffset } from './event.js';

export interface EventDispatcherOptions {
  transport: Transport;
  /** Node name: `name@host` for a worker, `gen<pid>@<host>` for a producer. */
  hostname: string;
  /** `event_exchange` (default `celeryev`). */
  exchange?: string;
  /** Shared with the pidbox (Celery's `app.clock`). */
  clock?: LamportClock;
  /**
   * Groups to send; empty/undefined = all. A worker without `-E` uses `['worker']` (heartbeats
   * only) and `enable_events` adds `task` (celery/worker/consumer/events.py).
   */
  groups?: Iterable<string>;
  /** Groups buffered and sent as `<group>.multi` lists (a worker: `['task']`). */
  bufferGroups?: Iterable<string>;
  /** Flush a group's buffer once it holds this many events (Celery: 24). */
  bufferLimit?: number;
  /** false = send() is a no-op. */
  enabled?: boolean;
  /** Epoch milliseconds. */
  now?: () => number;
  pid?: number;
  logger?: Logger;
}

export class EventDispatcher {
  readonly hostname: string;
  readonly exchange: string;
  readonly clock: LamportClock;
  /** Mutable on purpose: enable_events / disable_events add and remove `task`. */
  readonly groups: Set<string>;
  enabled: boolean;
  private readonly transport: Transport;
  private readonly bufferGroups: Set<string>;
  private readonly bufferLimit: number;
  private readonly now: () => number;
  private readonly pid: number;
  private readonly logger: Logger;
  private readonly buffers = new Map<string, CeleryEvent[]>();
  private flushScheduled: NodeJS.Immediate | null = null;
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(options: EventDispatcherOptions) {
    this.transport = options.transport;
    this.hostname = options.hostname;
    this.exchange = options.exchange ?? 'celeryev';
    this.clock = options.clock ?? new LamportClock();
    this.groups = new Set(options.groups ?? []);
    this.bufferGroups = new Set(options.bufferGroups ?? []);
    this.bufferLimit = options.bufferLimit ?? 24;
    this.enabled = options.enabled ?? true;
    this.now = options.now ?? Date.now;
    this.pid = options.pid ?? process.pid;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Send an event (`send('task-succeeded', {uuid, result, runtime})`). Never throws and never
   * waits: a publish failure is logged and the event dropped (events are transient).
   */
  /** Whether send() would send events of this group now (lets callers skip building the fields). */
  wants(group: string): boolean {
    return this.enabled && !this.closed && (this.groups.size === 0 || this.groups.has(group));
  }

  send(type: string, fields: Record<string, unknown> = {}): void {
    if (!this.enabled || this.closed) return;
    const group = groupFrom(type);
    if (this.groups.size > 0 && !this.groups.has(group)) return;
    const event = buildEvent(type, { hostname: this.hostname, utcoffset: utcoffset(new Date(this.now())), pid: this.pid, clock: this.clock.forward() }, fields, this.now() / 1000);
    if (this.bufferGroups.has(group)) {
      const buffer = this.buffers.get(group) ?? [];
      this.buffers.set(group, buffer);
      buffer.push(event);
      if (buffer.length >= this.bufferLimit) void this.flush();
      else this.scheduleFlush();
      return;
    }
    this.track(this.publish(event, eventRoutingKey(type)));
  }

  /** Publish every buffered group now as `<group>.multi` lists. */
  flush(): Promise<void> {
    if (this.flushScheduled) clearImmediate(this.flushScheduled);
    this.flushScheduled = null;
    for (const [group, events] of this.buffers) {
      if (events.length === 0) continue;
      this.buffers.set(group, []);
      this.track(this.publish(events, `${group}.multi`));
    }
    return this.idle();
  }

  /** Resolves once every publish started so far has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Flush what is buffered, wait for publishes, and stop sending. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
  }

  private scheduleFlush(): void {
    // The worker's hub flushes on its next loop iteration (`on_send_event_buffered`).
    this.flushScheduled ??= setImmediate(() => {
      this.flushScheduled = null;
      void this.flush();
    });
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async publish(body: CeleryEvent | CeleryEvent[], routingKey: string): Promise<void> {
    const encoded = encodeBody(body);
    const message: Message = {
      body: encoded.body,
      contentType: encoded.contentType,
      contentEncoding: encoded.contentEncoding,
      headers: { hostname: this.hostname },
      properties: { delivery_mode: 1 },
    };
    try {
      await this.transport.publish(message, { exchange: this.exchange, routingKey, exchangeType: 'fanout', exchangeDeclaration: EVENT_EXCHANGE });
    } catch (error) {
      this.logger.warn(`could not publish event ${routingKey}: ${(error as Error).message}`);
    }
  }
}
