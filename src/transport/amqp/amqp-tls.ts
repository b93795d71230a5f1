// TLS for RabbitMQ as kombu's pyamqp transport sets it up: `amqps://` (TLS with the defaults), or
// Celery's `broker_use_ssl` — true, or the dict py-amqp's `SSLTransport._wrap_socket_sni` takes:
// ca_certs, certfile, keyfile, cert_reqs, server_hostname, ciphers (amqp/transport.py). As there,
// the server's certificate chain is verified by default (against ca_certs, else the system's
// CAs; cert_reqs = CERT_NONE turns that off; on a client CERT_OPTIONAL verifies as
// CERT_REQUIRED does), and its host name only when server_hostname is given (None meaning the
// URL's host: kombu/transport/pyamqp.py `Transport.establish_connection`).
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../../errors.js';

const KNOWN = ['ca_certs', 'certfile', 'keyfile', 'cert_reqs', 'server_hostname', 'ciphers'] as const;

/** broker_use_ssl, read once: what every connection's TLS handshake uses. */
export interface AmqpTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly verify: boolean;
  /** Check the certificate names this host (undefined: no name check, as py-amqp without server_hostname). */
  readonly serverHostname?: string | null;
  readonly ciphers?: string;
}

/** Python's ssl.CERT_NONE / CERT_OPTIONAL / CERT_REQUIRED, as 0/1/2 or by name (kombu's spellings). */
function verifyFrom(value: unknown): boolean {
  if (value === 0 || value === 1 || value === 2) return value !== 0;
  const name = typeof value === 'string' ? value.toLowerCase().replace(/^(ssl\.)?cert_/, '') : '';
  if (name === 'none') return false;
  if (name === 'optional' || name === 'required') return true;
  throw new ConfigError(`broker_use_ssl['cert_reqs'] must be CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED (or 0, 1, 2), got ${JSON.stringify(value)}`);
}

/** Celery's `broker_use_ssl` for an AMQP broker; null when it is unset or false. */
export function parseBrokerUseSsl(value: unknown): AmqpTls | null {
  if (value === null || value === undefined || value === false) return null;
  if (value === true) return { verify: true };
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`broker_use_ssl must be true or a dict of ${KNOWN.join(', ')}`);
  const o = value as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(KNOWN as readonly string[]).includes(k)) throw new ConfigError(`broker_use_ssl: unknown key '${k}' for RabbitMQ (known: ${KNOWN.join(', ')})`);
  }
  const file = (k: 'ca_certs' | 'certfile' | 'keyfile'): Buffer | undefined => {
    const path = o[k];
    if (path === undefined || path === null) return undefined;
    if (typeof path !== 'string') throw new ConfigError(`broker_use_ssl['${k}'] must be a file path`);
    try {
      return readFileSync(path);
    } catch (cause) {
      throw new ConfigError(`broker_use_ssl['${k}']: cannot read '${path}' (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message})`, { cause });
    }
  };
  const tls: { -readonly [K in keyof AmqpTls]: AmqpTls[K] } = { verify: o.cert_reqs === undefined || o.cert_reqs === null ? true : verifyFrom(o.cert_reqs) };
  const ca = file('ca_certs');
  const cert = file('certfile');
  // py-amqp: load_cert_chain(certfile, keyfile) — the key may sit in the certificate's file.
  const key = file('keyfile') ?? cert;
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (cert && key) tls.key = key;
  if ('server_hostname' in o) {
    const name = o.server_hostname;
    if (name !== null && typeof name !== 'string') throw new ConfigError(`broker_use_ssl['server_hostname'] must be a host name or None`);
    tls.serverHostname = name;
  }
  if (o.ciphers !== undefined && o.ciphers !== null) {
    if (typeof o.ciphers !== 'string') throw new ConfigError(`broker_use_ssl['ciphers'] must be an OpenSSL cipher string`);
    tls.ciphers = o.ciphers;
  }
  return tls;
}

/** Node's tls.connect options for one node (`host` is the URL's host name). */
export function tlsSocketOptions(tls: AmqpTls, host: string): ConnectionOptions {
  const options: ConnectionOptions = { rejectUnauthorized: tls.verify };
  if (tls.ca) options.ca = tls.ca;
  if (tls.cert) options.cert = tls.cert;
  if (tls.key) options.key = tls.key;
  if (tls.ciphers) options.ciphers = tls.ciphers;
  if (tls.serverHostname === undefined) {
    // py-amqp checks the host name only when given server_hostname: the chain is still verified.
    options.checkServerIdentity = () => undefined;
  } else {
    options.servername = tls.serverHostname ?? host;
  }
  return options;
}

const CERT_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** A certificate-verification failure, said in one line with what to check; null for other errors. */
export function describeTlsError(error: unknown): string | null {
  const code = (error as { code?: string } | undefined)?.code;
  if (!code || !CERT_ERRORS.has(code)) return null;
  const what = code === 'ERR_TLS_CERT_ALTNAME_INVALID' ? "broker_use_ssl['server_hostname']" : "broker_use_ssl['ca_certs']";
  return `TLS: the broker's certificate was not accepted (${code}: ${(error as Error).message.split('\n')[0]}); check ${what}`;
}
