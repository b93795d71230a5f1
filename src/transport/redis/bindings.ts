// Exchange → queue bindings as kombu stores them in `_kombu.binding.<exchange>` and how it
// routes through them (kombu/transport/redis.py `Channel._queue_bind`, `Channel.get_table`;
// kombu/transport/virtual/exchange.py `DirectExchange`, `TopicExchange`, `FanoutExchange`).
import type { ExchangeType } from '../transport.js';

/** One row of a binding table: `<routing key> SEP <pattern> SEP <queue>`. */
export interface BindingRow {
  routingKey: string;
  /** Topic exchanges: a Python regex compiled from the binding key; '' otherwise. */
  pattern: string;
  queue: string;
}

export function bindingMember(row: BindingRow, sep: string): string {
  return [row.routingKey, row.pattern, row.queue].join(sep);
}

/** kombu `get_table`: `member.split(sep)`; a queue name containing `sep` keeps the rest. */
export function parseBindingMember(member: string, sep: string): BindingRow {
  const [routingKey = '', pattern = '', ...queue] = member.split(sep);
  return { routingKey, pattern, queue: queue.join(sep) };
}

/** kombu/utils/text.py `escape_regex(key, '.#*')`: backslash every non-alphanumeric character. */
function escapeRegex(text: string): string {
  let out = '';
  for (const c of text) {
    if (/^[\p{L}\p{N}]$/u.test(c) || c === '.' || c === '#' || c === '*') out += c;
    else out += c === '\0' ? '\\000' : `\\${c}`;
  }
  return out;
}

/**
 * TopicExchange.key_to_pattern (kombu 5.7): words split on `.`; a `*` word → `[^\.]+`, a `#` word
 * → `.*?`, anchored: `wirefx.#` → `^wirefx\..*?$`. (kombu ≤5.6 wrote `.*?[^\.]` for `*`; rows
 * written by either are matched by their stored pattern, so both interoperate.)
 */
export function topicKeyToPattern(bindingKey: string): string {
  const words = escapeRegex(bindingKey)
    .split('.')
    .map((w) => (w === '*' ? '[^\\.]+' : w === '#' ? '.*?' : w));
  return `^${words.join('\\.')}$`;
}

/** Direct/topic/fanout lookup over binding rows, with compiled topic patterns cached. */
export class BindingMatcher {
  private readonly compiled = new Map<string, RegExp | null>();

  /** The queues (each once, in table order) a message with `routingKey` reaches. */
  queues(type: ExchangeType, rows: readonly BindingRow[], routingKey: string): string[] {
    const out = new Set<string>();
    for (const row of rows) {
      if (type === 'fanout' || (type === 'direct' && row.routingKey === routingKey) || (type === 'topic' && this.matches(row.pattern, routingKey))) {
        out.add(row.queue);
      }
    }
    return [...out];
  }

  /**
   * Python `re.match(pattern, key)`: anchored at the start only. The stored pattern is a Python
   * regex; the ones kombu writes are also valid JavaScript (non-unicode mode accepts `\-`, `\000`).
   * An empty pattern (a direct-style row in a table we think is topic) matches everything, as in
   * Python.
   */
  private matches(pattern: string, routingKey: string): boolean {
    let re = this.compiled.get(pattern);
    if (re === undefined) {
      try {
        re = new RegExp(`^(?:${pattern})`);
      } catch {
        re = null;
      }
      this.compiled.set(pattern, re);
    }
    return re !== null && re.test(routingKey);
  }
}
