// Fanout subscriptions over one PSUBSCRIBE connection: kombu's LISTEN side of the Redis
// transport (kombu/transport/redis.py `Channel._subscribe`, `_receive_one`).
import type { Redis } from 'ioredis';
import { decodeRedisEnvelope } from '../../protocol/envelope.js';
import type { Message } from '../../protocol/message.js';
import type { FanoutSubscription } from '../transport.js';
import { parseFanoutChannel } from './fanout.js';
import type { RedisKeys } from './keys.js';

type OnMessage = (message: Message, routingKey: string) => void;

export class FanoutHub {
  private connection: Redis | null = null;
  /** PSUBSCRIBE pattern (prefixed) → callbacks; several subscriptions may share one pattern. */
  private readonly handlers = new Map<string, Set<OnMessage>>();

  constructor(
    private readonly connect: () => Redis,
    private readonly keys: RedisKeys,
    private readonly onDropped: (reason: string, raw: string) => void,
  ) {}

  async subscribe(exchange: string, routingKeyPattern: string, onMessage: OnMessage): Promise<FanoutSubscription> {
    const pattern = this.keys.fanoutSubscribe(exchange, routingKeyPattern);
    const conn = this.subscriber();
    let set = this.handlers.get(pattern);
    if (!set) {
      set = new Set();
      this.handlers.set(pattern, set);
      await conn.psubscribe(pattern);
    }
    // A distinct wrapper per subscription, so the same callback may subscribe twice.
    const handler: OnMessage = (m, rk) => onMessage(m, rk);
    set.add(handler);
    return {
      close: async () => {
        const current = this.handlers.get(pattern);
        if (!current?.delete(handler) || current.size > 0) return;
        this.handlers.delete(pattern);
        if (this.connection && this.connection.status === 'ready') await this.connection.punsubscribe(pattern);
      },
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
    const conn = this.connection;
    this.connection = null;
    if (conn) await (conn.status === 'ready' ? conn.quit().catch(() => conn.disconnect()) : conn.disconnect());
  }

  private subscriber(): Redis {
    if (this.connection) return this.connection;
    const conn = this.connect();
    // ioredis re-subscribes after a reconnect (autoResubscribe).
    conn.on('pmessage', (pattern: string, channel: string, raw: string) => this.receive(pattern, channel, raw));
    this.connection = conn;
    return conn;
  }

  private receive(pattern: string, channel: string, raw: string): void {
    const set = this.handlers.get(pattern);
    if (!set || set.size === 0) return;
    let message: Message;
    let routingKey: string;
    try {
      const decoded = decodeRedisEnvelope(raw);
      message = decoded.message;
      // The routing key on the channel (`/5.celeryev/worker.heartbeat`), else the envelope's.
      routingKey = parseFanoutChannel(this.keys.strip(channel)).routingKey ?? decoded.info.routingKey;
    } catch (err) {
      this.onDropped(`undecodable message on channel '${channel}': ${(err as Error).message}`, raw);
      return;
    }
    for (const handler of set) {
      try {
        handler(message, routingKey);
      } catch {
        // One subscriber's failure must not starve the others.
      }
    }
  }
}
