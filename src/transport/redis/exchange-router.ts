// Resolves (exchange, routing key) to queues the way kombu's virtual channel `_lookup` does:
// the default exchange names the queue; a named exchange is looked up in its binding table with
// the type this process knows for it, direct when unknown (kombu/transport/virtual/base.py
// `Channel._lookup`, `Channel.typeof`).
import type { Redis } from 'ioredis';
import type { ExchangeType } from '../transport.js';
import { BindingMatcher, parseBindingMember } from './bindings.js';
import type { RedisKeys } from './keys.js';

export class ExchangeRouter {
  private readonly types = new Map<string, ExchangeType>();
  private readonly matcher = new BindingMatcher();

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  /** kombu remembers the type of every exchange declared in this process (`state.exchanges`). */
  remember(exchange: string, type: ExchangeType): void {
    this.types.set(exchange, type);
  }

  typeOf(exchange: string, given?: ExchangeType): ExchangeType {
    return given ?? this.types.get(exchange) ?? 'direct';
  }

  /** The queues a message reaches; empty = nobody is bound (kombu warns and drops it). */
  async queues(exchange: string, routingKey: string, type?: ExchangeType): Promise<string[]> {
    if (!exchange) return routingKey ? [routingKey] : [];
    const members = await this.redis.smembers(this.keys.binding(exchange));
    const rows = members.map((m) => parseBindingMember(m, this.keys.sep));
    return this.matcher.queues(this.typeOf(exchange, type), rows, routingKey);
  }
}
