// Fanout exchanges over Redis PUB/SUB: channel names, subscription patterns and reading the
// exchange/routing key back from a channel (kombu/transport/redis.py
// `_get_publish_topic`, `_receive_one`).

/**
 * kombu `keyprefix_fanout`: true → `/{db}.`, false → '' (kombu 3 compatibility), a string replaces
 * it; `{db}` is formatted with the connection's db number either way.
 */
export function resolveFanoutPrefix(option: boolean | string, db: number): string {
  const template = option === true ? '/{db}.' : option === false ? '' : option;
  return template.replaceAll('{db}', String(db));
}

/** `<prefix><exchange>/<routing key>`, or `<prefix><exchange>` without a key or patterns. */
export function fanoutChannel(prefix: string, exchange: string, routingKey: string, patterns: boolean): string {
  return routingKey && patterns ? `${prefix}${exchange}/${routingKey}` : `${prefix}${exchange}`;
}

/**
 * Exchange and routing key of a received channel (global prefix already stripped): kombu drops
 * everything up to the first `.` when the channel starts with `/`, then the exchange is the text
 * before the first `/`.
 */
export function parseFanoutChannel(channel: string): { exchange: string; routingKey: string | null } {
  let rest = channel;
  if (rest.startsWith('/')) {
    const dot = rest.indexOf('.');
    rest = dot === -1 ? '' : rest.slice(dot + 1);
  }
  const slash = rest.indexOf('/');
  return slash === -1 ? { exchange: rest, routingKey: null } : { exchange: rest.slice(0, slash), routingKey: rest.slice(slash + 1) };
}

/** Redis glob matching (`*`, `?`, `[…]`, `\x`) as PSUBSCRIBE applies it; used by MemoryTransport. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else if (c === '\\' && i + 1 < glob.length) out += escapeRegExp(glob[++i]!);
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        out += body.startsWith('^') ? `[^${body.slice(1)}]` : `[${body}]`;
        i = end;
      }
    } else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}$`);
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
