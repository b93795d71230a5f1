// The client side of remote control, as Python's `app.control` / kombu `Mailbox._broadcast`
// publish and collect (kombu/pidbox.py `Mailbox._publish`, `_collect`; celery/app/control.py
// `Control.broadcast`): a request on the pidbox fanout exchange with a ticket and `reply_to`
// naming our oid, replies gathered from `<oid>.reply.<ns>.pidbox` until the limit or the timeout.
import { decodeBody } from '../protocol/codec.js';
import { newId } from '../protocol/ids.js';
import type { Consumer, Delivery, QueueSpec, Transport } from '../transport/transport.js';
import { LamportClock } from './clock.js';
import { PIDBOX_EXCHANGE, PIDBOX_QUEUE, pidboxExchange, REPLY_EXCHANGE, replyExchange, replyQueue } from './names.js';
import { type PidboxRequest, requestMessage } from './pidbox-messages.js';

/** A reply as collected: `{<nodename>: <command reply>}`. */
export type NodeReply = Record<string, unknown>;

export interface BroadcastOptions {
  /** Wait for replies (sets ticket and reply_to). */
  reply?: boolean;
  /** Node names that should act; the reply limit defaults to their number. */
  destination?: string[] | null;
  /** Seconds to wait for each next reply (kombu drains with this timeout per reply). Default 1. */
  timeout?: number;
  /** Stop after this many replies. */
  limit?: number | null;
  pattern?: string | null;
  /** `glob` (default) or `pcre`; sent only together with `pattern`. */
  matcher?: string | null;
  /** Called as each reply arrives. */
  onReply?: (reply: NodeReply) => void;
}

export interface ControlClientOptions {
  /** `control_exchange` (default `celery`). */
  namespace?: string;
  /** The client id in `reply_to` (Celery: the app's oid). */
  oid?: string;
  clock?: LamportClock;
  /** Epoch milliseconds. */
  now?: () => number;
}

interface Waiter {
  ticket: string;
  push(reply: NodeReply): void;
}

export class ControlClient {
  readonly oid: string;
  readonly clock: LamportClock;
  private readonly namespace: string;
  private readonly now: () => number;
  private consumer: Consumer | null = null;
  private declared = false;
  private readonly waiters = new Set<Waiter>();
  /** Replies for tickets nobody waits for yet (kombu `unclaimed`). */
  private readonly unclaimed = new Map<string, NodeReply[]>();

  constructor(
    private readonly transport: Transport,
    options: ControlClientOptions = {},
  ) {
    this.namespace = options.namespace ?? 'celery';
    this.oid = options.oid ?? newId();
    this.clock = options.clock ?? new LamportClock();
    this.now = options.now ?? Date.now;
  }

  /** The reply queue: direct exchange `reply.<ns>.pidbox`, routing key = our oid. */
  get replyQueueSpec(): QueueSpec {
    return {
      name: replyQueue(this.oid, this.namespace),
      exchange: replyExchange(this.namespace),
      exchangeType: 'direct',
      routingKey: this.oid,
      exchangeDeclaration: REPLY_EXCHANGE,
      attributes: PIDBOX_QUEUE,
    };
  }

  /**
   * Broadcast a command; with `reply`, resolves to the replies (a list of `{node: reply}`).
   * @example await client.broadcast('rate_limit', { task_name: 'tasks.add', rate_limit: '10/m' }, { reply: true });
   */
  async broadcast(command: string, args: Record<string, unknown> = {}, options: BroadcastOptions = {}): Promise<NodeReply[]> {
    const timeout = options.timeout ?? 1;
    const destination = options.destination ?? null;
    const limit = options.limit ?? (destination && destination.length ? destination.length : null);
    const ticket = options.reply ? newId() : undefined;
    const request: PidboxRequest = { method: command, arguments: args, destination, pattern: null, matcher: null };
    if (options.pattern && options.matcher) Object.assign(request, { pattern: options.pattern, matcher: options.matcher });
    if (ticket) {
      await this.ensureReplyQueue();
      Object.assign(request, { ticket, reply_to: { exchange: replyExchange(this.namespace), routing_key: this.oid } });
    }
    const collecting = ticket ? this.collect(ticket, timeout, limit, options.onReply) : null;
    const expires = timeout ? this.now() / 1000 + timeout : 0;
    await this.transport.publish(requestMessage(request, this.clock.forward(), expires), { exchange: pidboxExchange(this.namespace), routingKey: '', exchangeType: 'fanout', exchangeDeclaration: PIDBOX_EXCHANGE });
    return collecting ? collecting : [];
  }

  /**
   * An inspect command: replies flattened to `{node: reply}` (Celery `Inspect._request`).
   * @example const pongs = await client.inspect('ping', {}, { timeout: 1 });
   */
  async inspect(command: string, args: Record<string, unknown> = {}, options: Omit<BroadcastOptions, 'reply'> = {}): Promise<Record<string, unknown>> {
    const replies = await this.broadcast(command, args, { ...options, reply: true });
    const byNode: Record<string, unknown> = {};
    for (const reply of replies) Object.assign(byNode, reply);
    return byNode;
  }

  /** `app.control.ping`: a list of `{node: {ok: 'pong'}}`. */
  ping(options: Omit<BroadcastOptions, 'reply'> = {}): Promise<NodeReply[]> {
    return this.broadcast('ping', {}, { ...options, reply: true });
  }

  /** `app.control.revoke(id, terminate=, signal=)`; fire-and-forget unless `reply`. */
  revoke(taskId: string | string[], options: BroadcastOptions & { terminate?: boolean; signal?: string } = {}): Promise<NodeReply[]> {
    const { terminate = false, signal = 'SIGTERM', ...rest } = options;
    return this.broadcast('revoke', { task_id: taskId, terminate, signal }, rest);
  }

  /** Stop consuming replies and remove the reply queue (kombu `after_reply_message_received`). */
  async close(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.cancel();
    if (this.declared) await this.transport.deleteQueue(this.replyQueueSpec);
    this.declared = false;
  }

  private async ensureReplyQueue(): Promise<void> {
    if (!this.declared) {
      await this.transport.declareQueue(this.replyQueueSpec);
      this.declared = true;
    }
    this.consumer ??= this.transport.consume([this.replyQueueSpec.name], { prefetch: 0 }, (d) => void this.onReply(d));
  }

  private async onReply(delivery: Delivery): Promise<void> {
    // kombu consumes replies with no_ack: settle at once.
    await delivery.ack().catch(() => undefined);
    const headers = delivery.message.headers;
    this.clock.adjust(headers.clock ?? 0);
    const expires = headers.expires;
    if (typeof expires === 'number' && expires && this.now() / 1000 > expires) return;
    let body: unknown;
    try {
      body = decodeBody(delivery.message);
    } catch {
      return;
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
    const ticket = typeof headers.ticket === 'string' ? headers.ticket : null;
    const waiter = [...this.waiters].find((w) => w.ticket === ticket);
    if (waiter) waiter.push(body as NodeReply);
    else if (ticket) this.unclaimed.set(ticket, [...(this.unclaimed.get(ticket) ?? []), body as NodeReply]);
  }

  /** kombu `_collect`: each next reply must come within `timeout` s; stop at `limit`. */
  private collect(ticket: string, timeout: number, limit: number | null, onReply?: (r: NodeReply) => void): Promise<NodeReply[]> {
    return new Promise((resolve) => {
      const replies: NodeReply[] = [];
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(replies);
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(finish, timeout * 1000);
      };
      const waiter: Waiter = {
        ticket,
        push: (reply) => {
          replies.push(reply);
          onReply?.(reply);
          if (limit && replies.length >= limit) finish();
          else arm();
        },
      };
      this.waiters.add(waiter);
      arm();
      for (const reply of this.unclaimed.get(ticket) ?? []) waiter.push(reply);
      this.unclaimed.delete(ticket);
    });
  }
}
