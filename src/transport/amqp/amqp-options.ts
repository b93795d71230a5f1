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

/** The Celery settings (beside `broker_transport_options`) that shape a RabbitMQ connection. */
export interface AmqpBrokerSettings {
  /** Celery's `broker_failover_strategy` (default round-robin). */
  failoverStrategy?: FailoverStrategy;
  /** Celery's `broker_use_ssl`: true, or py-amqp's dict (ca_certs, certfile, keyfile, cert_reqs, server_hostname, ciphers). */
  useSsl?: unknown;
  /** Celery's `broker_heartbeat` in seconds (default 120; 0 = off). */
  heartbeat?: number;
}

/** Where a connection's heartbeat can come from, weakest first (see `parseAmqpUrl`). */
export interface HeartbeatSources {
  /** Celery's `broker_heartbeat` (unset: Celery's default, 120 s). */
  heartbeat?: number;
  /** `broker_transport_options.heartbeat`. */
  transportHeartbeat?: number;
}

/** Celery's `broker_heartbeat` default (celery/app/defaults.py: `heartbeat=Option(120, type='int')`). */
export const DEFAULT_BROKER_HEARTBEAT = 120;

/**
 * `tls`: broker_use_ssl is set, so an `amqp://` URL connects with TLS too (default port 5671, as
 * kombu's default_ssl_port). The heartbeat asked for is, strongest first: the transport option
 * (kombu/transport/pyamqp.py `establish_connection` lays `transport_options` over the
 * connection's own values), the URL's `?heartbeat=` (kombu/utils/url.py `parse_url` turns the
 * query into Connection arguments), then `broker_heartbeat` (celery/worker/consumer/consumer.py
 * `Consumer.__init__` passes it as the connection's heartbeat). The server's own value caps it
 * (amqplib, like py-amqp, takes the smaller of the two when both are non-zero).
 */
export function parseAmqpUrl(url: string, heartbeats: HeartbeatSources = {}, tls = false): AmqpConnectionOptions {
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
  if (queryHeartbeat !== null && !(Number(queryHeartbeat) >= 0)) {
    throw new ConfigError(`broker URL ${maskUrl(url)}: heartbeat must be a number of seconds >= 0, got '${queryHeartbeat.slice(0, 40)}'`);
  }
  return {
    protocol,
    hostname: parts.hostname ? decodeURIComponent(parts.hostname).replace(/^\[(.*)\]$/, '$1') : 'localhost',
    port: parts.port ? Number(parts.port) : protocol === 'amqps' ? 5671 : 5672,
    // kombu's defaults when the URL names no user.
    username: parts.username ? decodeURIComponent(parts.username) : 'guest',
    password: parts.password ? decodeURIComponent(parts.password) : parts.username ? '' : 'guest',
    vhost: path === '' ? '/' : path,
    heartbeat: heartbeats.transportHeartbeat ?? (queryHeartbeat !== null ? Number(queryHeartbeat) : heartbeats.heartbeat ?? DEFAULT_BROKER_HEARTBEAT),
  };
}

/**
 * A broker URL list (`amqp://h1//;amqp://h2//`) as kombu's `Connection` takes it: the nodes to
 * fail over between, the first one first.
 */
export function parseAmqpUrls(url: string, heartbeats: HeartbeatSources = {}, tls = false): AmqpConnectionOptions[] {
  const parts = url.split(';').map((part) => part.trim()).filter(Boolean);
  if (parts.length === 0) throw new ConfigError('broker URL is empty');
  return parts.map((part) => parseAmqpUrl(part, heartbeats, tls));
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
  heartbeat: seconds.optional(),
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
  /** Overrides `broker_heartbeat` and the URL's `?heartbeat=` when set. */
  heartbeat: number | undefined;
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
