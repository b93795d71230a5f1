// amqps:// on a private RabbitMQ node with a TLS listener that requires a client certificate; a
// CA, the server's and a client's certificates come from tls-certs.ts (openssl, temp dir). Celery's
// broker_use_ssl dict, as kombu's pyamqp transport takes it (ca_certs, certfile, keyfile,
// cert_reqs): verification is on by default, and a wrong CA fails in one clear line.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { AmqpTransport } from '../../src/transport/amqp/amqp-transport.js';
import { Worker } from '../../src/worker/worker.js';
import { type RabbitNode, startRabbitNode } from '../helpers/rabbitmq-node.js';
import { uniqueToken } from '../helpers/redis.js';
import { makeTestCertificates } from '../helpers/tls-certs.js';

const certs = makeTestCertificates();
const token = uniqueToken();
let node: RabbitNode;
let url: string;

before(async () => {
  node = await startRabbitNode({ tls: { cacertfile: certs.caCert, certfile: certs.serverCert, keyfile: certs.serverKey, verifyPeer: true } });
  url = `amqps://guest:guest@127.0.0.1:${node.tlsPort}//`;
});

after(async () => {
  await node?.remove();
  certs.remove();
});

const clientCert = () => ({ certfile: certs.clientCert, keyfile: certs.clientKey });

test('amqps:// with broker_use_ssl (ca_certs, certfile, keyfile, cert_reqs): a worker runs tasks over TLS', async () => {
  const app = new Celery({
    broker_url: url,
    broker_use_ssl: { ca_certs: certs.caCert, ...clientCert(), cert_reqs: 'CERT_REQUIRED' },
    result_backend: 'memory://',
    task_default_queue: `${token}.tls`,
  });
  const add = app.task('tls.add', (a: number, b: number) => a + b);
  const worker = new Worker(app, { mingle: false, heartbeat: false, remoteControl: false, nodeName: `${token}@localhost`, logger: createLogger({ level: 'error', write: () => undefined }) });
  await worker.start();
  try {
    assert.equal(await (await add.delay(20, 22)).get({ timeout: 10 }), 42);
  } finally {
    await worker.stop();
    await app.close();
  }
});

test('a server certificate from another CA: one line saying what to check', async () => {
  const transport = new AmqpTransport(url, {}, { useSsl: { ca_certs: certs.otherCaCert, ...clientCert() } });
  try {
    await assert.rejects(transport.connect(5000), (error: Error) => {
      assert.match(error.message, /^Cannot connect to amqps:\/\/guest:\*\*@127\.0\.0\.1:\d+\/\/: TLS: the broker's certificate was not accepted \(\w+: .*\); check broker_use_ssl\['ca_certs'\]$/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  } finally {
    await transport.close();
  }
});

test('verification is on by default: amqps:// without ca_certs does not trust a private CA', async () => {
  const transport = new AmqpTransport(url, {}, { useSsl: clientCert() });
  try {
    await assert.rejects(transport.connect(5000), /TLS: the broker's certificate was not accepted/);
  } finally {
    await transport.close();
  }
});

test("cert_reqs CERT_NONE skips verification; server_hostname checks the certificate's name", async () => {
  const unverified = new AmqpTransport(url, {}, { useSsl: { ...clientCert(), cert_reqs: 'CERT_NONE' } });
  await unverified.connect(5000);
  await unverified.close();
  const wrongName = new AmqpTransport(url, {}, { useSsl: { ca_certs: certs.caCert, ...clientCert(), server_hostname: 'rabbit.example' } });
  await assert.rejects(wrongName.connect(5000), /check broker_use_ssl\['server_hostname'\]/);
  await wrongName.close();
  const rightName = new AmqpTransport(url, {}, { useSsl: { ca_certs: certs.caCert, ...clientCert(), server_hostname: 'localhost' } });
  await rightName.connect(5000);
  await rightName.close();
});

test('broker_use_ssl: an unknown key or an unreadable file is a config error naming it', () => {
  assert.throws(() => new AmqpTransport(url, {}, { useSsl: { ssl_ca_certs: 'x' } }), /broker_use_ssl: unknown key 'ssl_ca_certs' for RabbitMQ \(known: ca_certs,/);
  assert.throws(() => new AmqpTransport(url, {}, { useSsl: { ca_certs: `${certs.dir}/missing.pem` } }), /broker_use_ssl\['ca_certs'\]: cannot read '.*missing\.pem' \(ENOENT\)/);
});
