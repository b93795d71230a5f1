// amqps:// on a private RabbitMQ node with a TLS listener that requires a client certificate; a
// CA, the server's and a client's certificates are made by openssl in a temp dir. Celery's
// broker_use_ssl dict, as kombu's pyamqp transport takes it (ca_certs, certfile, keyfile,
// cert_reqs): verification is on by default, and a wrong CA fails in one clear line.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Celery } from '../../src/app.js';
import { createLogger } from '../../src/log.js';
import { AmqpTransport } from '../../src/transport/amqp/amqp-transport.js';
import { Worker } from '../../src/worker/worker.js';
import { type RabbitNode, startRabbitNode } from '../helpers/rabbitmq-node.js';
import { uniqueToken } from '../helpers/redis.js';

const dir = mkdtempSync(join(tmpdir(), 'ts-celery-amqp-tls-'));
const file = (name: string) => join(dir, name);
const token = uniqueToken();
let node: RabbitNode;
let url: string;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA (`<ca>.pem`) and, signed by it, a certificate for `cn` (`<name>.pem` + `<name>.key`). */
function ca(name: string): void {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`));
}
function signed(name: string, by: string, cn: string): void {
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
  openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${by}.pem`), '-CAkey', file(`${by}.key`), '-CAcreateserial', '-days', '1', '-out', file(`${name}.pem`));
}

before(async () => {
  ca('ca');
  ca('other-ca');
  signed('server', 'ca', 'localhost');
  signed('client', 'ca', 'ts-celery-client');
  node = await startRabbitNode({ tls: { cacertfile: file('ca.pem'), certfile: file('server.pem'), keyfile: file('server.key'), verifyPeer: true } });
  url = `amqps://guest:guest@127.0.0.1:${node.tlsPort}//`;
});

after(async () => {
  await node?.remove();
  rmSync(dir, { recursive: true, force: true });
});

const clientCert = () => ({ certfile: file('client.pem'), keyfile: file('client.key') });

test('amqps:// with broker_use_ssl (ca_certs, certfile, keyfile, cert_reqs): a worker runs tasks over TLS', async () => {
  const app = new Celery({
    broker_url: url,
    broker_use_ssl: { ca_certs: file('ca.pem'), ...clientCert(), cert_reqs: 'CERT_REQUIRED' },
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
  const transport = new AmqpTransport(url, {}, 'round-robin', { ca_certs: file('other-ca.pem'), ...clientCert() });
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
  const transport = new AmqpTransport(url, {}, 'round-robin', clientCert());
  try {
    await assert.rejects(transport.connect(5000), /TLS: the broker's certificate was not accepted/);
  } finally {
    await transport.close();
  }
});

test("cert_reqs CERT_NONE skips verification; server_hostname checks the certificate's name", async () => {
  const unverified = new AmqpTransport(url, {}, 'round-robin', { ...clientCert(), cert_reqs: 'CERT_NONE' });
  await unverified.connect(5000);
  await unverified.close();
  const wrongName = new AmqpTransport(url, {}, 'round-robin', { ca_certs: file('ca.pem'), ...clientCert(), server_hostname: 'rabbit.example' });
  await assert.rejects(wrongName.connect(5000), /check broker_use_ssl\['server_hostname'\]/);
  await wrongName.close();
  const rightName = new AmqpTransport(url, {}, 'round-robin', { ca_certs: file('ca.pem'), ...clientCert(), server_hostname: 'localhost' });
  await rightName.connect(5000);
  await rightName.close();
});

test('broker_use_ssl: an unknown key or an unreadable file is a config error naming it', () => {
  assert.throws(() => new AmqpTransport(url, {}, 'round-robin', { ssl_ca_certs: 'x' }), /broker_use_ssl: unknown key 'ssl_ca_certs' for RabbitMQ \(known: ca_certs,/);
  assert.throws(() => new AmqpTransport(url, {}, 'round-robin', { ca_certs: file('missing.pem') }), /broker_use_ssl\['ca_certs'\]: cannot read '.*missing\.pem' \(ENOENT\)/);
});
