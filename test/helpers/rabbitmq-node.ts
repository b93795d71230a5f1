// A private RabbitMQ node for tests that need a broker of their own — one that is killed with
// SIGKILL, restarted, has every connection closed, listens with TLS, or forms a cluster with
// others — started from the installed rabbitmq-server on spare ports (AMQP and Erlang
// distribution), with its data, logs and config in a temp dir and no plugins (no management
// listener). The shared node on 5672 is never touched. All private nodes of one test process
// share one Erlang cookie, in a temp HOME that the CLI tools (rabbitmqctl -n <node>) read too,
// so they can cluster and be administered.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sparePort } from './redis-server.js';

/**
 * Where the RabbitMQ scripts live: RABBITMQ_SCRIPTS_DIR, else Debian's real scripts (its
 * /usr/sbin ones are wrappers that switch to the rabbitmq user and its cookie), else the PATH.
 */
const SCRIPTS = process.env.RABBITMQ_SCRIPTS_DIR ?? (existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? '/usr/lib/rabbitmq/bin' : '');
const bin = (name: string) => (SCRIPTS ? join(SCRIPTS, name) : name);

let home: string | undefined;
/** The temp HOME with this process's Erlang cookie (created once, removed at exit). */
function cookieHome(): string {
  if (home) return home;
  home = mkdtempSync(join(tmpdir(), 'ts-celery-rmq-home-'));
  const cookie = join(home, '.erlang.cookie');
  writeFileSync(cookie, randomBytes(16).toString('hex').toUpperCase());
  chmodSync(cookie, 0o400);
  const dir = home;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return home;
}

export interface TlsListener {
  /** PEM paths the node serves with. */
  cacertfile: string;
  certfile: string;
  keyfile: string;
  /** Ask clients for a certificate (`ssl_options.verify = verify_peer`), and require one. */
  verifyPeer?: boolean;
}

export interface RabbitNodeOptions {
  /** A TLS listener on a spare port as well (`node.tlsPort`). */
  tls?: TlsListener;
}

export interface RabbitNode {
  /** The Erlang node name, `<unique>@localhost`. */
  readonly name: string;
  readonly port: number;
  /** The TLS listener's port (0 without one). */
  readonly tlsPort: number;
  /** `amqp://guest:guest@127.0.0.1:<port>//` (guest may connect: this node is loopback-only). */
  readonly url: string;
  /** Milliseconds the last start took, until the AMQP listener accepted a connection. */
  readonly startMs: number;
  /** The beam's OS pid (while running). */
  readonly pid: number | undefined;
  /** `rabbitmqctl -n <node> …args`: its stdout (rejects with stderr on a non-zero exit). */
  ctl(...args: string[]): Promise<string>;
  /** `rabbitmq-queues -n <node> …args`. */
  queues(...args: string[]): Promise<string>;
  /** Start it again (same data dir: durable queues and persistent messages come back). */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM to rabbitmq-server, which stops the node); resolves once it exited. */
  stop(): Promise<void>;
  /** SIGKILL the node's whole process group: the beam dies without closing anything. */
  kill(): Promise<void>;
  /** Make this node a member of `other`'s cluster: stop_app, reset, join_cluster, start_app. */
  join(other: RabbitNode): Promise<void>;
  /** Kill it and remove its temp dir. */
  remove(): Promise<void>;
}

function run(file: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, HOME: cookieHome() }, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${String(stderr || stdout || error.message).trim()}`));
      else resolve(stdout);
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Start a private node and resolve once its AMQP listener accepts connections. */
export async function startRabbitNode(options: RabbitNodeOptions = {}): Promise<RabbitNode> {
  const dir = mkdtempSync(join(tmpdir(), 'ts-celery-rmq-'));
  const short = `tsc${randomBytes(4).toString('hex')}`;
  const name = `${short}@localhost`;
  const port = await sparePort();
  const distPort = await sparePort();
  const tlsPort = options.tls ? await sparePort() : 0;
  const config = ['loopback_users = none', `listeners.tcp.1 = 127.0.0.1:${port}`, 'log.console = false', 'log.file.level = warning'];
  if (options.tls) {
    const t = options.tls;
    config.push(
      `listeners.ssl.1 = 127.0.0.1:${tlsPort}`,
      `ssl_options.cacertfile = ${t.cacertfile}`,
      `ssl_options.certfile = ${t.certfile}`,
      `ssl_options.keyfile = ${t.keyfile}`,
      `ssl_options.verify = ${t.verifyPeer ? 'verify_peer' : 'verify_none'}`,
      `ssl_options.fail_if_no_peer_cert = ${t.verifyPeer ? 'true' : 'false'}`,
    );
  }
  writeFileSync(join(dir, 'rabbitmq.conf'), `${config.join('\n')}\n`);
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  const pidFile = join(dir, 'beam.pid');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: cookieHome(),
    // Not the system's rabbitmq-env.conf (it names the shared node).
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_NODENAME: name,
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: pidFile,
    ERL_EPMD_ADDRESS: '127.0.0.1',
    // Distribution on loopback only, as the AMQP listener.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  let child: ChildProcess | undefined;
  let startMs = 0;
  let removed = false;

  const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
  const whenExited = (c: ChildProcess) => (exited(c) ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())));
  const beamPid = () => {
    try {
      return Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  };

  const kill = async () => {
    const c = child;
    if (!c || exited(c)) return;
    const beam = beamPid();
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await whenExited(c);
    // The beam is in the group; wait until the kernel has it gone too (its port must be free).
    if (beam) for (let i = 0; i < 100 && alive(beam); i++) await new Promise((r) => setTimeout(r, 20));
  };

  const start = async () => {
    if (removed) throw new Error(`${name} was removed`);
    if (child && !exited(child)) return;
    rmSync(pidFile, { force: true });
    const began = Date.now();
    // Its own process group, so kill() takes the beam and its helpers down at once.
    const c = spawn(bin('rabbitmq-server'), [], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true, cwd: dir });
    child = c;
    let stderr = '';
    c.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const deadline = began + 60_000;
    for (;;) {
      if (exited(c)) throw new Error(`RabbitMQ node ${name} exited while starting (${c.exitCode ?? c.signalCode}): ${stderr.trim() || `see ${join(dir, 'log')}`}`);
      if (await portOpen(port)) break;
      if (Date.now() > deadline) {
        await kill();
        throw new Error(`RabbitMQ node ${name} did not open port ${port} within 60 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    startMs = Date.now() - began;
  };

  const node: RabbitNode = {
    name,
    port,
    tlsPort,
    url: `amqp://guest:guest@127.0.0.1:${port}//`,
    get startMs() {
      return startMs;
    },
    get pid() {
      return child && !exited(child) ? beamPid() : undefined;
    },
    ctl: (...args) => run(bin('rabbitmqctl'), ['-n', name, ...args]),
    queues: (...args) => run(bin('rabbitmq-queues'), ['-n', name, ...args]),
    start,
    async stop() {
      const c = child;
      if (!c || exited(c)) return;
      c.kill('SIGTERM');
      const timer = setTimeout(() => void kill(), 30_000);
      await whenExited(c);
      clearTimeout(timer);
    },
    kill,
    async join(other) {
      await node.ctl('stop_app');
      await node.ctl('reset');
      await node.ctl('join_cluster', other.name);
      await node.ctl('start_app');
    },
    async remove() {
      removed = true;
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  process.once('exit', () => {
    if (child && !exited(child)) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  mkdirSync(join(dir, 'log'), { recursive: true });
  await start();
  return node;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `count` private nodes started together, the others joined to the first one's cluster. */
export async function startRabbitCluster(count: number): Promise<RabbitNode[]> {
  const nodes = await Promise.all(Array.from({ length: count }, () => startRabbitNode()));
  try {
    for (const n of nodes.slice(1)) await n.join(nodes[0]!);
  } catch (error) {
    await Promise.all(nodes.map((n) => n.remove()));
    throw error;
  }
  return nodes;
}
