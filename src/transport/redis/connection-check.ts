// The start-up check a CLI makes before it serves: PING the server, failing at once (with the
// client's own reason: ECONNREFUSED, ENOTFOUND, WRONGPASS…) rather than after ioredis' retries.
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
    throw new TransportError(`Cannot connect to ${maskUrl(url)}: ${(cause as Error).message}`, { cause });
  } finally {
    clearTimeout(timer);
    if (onError) client.off('error', onError);
  }
}
