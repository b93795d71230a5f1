// The suite runs several files at once against one Redis: each file that touches Redis must use
// its own claim from test/helpers/redis.ts (db + prefix stem), and may kill only its own client
// connections. These checks read the test files themselves, so a new file that skips its claim,
// borrows another's, or kills clients by hand fails here rather than flaking elsewhere.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { test } from 'node:test';
import { REDIS_CLAIMS } from '../helpers/redis.js';

const TEST_ROOT = resolve(import.meta.dirname, '..');
const SERVER_TIERS = ['integration', 'interop'];

function testFiles(tier: string): { name: string; path: string; text: string }[] {
  const dir = join(TEST_ROOT, tier);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => ({ name: basename(f, '.test.ts'), path: `test/${tier}/${f}`, text: readFileSync(join(dir, f), 'utf8') }));
}

const serverFiles = SERVER_TIERS.flatMap(testFiles);
const claimsIn = (text: string) => [...text.matchAll(/claimRedis\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]!);
// Anything that reaches the Redis server without going through a claim.
const TOUCHES_REDIS = [/from 'ioredis'/, /:6379\b/, /\bREDIS_(HOST|PORT)\b/, /startSentinel\(/, /testRedisUrl\(/];

test('every claim has its own prefix stem, none the start of another, on a test db (10..15)', () => {
  const entries = Object.entries(REDIS_CLAIMS) as [string, { db: number; stem: string; secondDb?: number }][];
  const seen = new Map<string, string>();
  for (const [file, claim] of entries) {
    assert.match(claim.stem, /^[a-z][a-z0-9]*$/, `${file}: stem`);
    for (const db of [claim.db, claim.secondDb ?? claim.db]) assert.ok(db >= 10 && db <= 15, `${file}: db ${db} is not a test db`);
    const twin = seen.get(claim.stem);
    assert.equal(twin, undefined, `${file} and ${twin} both claim the prefix stem '${claim.stem}'`);
    seen.set(claim.stem, file);
  }
  for (const [a, ca] of entries) {
    for (const [b, cb] of entries) {
      if (a !== b) assert.ok(!cb.stem.startsWith(ca.stem), `${a}'s stem '${ca.stem}' starts ${b}'s '${cb.stem}': a KEYS/SCAN '${ca.stem}*' would reach ${b}'s keys`);
    }
  }
});

test('a test file that touches Redis claims its own entry, exactly once; no claim is unused', () => {
  const problems: string[] = [];
  const claimedBy = new Map<string, string>();
  for (const file of serverFiles) {
    const claims = claimsIn(file.text);
    const touches = claims.length > 0 || TOUCHES_REDIS.some((re) => re.test(file.text));
    if (!touches) continue;
    if (claims.length !== 1) problems.push(`${file.path}: ${claims.length} claimRedis(...) calls (want exactly one)`);
    for (const claim of claims) {
      if (claim !== file.name) problems.push(`${file.path} claims '${claim}' (a file claims its own name, '${file.name}')`);
      if (!(claim in REDIS_CLAIMS)) problems.push(`${file.path}: '${claim}' is not in REDIS_CLAIMS (test/helpers/redis.ts)`);
      const other = claimedBy.get(claim);
      if (other) problems.push(`${file.path} and ${other} both claim '${claim}'`);
      claimedBy.set(claim, file.path);
    }
  }
  for (const name of Object.keys(REDIS_CLAIMS)) if (!claimedBy.has(name)) problems.push(`REDIS_CLAIMS['${name}'] is claimed by no test file`);
  assert.deepEqual(problems, []);
});

test('CLIENT KILL only through claim.killClients (own, named connections), never by hand', () => {
  const all = [...serverFiles, ...testFiles('unit')].filter((f) => f.name !== 'test-isolation');
  const offenders = all.filter((f) => /['"]KILL['"]/i.test(f.text) && /\.client\(|\.call\(/.test(f.text)).map((f) => f.path);
  assert.deepEqual(offenders, []);
});

test('unit tests never reach a server (a Redis URL in a parsing test is fine; a client is not)', () => {
  // ioredis' client classes (a bare `Command` builds no connection).
  const reaches = [/import\s+(?:\w+|{[^}]*\b(?:Redis|Cluster)\b[^}]*})\s+from 'ioredis'/, /claimRedis\(/, /startSentinel\(/];
  const offenders = testFiles('unit').filter((f) => f.name !== 'test-isolation' && reaches.some((re) => re.test(f.text)));
  assert.deepEqual(offenders.map((f) => f.path), []);
});
