// Every Redis key and PUB/SUB channel the transport touches, built in one place with kombu's
// `global_keyprefix` applied (kombu/transport/redis.py `GlobalKeyPrefixMixin`,
// `Channel.keyprefix_queue`, `Channel.keyprefix_fanout`).
import { fanoutChannel } from './fanout.js';
import { priorityListName, priorityStep, stepMajorOrder } from './priority.js';

export interface KeyOptions {
  globalKeyprefix: string;
  sep: string;
  prioritySteps: readonly number[];
  unackedKey: string;
  unackedIndexKey: string;
  unackedMutexKey: string;
  /** The resolved fanout prefix (`/5.`), see fanout.ts. */
  fanoutPrefix: string;
  fanoutPatterns: boolean;
}

export class RedisKeys {
  readonly prefix: string;
  readonly unacked: string;
  readonly unackedIndex: string;
  readonly unackedMutex: string;

  constructor(private readonly o: KeyOptions) {
    this.prefix = o.globalKeyprefix;
    this.unacked = this.prefix + o.unackedKey;
    this.unackedIndex = this.prefix + o.unackedIndexKey;
    this.unackedMutex = this.prefix + o.unackedMutexKey;
  }

  get sep(): string {
    return this.o.sep;
  }

  get prioritySteps(): readonly number[] {
    return this.o.prioritySteps;
  }

  /** The list holding messages of `queue` at priority step `step`. */
  list(queue: string, step: number): string {
    return this.prefix + priorityListName(queue, step, this.o.sep);
  }

  /** The list a message of (clamped) priority `priority` is pushed to. */
  listForPriority(queue: string, priority: number): string {
    return this.list(queue, priorityStep(this.o.prioritySteps, priority));
  }

  /** Every list of one queue, one per step (purge, size). */
  queueLists(queue: string): string[] {
    return this.o.prioritySteps.map((step) => this.list(queue, step));
  }

  /** The lists of several queues in BRPOP order: for each step, for each queue. */
  fetchLists(queues: readonly string[]): string[] {
    return stepMajorOrder(queues, this.o.prioritySteps, (q, s) => this.list(q, s));
  }

  /** `_kombu.binding.<exchange>`: the exchange's binding table. */
  binding(exchange: string): string {
    return `${this.prefix}_kombu.binding.${exchange}`;
  }

  /** `_kombu.binding_permanent.<exchange>` (kombu ≥5.7): bindings of queues without x-expires. */
  bindingPermanent(exchange: string): string {
    return `${this.prefix}_kombu.binding_permanent.${exchange}`;
  }

  /** The PUB/SUB channel a fanout message is published on. */
  fanoutPublish(exchange: string, routingKey: string): string {
    return this.prefix + fanoutChannel(this.o.fanoutPrefix, exchange, routingKey, this.o.fanoutPatterns);
  }

  /** The PSUBSCRIBE pattern for a fanout binding key (`#` → `*`, kombu `_queue_bind`). */
  fanoutSubscribe(exchange: string, bindingKey: string): string {
    return this.fanoutPublish(exchange, bindingKey.replaceAll('#', '*'));
  }

  /** A key or channel as the server named it, without the global prefix. */
  strip(key: string): string {
    return this.prefix && key.startsWith(this.prefix) ? key.slice(this.prefix.length) : key;
  }
}
