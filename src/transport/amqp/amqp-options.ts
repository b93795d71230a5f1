// RabbitMQ broker URLs and transport options as kombu reads them (kombu/utils/url.py,
// kombu/transport/pyamqp.py): `amqp://user:pass@host:5672/vhost`, `pyamqp://` as an alias and
// `amqps://` for TLS; the path is the virtual host, where '' and '/' both mean '/'.
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import { maskUrl, urlScheme } from '../../url-mask.js';
import { validateTransportOptions } from '../transport-options.js';

/** What amqplib's `connect` takes, spelled out so the vhost rules are kombu's, not amqplib's. */
export interface AmqpConnectionOptions {
  protocol: 'amqp' | 'amqps';
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  /** Seconds between heartbeats (0 = off). */
  heartbeat: number;
}

/** `tls`: broker_use_ssl is set, so an `amqp://` URL connects with TLS too (default port 5671, as kombu's default_ssl_port). */
export function parseAmqpUrl(url: string, heartbeat: number, tls = false): AmqpConnectionOptions {
  const scheme = urlScheme(url);
  if (scheme !== 'amqp' && scheme !== 'amqps' && scheme !== 'pyamqp') {
    throw new ConfigError(`broker URL ${maskUrl(url)}: '${scheme ?? url}' is not an AMQP URL`);
  }
  let parts: URL;
  try {
    parts = new URL(`http://${url.slice(scheme.length + 3) || 'localhost'}`);
  } catch (cause) {
    throw new ConfigError(`broker URL ${maskUrl(url)} is not a valid URL`, { cause });
  }
  for (const key of parts.searchParams.keys()) {
    if (key !== 'heartbeat') throw new ConfigError(`broker URL ${maskUrl(url)}: unknown query parameter '${key}' (known: heartbeat)`);
  }
  const protocol = scheme === 'amqps' || tls ? 'amqps' : 'amqp';
  const path = decodeURIComponent(parts.pathname.replace(/^\//, ''));
  const queryHeartbeat = parts.searchParams.get('heartbeat');
  return {
    protocol,
    hostname: parts.hostname ? decodeURIComponent(parts.hostname).replace(/^\[(.*)\]$/, '$1') : 'localhost',
    port: parts.port ? Number(parts.port) : protocol === 'amqps' ? 5671 : 5672,
    // kombu's defaults when the URL names no user.
    username: parts.username ? decodeURIComponent(parts.username) : 'guest',
    password: parts.password ? decodeURIComponent(parts.password) : parts.username ? '' : 'guest',
    vhost: path === '' ? '/' : path,
    heartbeat: queryHeartbeat !== null ? Number(queryHeartbeat) : heartbeat,
  };
}

/**
 * A broker URL list (`amqp://h1//;amqp://h2//`) as kombu's `Connection` takes it: the nodes to
 * fail over between, the first one first.
 */
export function parseAmqpUrls(url: string, heartbeat: number, tls = false): AmqpConnectionOptions[] {
  const parts = url.split(';').map((part) => part.trim()).filter(Boolean);
  if (parts.length === 0) throw new ConfigError('broker URL is empty');
  return parts.map((part) => parseAmqpUrl(part, heartbeat, tls));
}

export type FailoverStrategy = 'round-robin' | 'shuffle';

/**
 * The next node to try after `current` failed (kombu/connection.py `failover_strategies`):
 * round-robin cycles through the list in order; shuffle picks at random (`shufflecycle`).
 */
export function nextNode(current: number, count: number, strategy: FailoverStrategy, random: () => number = Math.random): number {
  if (count <= 1) return 0;
  if (strategy === 'shuffle') return Math.floor(random() * count) % count;
  return (current + 1) % count;
}

const seconds = z.number().finite().nonnegative();

// kombu's pyamqp transport options and Celery's publish retry policy; the ones that only tune
// py-amqp internals are accepted so a Python config reads across, and have no effect here.
const schema = z.strictObject({
  confirm_publish: z.boolean().default(false),
  connect_timeout: seconds.default(4),
  heartbeat: seconds.default(60),
  read_timeout: seconds.optional(),
  write_timeout: seconds.optional(),
  client_properties: z.record(z.string(), z.unknown()).optional(),
  login_method: z.string().optional(),
  max_retries: z.number().int().min(0).nullable().optional(),
  interval_start: seconds.optional(),
  interval_step: seconds.optional(),
  interval_max: seconds.optional(),
});

export interface AmqpTransportOptions {
  /** Wait for RabbitMQ's publisher confirm on every publish (kombu `confirm_publish`). */
  confirmPublish: boolean;
  connectTimeoutMs: number;
  heartbeat: number;
  /** Sent to RabbitMQ with the connection (`connection_name` shows in the management UI). */
  clientProperties: Record<string, unknown>;
}

export function parseAmqpTransportOptions(raw: Record<string, unknown> = {}): AmqpTransportOptions {
  const o = validateTransportOptions(schema, raw, 'RabbitMQ');
  return {
    confirmPublish: o.confirm_publish,
    connectTimeoutMs: o.connect_timeout * 1000,
    heartbeat: o.heartbeat,
    clientProperties: o.client_properties ?? {},
  };
}
