// Consumes the event stream as `celery events` and Flower do (celery/events/receiver.py
// `EventReceiver`): a `celeryev.<uuid>` binding with key `#`, PSUBSCRIBE `/<db>.celeryev/*` on
// Redis, `task.multi` lists unpacked, `local_received` added, timestamps moved to our UTC offset
// and the clock adjusted (`EventReceiver._receive`, `event_from_message`; fixture
// events-receiver-like-flower).
import { decodeBody } from '../../protocol/codec.js';
import { newId } from '../../protocol/ids.js';
import type { FanoutSubscription, QueueSpec, Transport } from '../../transport/transport.js';
import { LamportClock } from '../clock.js';
import { EVENT_EXCHANGE, EVENT_QUEUE, eventQueue } from '../names.js';
import { adjustTimestamp, type CeleryEvent } from './event.js';

/** celery/events/receiver.py CLIENT_CLOCK_SKEW: producers never sync their clocks. */
const CLIENT_CLOCK_SKEW = -1;

export interface EventReceiverOptions {
  transport: Transport;
  onEvent: (event: CeleryEvent) => void;
  /** `event_exchange` (default `celeryev`). */
  exchange?: string;
  /** Binding key; `#` = everything, `worker.#` = worker events only. */
  routingKey?: string;
  clock?: LamportClock;
  /** Epoch milliseconds. */
  now?: () => number;
  /** Current UTC offset in hours west (injected for tests). */
  here?: () => number;
  /** Called for a body that is not an event (bad JSON, wrong shape). */
  onError?: (error: unknown) => void;
}

export class EventReceiver {
  readonly queue: string;
  readonly clock: LamportClock;
  private readonly exchange: string;
  private subscription: FanoutSubscription | null = null;

  constructor(private readonly options: EventReceiverOptions) {
    this.exchange = options.exchange ?? 'celeryev';
    this.queue = eventQueue(this.exchange, newId());
    this.clock = options.clock ?? new LamportClock();
  }

  async start(): Promise<void> {
    if (this.subscription) return;
    const routingKey = this.options.routingKey ?? '#';
    const queue: QueueSpec = { name: this.queue, exchange: this.exchange, exchangeType: 'fanout', routingKey, exchangeDeclaration: EVENT_EXCHANGE, attributes: EVENT_QUEUE };
    await this.options.transport.declareQueue(queue);
    const fanout = { exchangeDeclaration: EVENT_EXCHANGE, queue };
    this.subscription = await this.options.transport.subscribeFanout(this.exchange, routingKey, (message) => {
      let body: unknown;
      try {
        body = decodeBody(message);
      } catch (error) {
        this.options.onError?.(error);
        return;
      }
      for (const item of Array.isArray(body) ? body : [body]) {
        if (item === null || typeof item !== 'object' || typeof (item as CeleryEvent).type !== 'string') {
          this.options.onError?.(new Error(`not an event: ${JSON.stringify(item)}`));
          continue;
        }
        this.options.onEvent(this.localize(item as CeleryEvent));
      }
    }, fanout);
  }

  async close(): Promise<void> {
    const sub = this.subscription;
    this.subscription = null;
    await sub?.close();
  }

  /** celery/events/receiver.py `event_from_message`. */
  localize(event: CeleryEvent): CeleryEvent {
    if (event.type === 'task-sent') {
      const c = (this.clock.value || 1) + CLIENT_CLOCK_SKEW;
      event.clock = c;
      this.clock.adjust(c);
    } else if ('clock' in event) this.clock.adjust(event.clock);
    else event.clock = this.clock.forward();
    if (typeof event.utcoffset === 'number' && typeof event.timestamp === 'number') {
      event.timestamp = adjustTimestamp(event.timestamp, event.utcoffset, this.options.here?.());
    }
    event.local_received = (this.options.now ?? Date.now)() / 1000;
    return event;
  }
}
