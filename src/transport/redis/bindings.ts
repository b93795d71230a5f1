// Exchange → queue bindings as kombu stores them in `_kombu.binding.<exchange>` and how it
// routes through them (kombu/transport/redis.py `Channel._queue_bind`, `Channel.get_table`;
// kombu/transport/virtual/exchange.py `DirectExchange`, `TopicExchange`, `FanoutExchange`).
import { BoundedCache } from '../../bounded-cache.js';
import type { ExchangeType } from '../transport.js';

/** Compiled topic patterns kept (binding tables are written by anyone with broker access). */
export const BINDING_CACHE_SIZE = 1024;
/** Longer stored patterns, or ones with more `#` words, match nothing (backtracking cost). */
export const MAX_BINDING_PATTERN_LENGTH = 1024;
export const MAX_BINDING_WILDCARDS = 8;

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

/**
 * Whether a stored pattern has the only shape kombu writes (`topicKeyToPattern`, ≤5.6 or 5.7):
 * `^…$` around escaped characters, letters, digits and the wildcard tokens — no groups,
 * alternations or nested quantifiers, and at most MAX_BINDING_WILDCARDS `#` words.
 */
export function isKombuTopicPattern(pattern: string): boolean {
  if (pattern.length > MAX_BINDING_PATTERN_LENGTH || !pattern.startsWith('^') || !pattern.endsWith('$')) return false;
  let wildcards = 0;
  const rest = pattern.slice(1, -1).replace(/\[\^\\\.\]\+|\.\*\?(?:\[\^\\\.\])?|\\000|\\[^\p{L}\p{N}]/gu, (token) => {
    if (token.startsWith('.*?')) wildcards++;
    return '';
  });
  return wildcards <= MAX_BINDING_WILDCARDS && /^[\p{L}\p{N}#*]*$/u.test(rest);
}

/** Direct/topic/fanout lookup over binding rows, with compiled topic patterns cached (bounded). */
export class BindingMatcher {
  private readonly compiled = new BoundedCache<string, RegExp | null>(BINDING_CACHE_SIZE);

  /** The queues (each once, in table order) a message with `routingKey` reaches. */
  queues(type: ExchangeType, rows: readonly BindingRow[], routingKey: string): string[] {
    const out = new Set<string>();
    for (const row of rows) {
      if (type === 'fanout' || (type === 'direct' && row.routingKey === routingKey) || (type === 'topic' && this.matches(this.safePattern(row), routingKey))) {
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
  /**
   * The row's stored pattern when kombu could have written it, else the one kombu writes for its
   * routing key (a hand-written regex in the table could backtrack without end); '' stays ''.
   */
  private safePattern(row: BindingRow): string {
    if (row.pattern === '' || isKombuTopicPattern(row.pattern)) return row.pattern;
    const derived = topicKeyToPattern(row.routingKey);
    return isKombuTopicPattern(derived) ? derived : '^$(?!)';
  }

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
