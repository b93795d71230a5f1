// Redis broker/backend URLs as kombu and redis-py read them: redis://, rediss:// (TLS),
// redis+socket:// and unix:// (socket paths), and sentinel:// (Redis Sentinel, several URLs
// joined by ';'). Mirrors kombu/utils/url.py and kombu/transport/redis.py `Channel._connparams`
// / `SentinelChannel._sentinel_managed_pool`.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../../errors.js';
import { maskUrl, urlScheme } from '../../url-mask.js';
import { TlsConnector } from './tls-connector.js';

/** The URL schemes that name a Redis (kombu's Redis transport, Celery's Redis result backend). */
export const REDIS_URL_SCHEMES: ReadonlySet<string> = new Set(['redis', 'rediss', 'redis+socket', 'unix', 'sentinel']);

/** Where and how to connect: a subset of ioredis `RedisOptions`, ready to spread into `new Redis()`. */
export interface RedisConnectionOptions {
  host?: string;
  port?: number;
  /** Unix socket path (redis+socket:// and unix:// URLs). */
  path?: string;
  username?: string;
  password?: string;
  db: number;
  tls?: TlsOptions;
  /** With `tls`: ioredis's connector, keeping an error listener on every TLS socket (tls-connector.ts). */
  Connector?: RedisOptions['Connector'];
  /** Sentinel: where to ask for the master (ioredis then follows failovers itself). */
  sentinels?: { host: string; port: number }[];
  /** Sentinel: the monitored master's name (`master_name`). */
  name?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
}

/** The transport options a sentinel:// URL needs (kombu's `master_name`, `sentinel_kwargs`). */
export interface SentinelOptions {
  masterName?: string;
  /** redis-py keyword arguments for the sentinel connections; `username` / `password` apply. */
  sentinelKwargs?: Record<string, unknown>;
  /** Where the options come from, for error messages (e.g. `broker_transport_options`). */
  optionsName?: string;
}

const DEFAULT_PORT = 6379;
const DEFAULT_SENTINEL_PORT = 26379;

/** URL query parameters we understand (redis-py / kombu spelling). */
const KNOWN_QUERY = new Set([
  'db',
  'virtual_host',
  'ssl_cert_reqs',
  'ssl_ca_certs',
  'ssl_certfile',
  'ssl_keyfile',
  'ssl_check_hostname',
]);

/**
 * Parse a Redis URL into connection options (db defaults to 0, host to 127.0.0.1 as kombu).
 *
 * @example
 * parseRedisUrl('redis://:secret@cache:6380/2')
 * // { host: 'cache', port: 6380, password: 'secret', db: 2 }
 */
export function parseRedisUrl(url: string, sentinel: SentinelOptions = {}, ssl?: SslSettings): RedisConnectionOptions {
  const scheme = urlScheme(url);
  if (!scheme) throw new ConfigError(`broker URL ${maskUrl(url)} has no scheme (expected redis://host:port/db)`);
  if (scheme === 'redis+socket' || scheme === 'unix' || scheme === 'socket') return parseSocketUrl(url, scheme);
  if (scheme === 'sentinel') return parseSentinelUrl(url, sentinel);
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new ConfigError(`broker URL ${maskUrl(url)}: '${scheme}://' is not a Redis URL`);
  }
  return parseTcpUrl(url, scheme, DEFAULT_PORT, sslSettings(ssl));
}

/** A host URL (`scheme://[user:pass@]host[:port][/db][?query]`) into connection options. */
function parseTcpUrl(url: string, scheme: string, defaultPort: number, ssl: Record<string, unknown> | null = null): RedisConnectionOptions {
  // kombu's url_to_parts: everything after the scheme is parsed with HTTP URL semantics; no host
  // (redis:// or redis:///3) means 127.0.0.1.
  let rest = url.slice(scheme.length + 3);
  if (rest === '' || rest.startsWith('/') || rest.startsWith('?')) rest = `127.0.0.1${rest}`;
  let parts: URL;
  try {
    parts = new URL(`http://${rest}`);
  } catch (cause) {
    throw new ConfigError(`broker URL ${maskUrl(url)} is not a valid URL`, { cause });
  }
  const query = checkedQuery(parts.searchParams, url);
  const out: RedisConnectionOptions = { db: 0 };
  const username = decodeURIComponent(parts.username);
  const password = decodeURIComponent(parts.password);
  if (username) out.username = username;
  if (password) out.password = password;

  const pathPart = decodeURIComponent(parts.pathname);
  out.host = parts.hostname ? decodeURIComponent(parts.hostname).replace(/^\[(.*)\]$/, '$1') : '127.0.0.1';
  out.port = parts.port ? Number(parts.port) : defaultPort;
  // The path is kombu's virtual_host = the db number; `?db=` (redis-py) is accepted too.
  out.db = parseDb(pathPart.replace(/^\//, '') || query.db || query.virtual_host, url);
  const urlSsl = Object.fromEntries(Object.entries(query).filter(([key]) => SSL_KEYS.has(key)));
  if (scheme === 'rediss' || ssl) {
    // kombu: broker_use_ssl turns TLS on even for redis:// (`Channel._connparams`, conninfo.ssl).
    out.tls = tlsOptions({ ...ssl, ...urlSsl }, `broker URL ${maskUrl(url)}`);
    out.Connector = TlsConnector as unknown as RedisOptions['Connector'];
  } else if (Object.keys(urlSsl).length > 0) {
    // celery/backends/redis.py E_REDIS_SSL_PARAMS_AND_SCHEME_MISMATCH: TLS settings on a plain URL.
    throw new ConfigError(`broker URL ${maskUrl(url)}: ssl_* parameters need a rediss:// URL`);
  }
  return out;
}

/**
 * `sentinel://[user:pass@]host[:port][/db];sentinel://host2:port2;…`: every part names a sentinel
 * (port 26379 by default); the first part's credentials and db are the master's, as kombu passes
 * them on to `master_for`. The master's name comes from the `master_name` transport option.
 */
function parseSentinelUrl(url: string, options: SentinelOptions): RedisConnectionOptions {
  const where = options.optionsName ?? 'transport options';
  if (!options.masterName) {
    throw new ConfigError(`${maskUrl(url)}: a sentinel:// URL needs ${where}.master_name (the name the sentinels monitor)`);
  }
  const parsed = url
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      if (!/^sentinel:\/\//i.test(part)) throw new ConfigError(`${maskUrl(url)}: every ';'-separated part must be a sentinel:// URL`);
      return parseTcpUrl(part, 'sentinel', DEFAULT_SENTINEL_PORT);
    });
  const sentinels = parsed.map(({ host, port }) => ({ host: host!, port: port! }));
  const first = parsed[0]!;
  const out: RedisConnectionOptions = { db: first.db, sentinels, name: options.masterName };
  if (first.username) out.username = first.username;
  if (first.password) out.password = first.password;
  const kwargs = options.sentinelKwargs ?? {};
  for (const key of Object.keys(kwargs)) {
    if (key !== 'username' && key !== 'password') {
      throw new ConfigError(`${where}.sentinel_kwargs: '${key}' is not supported (username, password)`);
    }
  }
  if (typeof kwargs.username === 'string') out.sentinelUsername = kwargs.username;
  if (typeof kwargs.password === 'string') out.sentinelPassword = kwargs.password;
  return out;
}

/**
 * redis+socket:///run/redis.sock?virtual_host=3 (kombu) or unix://[:pass@]/run/redis.sock?db=3
 * (redis-py). Read verbatim: WHATWG parsing would take the first path segment for a host.
 */
function parseSocketUrl(url: string, scheme: string): RedisConnectionOptions {
  const [rest = '', search = ''] = url.slice(scheme.length + 3).split(/\?(.*)/s);
  const query = checkedQuery(new URLSearchParams(search), url);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const socketPath = decodeURIComponent(slash === -1 ? '' : rest.slice(slash));
  if (!socketPath || socketPath === '/') throw new ConfigError(`broker URL ${maskUrl(url)} names no socket path`);
  const out: RedisConnectionOptions = { path: socketPath, db: parseDb(query.virtual_host ?? query.db, url) };
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    const [user = '', ...pass] = authority.slice(0, at).split(':');
    if (user) out.username = decodeURIComponent(user);
    if (pass.length > 0 && pass.join(':')) out.password = decodeURIComponent(pass.join(':'));
  }
  return out;
}

function checkedQuery(params: URLSearchParams, url: string): Record<string, string> {
  const query = Object.fromEntries(params);
  for (const key of Object.keys(query)) {
    if (!KNOWN_QUERY.has(key)) {
      throw new ConfigError(`broker URL ${maskUrl(url)}: unknown query parameter '${key}' (known: ${[...KNOWN_QUERY].join(', ')})`);
    }
  }
  return query;
}

/** kombu `_prepare_virtual_host`: '' or '/' → 0, otherwise an integer. */
function parseDb(value: string | undefined, url: string): number {
  if (value === undefined || value === '' || value === '/') return 0;
  const text = value.replace(/^\//, '');
  if (!/^\d+$/.test(text)) {
    throw new ConfigError(`broker URL ${maskUrl(url)}: database must be an integer, got '${value}'`);
  }
  return Number(text);
}

/** The `ssl_*` names redis-py/kombu take in `broker_use_ssl` / `redis_backend_use_ssl` and URL queries. */
const SSL_KEYS = new Set(['ssl_cert_reqs', 'ssl_ca_certs', 'ssl_certfile', 'ssl_keyfile', 'ssl_check_hostname']);

/** Python's ssl.CERT_NONE / CERT_OPTIONAL / CERT_REQUIRED values, for configs carrying the numbers. */
const CERT_REQS_NUMBERS: Record<number, string> = { 0: 'none', 1: 'optional', 2: 'required' };

/**
 * `broker_use_ssl` / `redis_backend_use_ssl` (a dict of ssl_* settings, or true) merged under the
 * URL's own ssl_* query parameters (which win, as in celery/backends/redis.py `_params_from_url`).
 */
export interface SslSettings {
  settings: Record<string, unknown> | boolean | null | undefined;
  /** The setting's name, for error messages. */
  name: string;
}

/**
 * Node TLS options from redis-py's ssl_* settings. Verification is on unless ssl_cert_reqs says
 * none: CERT_OPTIONAL verifies too, as it does for any Python client socket (ssl module docs:
 * "in client mode, CERT_OPTIONAL has the same meaning as CERT_REQUIRED"); the host name is checked
 * unless ssl_check_hostname is false (redis-py ≥6 default: checked).
 */
function tlsOptions(values: Record<string, unknown>, where: string): TlsOptions {
  const tls: TlsOptions = {};
  const reqs = values.ssl_cert_reqs;
  if (reqs !== undefined && reqs !== null) {
    // kombu parse_ssl_cert_reqs accepts CERT_NONE/none, CERT_OPTIONAL/optional, CERT_REQUIRED/required.
    const normalized = typeof reqs === 'number' ? CERT_REQS_NUMBERS[reqs] : String(reqs).toLowerCase().replace(/^cert_/, '');
    if (normalized === 'none') tls.rejectUnauthorized = false;
    else if (normalized === 'required' || normalized === 'optional') tls.rejectUnauthorized = true;
    else throw new ConfigError(`${where}: ssl_cert_reqs must be CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED, got '${String(reqs)}'`);
  }
  const file = (key: string): Buffer | undefined => {
    const p = values[key];
    if (p === undefined || p === null || p === '') return undefined;
    if (typeof p !== 'string') throw new ConfigError(`${where}: ${key} must be a file path, got ${typeof p}`);
    try {
      return readFileSync(p);
    } catch (cause) {
      throw new ConfigError(`${where}: cannot read ${key} '${p}' (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, { cause });
    }
  };
  const ca = file('ssl_ca_certs');
  const cert = file('ssl_certfile');
  const key = file('ssl_keyfile');
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  const checkHostname = values.ssl_check_hostname;
  if (checkHostname === false || String(checkHostname).toLowerCase() === 'false') tls.checkServerIdentity = () => undefined;
  return tls;
}

/** Validate a `*_use_ssl` setting: true, or a dict of known ssl_* keys. */
function sslSettings(ssl: SslSettings | undefined): Record<string, unknown> | null {
  const value = ssl?.settings;
  if (value === undefined || value === null || value === false) return null;
  if (value === true) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${ssl!.name} must be a dict of ssl_* settings or true`);
  for (const key of Object.keys(value)) {
    if (!SSL_KEYS.has(key)) throw new ConfigError(`${ssl!.name}: unknown key '${key}' (known: ${[...SSL_KEYS].join(', ')})`);
  }
  return value;
}
