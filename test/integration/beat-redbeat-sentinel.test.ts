// -S redbeat with RedBeat's Sentinel configuration (`redbeat_redis_url = 'redis-sentinel://'`,
// `redbeat_redis_options = {sentinels, service_name, db}`): a real sentinel points beat at the
// test Redis, the entry's state lands there, and the message is sent.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { setUpBeat } from '../../src/beat/beat-setup.js';
import { Celery } from '../../src/app.js';
import { silentLogger } from '../../src/log.js';
import { pollUntil } from '../helpers/python.js';
import { claimRedis } from '../helpers/redis.js';
import { startSentinel } from '../helpers/sentinel.js';

const redisClaim = claimRedis('beat-redbeat-sentinel');
const { db: DB, url, token, prefix } = redisClaim;

after(() => redisClaim.deleteKeys());

test('redbeat through Redis Sentinel, configured as RedBeat reads it', async () => {
  const sentinel = await startSentinel(`beat-${token}`);
  const app = new Celery({
    broker_url: 'memory://',
    beat_scheduler: 'redbeat.RedBeatScheduler',
    redbeat_redis_url: 'redis-sentinel://',
    redbeat_redis_options: { sentinels: [['127.0.0.1', sentinel.port]], service_name: sentinel.masterName, db: DB },
    redbeat_key_prefix: prefix,
    beat_schedule: { tick: { task: 'beat.tick', schedule: 0.5 } },
  });
  const setup = setUpBeat(app, { logger: silentLogger, maxInterval: 1 });
  const controller = new AbortController();
  const running = setup.beat.run(controller.signal);
  const redis = new Redis(url);
  try {
    const meta = await pollUntil('a run recorded through the sentinel', async () => {
      const raw = await redis.hget(`${prefix}tick`, 'meta');
      const parsed = raw ? (JSON.parse(raw) as { total_run_count: number }) : null;
      return parsed && parsed.total_run_count >= 1 ? parsed : undefined;
    }, { timeoutMs: 10_000 });
    assert.ok(meta.total_run_count >= 1);
    // Beat records the run before it sends (celery/beat.py Scheduler.tick: reserve, then
    // apply_entry), so the message follows the meta: wait for it rather than read it at once.
    await pollUntil('the message sent', async () => (await app.transport.queueSize('celery')) >= 1, { timeoutMs: 10_000 });
    assert.match(setup.description, /^redbeat redis-sentinel:\/\/ prefix /);
  } finally {
    controller.abort();
    await running;
    await setup.close();
    await app.close();
    redis.disconnect();
    await sentinel.stop();
  }
  assert.throws(
    () => setUpBeat(new Celery({ broker_url: 'memory://', beat_scheduler: 'redbeat', redbeat_redis_url: 'redis-sentinel://' }), { logger: silentLogger }),
    /redbeat_redis_options\.sentinels .*needs sentinels: \[\[host, port\], …\]/,
  );
});
