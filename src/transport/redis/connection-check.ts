// The start-up check a CLI makes before it serves: PING the server, failing at once (with the
// client's own reason: ECONNREFUSED, ENOTFOUND, WRONGPASS, a certificate not trusted…) rather than
// after ioredis' retries.
import type { Redis } from 'ioredis';
import { TransportError } from '../../errors.js';
import { maskUrl } from '../../url-mask.js';

export async function checkRedisConnection(client: Redis, url: string, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onError: ((error: Error) => void) | undefined;
  try {
    await Promise.race([
      client.ping(),
      new Promise((_, reject) => {
        onError = reject;
        client.on('error', onError);
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (cause) {
    throw new TransportError(`Cannot connect to ${maskUrl(url)}: ${(cause as Error).message}${tlsHint(cause)}`, { cause });
  } finally {
    clearTimeout(timer);
    if (onError) client.off('error', onError);
  }
}

/** Node's certificate verification failures, and what to check for each. */
const TLS_HINTS: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the server certificate is not signed by a CA in ssl_ca_certs',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate is not signed by a CA in ssl_ca_certs',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate is not signed by a CA in ssl_ca_certs',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed; name it in ssl_ca_certs',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: "the server certificate does not name this host (ssl_check_hostname)",
};

function tlsHint(cause: unknown): string {
  const code = (cause as { code?: unknown } | null)?.code;
  const hint = typeof code === 'string' ? TLS_HINTS[code] : undefined;
  return hint ? ` (TLS: ${hint})` : '';
}
