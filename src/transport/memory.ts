// MemoryTransport: an in-process broker with the Redis transport's semantics — priority steps
// served lowest first, round-robin queue order, client-side prefetch, ack / reject / restore,
// bindings and fanout — for unit tests and the embedded demo (memory://). No persistence.
import { randomUUID } from 'node:crypto';
import type { Message } from '../protocol/message.js';
import { BindingMatcher, topicKeyToPattern, type BindingRow } from './redis/bindings.js';
import { fanoutChannel, globToRegExp } from './redis/fanout.js';
import { parseRedisTransportOptions, type RedisTransportOptions } from './redis/options.js';
import { clampPriority, fetchOrder, priorityStep, rotate } from './redis/priority.js';
import { PrefetchWindow } from './redis/qos.js';
import type { Consumer, ConsumeOptions, Delivery, ExchangeType, FanoutSubscription, PublishTarget, QueueSpec, Transport, TransportEvent } from './transport.js';

interface Stored {
  message: Message;
  exchange: string;
  routingKey: string;
  deliveryTag: string;
  redelivered: boolean;
}

/** A list with O(1) push/pop at both ends: `back` = LPUSH side, `front` = the next one out. */
class Deque<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  pushBack(item: T): void {
    this.items.push(item);
  }
  pushFront(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }
  popFront(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) [this.items, this.head] = [this.items.slice(this.head), 0];
    return item;
  }
}

interface MemoryConsumer extends Consumer {
  order: string[];
  window: PrefetchWindow;
  active: boolean;
  onDelivery: (delivery: Delivery) => void;
}

export interface MemoryTransportDeps {
  newId?: () => string;
}

export class MemoryTransport implements Transport {
  private readonly options: RedisTransportOptions;
  private readonly newId: () => string;
  private readonly lists = new Map<string, Map<number, Deque<Stored>>>();
  private readonly bindings = new Map<string, BindingRow[]>();
  private readonly types = new Map<string, ExchangeType>();
  private readonly matcher = new BindingMatcher();
  private readonly consumers = new Set<MemoryConsumer>();
  private readonly unsettled = new Set<{ stored: Stored; queue: string; claim: () => boolean }>();
  private readonly fanouts = new Set<{ re: RegExp; onMessage: (m: Message, rk: string) => void }>();
  private readonly listeners = new Set<(event: TransportEvent) => void>();
  private pumpScheduled = false;

  constructor(transportOptions: Record<string, unknown> = {}, deps: MemoryTransportDeps = {}) {
    this.options = parseRedisTransportOptions(transportOptions);
    this.newId = deps.newId ?? randomUUID;
  }

  async connect(): Promise<void> {}

  async declareQueue(spec: QueueSpec): Promise<void> {
    const exchange = spec.exchange ?? spec.name;
    const type = spec.exchangeType ?? 'direct';
    const routingKey = spec.routingKey ?? spec.name;
    this.types.set(exchange, type);
    if (!exchange) return;
    const rows = this.bindings.get(exchange) ?? [];
    const row = { routingKey, pattern: type === 'topic' ? topicKeyToPattern(routingKey) : '', queue: spec.name };
    if (!rows.some((r) => r.routingKey === row.routingKey && r.pattern === row.pattern && r.queue === row.queue)) rows.push(row);
    this.bindings.set(exchange, rows);
  }

  async deleteQueue(spec: QueueSpec): Promise<void> {
    const exchange = spec.exchange ?? spec.name;
    const rows = this.bindings.get(exchange);
    if (rows) this.bindings.set(exchange, rows.filter((r) => r.queue !== spec.name));
    await this.purge(spec.name);
  }

  async publish(message: Message, target: PublishTarget): Promise<void> {
    const stored: Stored = { message: copy(message), exchange: target.exchange, routingKey: target.routingKey, deliveryTag: this.newId(), redelivered: false };
    const type = target.exchangeType ?? this.types.get(target.exchange) ?? 'direct';
    if (target.exchange && type === 'fanout') {
      const channel = fanoutChannel('', target.exchange, target.routingKey, this.options.fanoutPatterns);
      for (const sub of this.fanouts) if (sub.re.test(channel)) setImmediate(() => sub.onMessage(copy(stored.message), target.routingKey));
      return;
    }
    const queues = this.lookup(target.exchange, target.routingKey, type);
    if (queues.length === 0) {
      this.emit({ type: 'message-dropped', reason: `no queue is bound to exchange '${target.exchange}' with routing key '${target.routingKey}'`, raw: '' });
      return;
    }
    for (const q of queues) this.list(q, stored.message).pushBack(stored);
    this.schedule();
  }

  consume(queues: string[], options: ConsumeOptions, onDelivery: (delivery: Delivery) => void): Consumer {
    const names = [...new Set(queues)];
    const strategy = this.options.queueOrderStrategy;
    const consumer: MemoryConsumer = {
      order: fetchOrder(names, strategy),
      window: new PrefetchWindow(options.prefetch),
      active: true,
      onDelivery,
      get queues() {
        return [...names];
      },
      setPrefetch: (n) => {
        consumer.window.set(n);
        this.schedule();
      },
      addQueue: (q) => {
        if (names.includes(q)) return;
        names.push(q);
        consumer.order = strategy === 'sorted' ? fetchOrder(names, strategy) : [...consumer.order, q];
        this.schedule();
      },
      removeQueue: (q) => {
        if (names.includes(q)) names.splice(names.indexOf(q), 1);
        consumer.order = consumer.order.filter((x) => x !== q);
      },
      cancel: async () => {
        consumer.active = false;
        this.consumers.delete(consumer);
      },
    };
    this.consumers.add(consumer);
    this.schedule();
    return consumer;
  }

  async subscribeFanout(exchange: string, routingKeyPattern: string, onMessage: (message: Message, routingKey: string) => void): Promise<FanoutSubscription> {
    const glob = fanoutChannel('', exchange, routingKeyPattern.replaceAll('#', '*'), this.options.fanoutPatterns);
    const sub = { re: globToRegExp(glob), onMessage };
    this.fanouts.add(sub);
    return { close: async () => void this.fanouts.delete(sub) };
  }

  async purge(queue: string): Promise<number> {
    const n = await this.queueSize(queue);
    this.lists.delete(queue);
    return n;
  }

  async queueSize(queue: string): Promise<number> {
    let n = 0;
    for (const d of this.lists.get(queue)?.values() ?? []) n += d.length;
    return n;
  }

  onEvent(listener: (event: TransportEvent) => void): void {
    this.listeners.add(listener);
  }

  async close(): Promise<void> {
    for (const c of [...this.consumers]) await c.cancel();
    // Back to the front, first delivered first out (pushFront in reverse).
    const pending = [...this.unsettled].filter((u) => u.claim()).reverse();
    for (const u of pending) this.requeue(u.stored, u.queue, false);
    if (pending.length > 0) this.emit({ type: 'restored', count: pending.length });
    this.fanouts.clear();
  }

  private lookup(exchange: string, routingKey: string, type: ExchangeType): string[] {
    if (!exchange) return routingKey ? [routingKey] : [];
    return this.matcher.queues(type, this.bindings.get(exchange) ?? [], routingKey);
  }

  private list(queue: string, message: Message): Deque<Stored> {
    const step = priorityStep(this.options.prioritySteps, clampPriority(message.properties.priority));
    let byStep = this.lists.get(queue);
    if (!byStep) this.lists.set(queue, (byStep = new Map()));
    let d = byStep.get(step);
    if (!d) byStep.set(step, (d = new Deque()));
    return d;
  }

  /** kombu `_do_restore_message`: flags set, re-routed; `back` = end of the queue. */
  private requeue(stored: Stored, fromQueue: string, back: boolean): void {
    const message = copy(stored.message);
    message.headers.redelivered = true;
    const again: Stored = { ...stored, message, redelivered: true };
    const type = this.types.get(stored.exchange) ?? 'direct';
    const queues = stored.exchange || stored.routingKey ? this.lookup(stored.exchange, stored.routingKey, type) : [fromQueue];
    if (queues.length === 0) {
      this.emit({ type: 'message-dropped', reason: `no queue is bound to exchange '${stored.exchange}' with routing key '${stored.routingKey}'`, raw: '' });
    }
    for (const q of queues) (back ? this.list(q, message).pushBack(again) : this.list(q, message).pushFront(again));
    this.schedule();
  }

  private schedule(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Hand out messages, one per consumer per round, while anyone has room and anything is queued. */
  private pump(): void {
    let progress = true;
    while (progress) {
      progress = false;
      for (const c of this.consumers) {
        if (!c.active || c.window.free(1) === 0) continue;
        const next = this.take(c);
        if (!next) continue;
        progress = true;
        this.deliver(c, next.stored, next.queue);
      }
    }
  }

  private take(c: MemoryConsumer): { stored: Stored; queue: string } | undefined {
    for (const step of this.options.prioritySteps) {
      for (const queue of c.order) {
        const stored = this.lists.get(queue)?.get(step)?.popFront();
        if (!stored) continue;
        if (this.options.queueOrderStrategy === 'round_robin') rotate(c.order, queue);
        return { stored, queue };
      }
    }
    return undefined;
  }

  private deliver(c: MemoryConsumer, stored: Stored, queue: string): void {
    let settled = false;
    const entry = {
      stored,
      queue,
      claim: () => {
        if (settled) return false;
        settled = true;
        this.unsettled.delete(entry);
        c.window.release();
        this.schedule();
        return true;
      },
    };
    const delivery: Delivery = {
      message: copy(stored.message),
      info: { exchange: stored.exchange, routingKey: stored.routingKey, queue, redelivered: stored.redelivered, priority: clampPriority(stored.message.properties.priority) },
      deliveryTag: stored.deliveryTag,
      ack: async () => void entry.claim(),
      reject: async ({ requeue }) => {
        if (entry.claim() && requeue) this.requeue(stored, queue, true);
      },
      restore: async () => {
        if (entry.claim()) this.requeue(stored, queue, false);
      },
    };
    this.unsettled.add(entry);
    c.window.take();
    try {
      c.onDelivery(delivery);
    } catch {
      // As on Redis: the callback's failure leaves the delivery unsettled, the pump goes on.
    }
  }

  private emit(event: TransportEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}

function copy(message: Message): Message {
  return { ...message, headers: { ...message.headers }, properties: { ...message.properties } };
}
