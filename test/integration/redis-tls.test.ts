// Redis over TLS (issue #16, scenario 7): rediss:// broker and result backend against a private
// redis-server that serves TLS only, with certificates from a CA made for this run. Verification
// is on by default; Celery's settings (broker_use_ssl, redis_backend_use_ssl, the URL's ssl_*
// query) name the CA and client certificate; a wrong CA fails at once with one clear line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { Worker } from '../../src/worker/worker.js';
import { claimRedis } from '../helpers/redis.js';
import { type RedisServer, startRedisServer } from '../helpers/redis-server.js';
import { makeTestCertificates, type TestCertificates } from '../helpers/tls-certs.js';

// Everything runs on private redis-servers; the claim keeps the file in the isolation checks.
const { token } = claimRedis('redis-tls');
const PASSWORD = `pw-${token}`;
let certs: TestCertificates;
let server: RedisServer; // TLS, any client
let mutual: RedisServer; // TLS, client certificate required
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  certs = makeTestCertificates();
  const tls = { certFile: certs.serverCert, keyFile: certs.serverKey, caFile: certs.caCert };
  const probe = { ca: readFileSync(certs.caCert), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) };
  const auth = ['--requirepass', PASSWORD];
  server = await startRedisServer(undefined, { tls: { ...tls, probe }, args: auth, probeAuth: { password: PASSWORD } });
  mutual = await startRedisServer(undefined, { tls: { ...tls, authClients: true, probe }, args: auth, probeAuth: { password: PASSWORD } });
});

after(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await Promise.all([server?.kill(), mutual?.kill()]);
  certs?.remove();
});


const urlOf = (s: RedisServer, query = '') => `rediss://:${PASSWORD}@127.0.0.1:${s.port}/0${query}`;

async function roundTrip(conf: Record<string, unknown>): Promise<void> {
  const queue = `tls-${token}-${closers.length}`;
  const app = new Celery({ ...conf, task_default_queue: queue, task_acks_late: true });
  closers.push(() => app.close());
  app.task('tls.add', (a: number, b: number) => a + b);
  const worker = new Worker(app, { mingle: false, concurrency: 1, logger: createLogger({ level: 'critical' }) });
  closers.push(() => worker.stop());
  await worker.start();
  const producer = new Celery({ ...conf, task_default_queue: queue });
  closers.push(() => producer.close());
  const result = await producer.sendTask('tls.add', [20, 22]);
  assert.equal(await result.get({ timeout: 10 }), 42);
  await worker.stop();
}

test('broker_use_ssl / redis_backend_use_ssl with CERT_REQUIRED and the test CA: a task runs over TLS', async () => {
  const ssl = { ssl_cert_reqs: 'CERT_REQUIRED', ssl_ca_certs: certs.caCert };
  await roundTrip({ broker_url: urlOf(server), result_backend: urlOf(server), broker_use_ssl: ssl, redis_backend_use_ssl: ssl });
});

test("the URL's own ?ssl_cert_reqs=required&ssl_ca_certs=… form, on both connections", async () => {
  const url = urlOf(server, `?ssl_cert_reqs=required&ssl_ca_certs=${encodeURIComponent(certs.caCert)}`);
  await roundTrip({ broker_url: url, result_backend: url });
});

test('a server that demands a client certificate: ssl_certfile / ssl_keyfile', async () => {
  const ssl = { ssl_cert_reqs: 'required', ssl_ca_certs: certs.caCert, ssl_certfile: certs.clientCert, ssl_keyfile: certs.clientKey };
  await roundTrip({ broker_url: urlOf(mutual), result_backend: urlOf(mutual), broker_use_ssl: ssl, redis_backend_use_ssl: ssl });
  // Without it the server refuses the handshake.
  const app = new Celery({ broker_url: urlOf(mutual), broker_use_ssl: { ssl_ca_certs: certs.caCert } });
  closers.push(() => app.close());
  await assert.rejects(app.transport.connect(3000), /^TransportError: Cannot connect to rediss:\/\/:\*\*@127\.0\.0\.1:\d+\/0: /);
});

test('verification is on by default: a wrong CA, or none (system CAs), fails with one line and no secret', async () => {
  const cases: [string, Record<string, unknown>][] = [
    ['wrong CA', { broker_url: urlOf(server), result_backend: urlOf(server), broker_use_ssl: { ssl_ca_certs: certs.otherCaCert }, redis_backend_use_ssl: { ssl_ca_certs: certs.otherCaCert } }],
    ['no CA', { broker_url: urlOf(server), result_backend: urlOf(server) }],
  ];
  for (const [what, conf] of cases) {
    const app = new Celery(conf);
    closers.push(() => app.close());
    for (const [side, connect] of [
      ['broker', () => app.transport.connect(3000)],
      ['backend', () => app.backend!.connect!(3000)],
    ] as const) {
      const error = await connect().then(
        () => assert.fail(`${what}: the ${side} connected`),
        (e: Error) => e,
      );
      assert.match(error.message, /^Cannot connect to rediss:\/\/:\*\*@127\.0\.0\.1:\d+\/0: .* \(TLS: the server certificate is not signed by a CA in ssl_ca_certs\)$/, `${what}, ${side}`);
      assert.ok(!error.message.includes('\n') && !error.message.includes(PASSWORD), `${what}, ${side}: ${error.message}`);
      if (what === 'wrong CA' && side === 'broker') console.log(`# ${error.message}`);
    }
  }
});

test('ssl_cert_reqs none turns verification off (CERT_NONE, as Celery warns: no server identity)', async () => {
  await roundTrip({ broker_url: urlOf(server, '?ssl_cert_reqs=CERT_NONE'), result_backend: urlOf(server), redis_backend_use_ssl: { ssl_cert_reqs: 'none' } });
});
