// Isolation for tests that talk to the real Redis. The runner executes several files at once on
// one server, so every file that touches Redis claims its db and key-prefix stem here, in ONE
// table (test/unit/test-isolation.test.ts fails on two files claiming the same stem, a stem that
// is the start of another, a file that touches Redis without its claim, or a claim nobody uses).
// A file's keys, queues, node names and pub/sub channels all carry its prefix (kombu's
// global_keyprefix prefixes PUBLISH/SUBSCRIBE channels too: kombu/transport/redis.py
// PrefixedRedisPubSub), which matters because pub/sub channels ignore the db number.
// Dbs 5–9 belong to tools/wire-capture (it flushes them); tests use 10–15, several files
// per db (there are more files than dbs), so the prefix is what keeps files apart.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_HOST = process.env.TEST_REDIS_HOST ?? '127.0.0.1';
export const REDIS_PORT = Number(process.env.TEST_REDIS_PORT ?? 6379);

interface Claim {
  /** 10..15. */
  readonly db: number;
  /** Starts every key, queue, node name and channel of the file (plus a per-run token). */
  readonly stem: string;
  /** A second db the file checks db handling with (same prefix, so still its own keys). */
  readonly secondDb?: number;
}

/** Which test file (its basename without `.test.ts`) owns which db and prefix stem. */
export const REDIS_CLAIMS = {
  // test/integration
  'amqp-cluster-failover': { db: 10, stem: 'acfail' },
  'amqp-private-restart': { db: 11, stem: 'aprestart' },
  'backend-chord': { db: 11, stem: 'bchord' },
  'backend-conformance': { db: 12, stem: 'bconf' },
  'backend-redis': { db: 13, stem: 'bredis' },
  'beat-redbeat-sentinel': { db: 11, stem: 'rbsent' },
  'beat-default-leader': { db: 14, stem: 'dleader' },
  'beat-redis-leader': { db: 15, stem: 'leader' },
  cli: { db: 10, stem: 'cli' },
  'control-redis': { db: 15, stem: 'ctlredis' },
  'control-untrusted': { db: 14, stem: 'ctluntr' },
  'redis-acl': { db: 15, stem: 'aclusr' },
  'redis-network-faults': { db: 10, stem: 'netfault' },
  'redis-tls': { db: 11, stem: 'tlsrds' },
  'startup-retry': { db: 10, stem: 'startup' },
  'transport-conformance': { db: 10, stem: 'tconf' },
  'transport-delete-queue': { db: 14, stem: 'tdelq' },
  'transport-redis': { db: 12, stem: 'tredis', secondDb: 13 },
  'worker-embedded-beat': { db: 11, stem: 'embeat' },
  'worker-eta-limit': { db: 13, stem: 'etalim' },
  'worker-message-limits': { db: 12, stem: 'msglim' },
  'worker-redis': { db: 11, stem: 'wredis' },
  // test/interop
  'beat-python-worker': { db: 13, stem: 'pybeat' },
  'beat-redbeat': { db: 14, stem: 'redbeat' },
  'control-python-client': { db: 13, stem: 'ctlpyc' },
  'control-python-worker': { db: 14, stem: 'ctlpyw' },
  'core-python-producer': { db: 13, stem: 'pyprod' },
  'core-python-worker': { db: 14, stem: 'pywork' },
  'core-sentinel': { db: 11, stem: 'sentinel' },
  'core-visibility': { db: 15, stem: 'visib' },
  'django-beat': { db: 12, stem: 'djbeat' },
  'django-results': { db: 15, stem: 'djres' },
  'rabbitmq-quorum': { db: 13, stem: 'rquorum' },
  'otel-trace': { db: 13, stem: 'otel' },
  'security-secrets': { db: 11, stem: 'secrets' },
  'sqla-results': { db: 11, stem: 'sqla' },
  'worker-canvas': { db: 12, stem: 'canvas' },
  'worker-crash-recovery': { db: 15, stem: 'crash' },
  'worker-execution': { db: 14, stem: 'wexec' },
  'worker-flower': { db: 10, stem: 'flower' },
  'worker-hostile-input': { db: 12, stem: 'hostile' },
  'worker-metrics': { db: 14, stem: 'metrics' },
  'worker-mixed-fleet': { db: 15, stem: 'fleet' },
  'worker-own-exceptions': { db: 12, stem: 'ownexc' },
  'worker-python-producer': { db: 10, stem: 'wpyprod' },
  'worker-rabbitmq': { db: 12, stem: 'wrabbit' },
  'worker-remote-control': { db: 13, stem: 'remctl' },
} as const satisfies Record<string, Claim>;

export type RedisClaimName = keyof typeof REDIS_CLAIMS;

export interface RedisClaim {
  readonly db: number;
  /** `redis://host:port/<db>`. */
  readonly url: string;
  /** `<stem>-<8 hex>`: the stem, plus a per-process part so two checkouts running one file at once stay apart. */
  readonly token: string;
  /** `<token>:`, the global_keyprefix / key prefix. */
  readonly prefix: string;
  /** The claim's second db and its URL (only for a claim that declares one). */
  readonly secondDb: number;
  readonly secondUrl: string;
  /**
   * CLIENT KILL for this file's own connections only: those named exactly `name`, which must
   * start with the claim's token (so another file's connections can never match). Returns the
   * number killed.
   */
  killClients(admin: Redis, name: string): Promise<number>;
  /** Lines of CLIENT LIST for the connections named exactly `name`. */
  clientList(admin: Redis, name: string): Promise<string[]>;
  /** Delete every key under the claim's prefix (and any further prefixes that start with the token). */
  deleteKeys(...morePrefixes: string[]): Promise<void>;
}

/** A short unique token for names in one test file: `t<hex>` (for files that do not touch Redis). */
export function uniqueToken(): string {
  return `t${randomBytes(4).toString('hex')}`;
}

function redisUrl(db: number): string {
  if (db < 10 || db > 15) throw new Error(`test Redis db must be 10..15, got ${db}`);
  return `redis://${REDIS_HOST}:${REDIS_PORT}/${db}`;
}

/** The test file's db, URL and prefix; `name` is the file's basename without `.test.ts`. */
export function claimRedis(name: RedisClaimName): RedisClaim {
  const claim: Claim = REDIS_CLAIMS[name];
  const token = `${claim.stem}-${randomBytes(4).toString('hex')}`;
  const prefix = `${token}:`;
  const url = redisUrl(claim.db);
  const clientList = async (admin: Redis, clientName: string) =>
    String(await admin.client('LIST'))
      .split('\n')
      .filter((line) => line.includes(` name=${clientName} `));
  return {
    db: claim.db,
    url,
    token,
    prefix,
    get secondDb() {
      if (claim.secondDb === undefined) throw new Error(`${name} claims no second db`);
      return claim.secondDb;
    },
    get secondUrl() {
      return redisUrl(this.secondDb);
    },
    clientList,
    async killClients(admin, clientName) {
      if (!clientName.startsWith(token)) throw new Error(`${name} may only kill its own connections (named ${token}…), not ${clientName}`);
      let killed = 0;
      for (const line of await clientList(admin, clientName)) {
        const id = /\bid=(\d+)/.exec(line)?.[1];
        if (id) killed += Number(await admin.client('KILL', 'ID', id).catch(() => 0));
      }
      return killed;
    },
    async deleteKeys(...morePrefixes) {
      for (const p of morePrefixes) if (!p.startsWith(token)) throw new Error(`${name} may only delete its own keys (${token}…), not ${p}*`);
      await deleteKeys(url, prefix, ...morePrefixes);
      if (claim.secondDb !== undefined) await deleteKeys(redisUrl(claim.secondDb), prefix, ...morePrefixes);
    },
  };
}

/** Delete every key under the given prefixes on `url` (a test's own keys, in `after`). */
async function deleteKeys(url: string, ...prefixes: string[]): Promise<void> {
  const redis = new Redis(url);
  try {
    for (const p of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${p}*`, 'COUNT', 1000);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
