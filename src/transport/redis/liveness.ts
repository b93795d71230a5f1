// Dead-path detection for one ioredis connection: a path that silently drops packets (failover,
// dead NAT, firewall state lost) never closes the socket, so without this a command — or a
// blocking BRPOP — waits until the kernel gives up (~15 min). redis-py's `socket_timeout` (a
// read that waits longer fails and the connection is dropped) and kombu's `health_check_interval`
// (an idle connection is PINGed; kombu/transport/redis.py `Transport.maybe_check_brpop_health`,
// `maybe_check_subclient_health`) done once for every connection:
// - a reply overdue by `replyTimeoutMs` (plus a blocking command's own timeout) drops the socket;
// - a connection idle for `healthCheckMs` is PINGed, so an idle path is checked too;
// - a connection stuck between TCP connect and ready (a handshake or AUTH with no answer) for
//   `connectTimeoutMs` is dropped.
// Dropping = destroying the socket: ioredis then reconnects by itself and re-sends the unanswered
// commands on the new connection (autoResendUnfulfilledCommands), so callers see a delay, not a loss.
// ioredis does that only for a connection that had been ready; the commands written during a
// handshake that never finished are handed over here (`requeueHandshakeStragglers`).
import type { Redis } from 'ioredis';

export interface LivenessOptions {
  /** Longest wait for a reply (ms); a blocking command gets its own timeout on top. null = no limit. */
  replyTimeoutMs: number | null;
  /** PING a connection idle this long (ms); 0 = never. */
  healthCheckMs: number;
  /** Longest time from TCP connect to ready (ms). */
  connectTimeoutMs: number;
  /** Told once per dropped connection (for a log line / health signal). */
  onStale?: (reason: string) => void;
}

/** Commands whose last argument is a server-side timeout in seconds (0 = forever). */
const BLOCKING = new Set(['brpop', 'blpop', 'brpoplpush', 'blmove', 'bzpopmin', 'bzpopmax']);

/** How long a command may wait for its reply beyond `replyTimeoutMs`: a blocking command's own timeout. */
function allowanceMs(command: { name: string; args: unknown[] } | undefined): number {
  if (command === undefined || !BLOCKING.has(command.name)) return 0;
  const seconds = Number(command.args[command.args.length - 1]);
  return seconds > 0 ? seconds * 1000 : seconds === 0 ? Infinity : 0;
}

/**
 * Watch `redis` until it ends; returns a function that stops watching.
 *
 * Nothing runs per command: the periodic check reads ioredis's own queue of commands awaiting a
 * reply (`commandQueue`, replies come in its order, so its head is the one overdue), and
 * progress is any data arriving on the socket. (Wrapping `sendCommand` to time each command cost
 * ~4 µs of CPU per command, a tenth of a task's whole cost at full drain.)
 * @example watchLiveness(new Redis(), { replyTimeoutMs: 25_000, healthCheckMs: 25_000, connectTimeoutMs: 10_000 })
 */
export function watchLiveness(redis: Redis, options: LivenessOptions): () => void {
  const { replyTimeoutMs, healthCheckMs, connectTimeoutMs } = options;
  /** Last time a reply arrived, or a wait for one began. */
  let lastProgress = Date.now();
  let connectedAt = 0;
  let pinging = false;
  let waiting = false;

  const onData = () => {
    lastProgress = Date.now();
  };
  // Each reconnect brings a new socket: listen on the one in use.
  let listened: Redis['stream'] | undefined;
  const listen = () => {
    if (redis.stream === listened) return;
    listened?.off('data', onData);
    listened = redis.stream;
    listened?.on('data', onData);
  };
  listen();
  const onConnect = () => {
    connectedAt = Date.now();
    listen();
  };
  const onReady = () => {
    lastProgress = Date.now();
  };
  const onClose = () => requeueHandshakeStragglers(redis);
  redis.on('connect', onConnect);
  redis.on('ready', onReady);
  redis.on('close', onClose);

  const drop = (reason: string) => {
    options.onStale?.(reason);
    // end() would wait for a FIN that never arrives on a dead path: destroy now, ioredis reconnects.
    redis.stream?.destroy();
  };

  const check = () => {
    const now = Date.now();
    if (redis.status === 'connect') {
      if (connectedAt && now - connectedAt > connectTimeoutMs) {
        connectedAt = 0;
        drop(`no answer to the connection handshake within ${connectTimeoutMs} ms`);
      }
      return;
    }
    if (redis.status !== 'ready') return;
    const head = redis.commandQueue.peekFront();
    if (head !== undefined) {
      // A wait that began since the last check began (at the latest) now.
      if (!waiting) lastProgress = now;
      waiting = true;
      if (replyTimeoutMs === null) return;
      const allowance = allowanceMs(head.command);
      if (now - lastProgress > replyTimeoutMs + allowance) {
        lastProgress = now;
        drop(`no reply from Redis within ${Math.round((replyTimeoutMs + allowance) / 1000)} s`);
      }
      return;
    }
    waiting = false;
    if (healthCheckMs > 0 && !pinging && now - lastProgress >= healthCheckMs) {
      pinging = true;
      redis.ping().then(
        () => (pinging = false),
        () => (pinging = false),
      );
    }
  };
  const periods = [replyTimeoutMs, healthCheckMs || null, connectTimeoutMs].filter((p): p is number => p !== null && p > 0);
  const timer = setInterval(check, Math.max(50, Math.min(1000, ...periods.map((p) => p / 4))));
  timer.unref();

  const stop = () => {
    clearInterval(timer);
    listened?.off('data', onData);
    redis.off('connect', onConnect);
    redis.off('ready', onReady);
    redis.off('close', onClose);
  };
  redis.once('end', stop);
  return stop;
}

/** The parts of ioredis' connection state that its typings keep private. */
interface IoredisQueues {
  commandQueue: Redis['commandQueue'];
  prevCommandQueue?: Redis['commandQueue'] | null;
  offlineQueue: { push(item: unknown): void };
}

/** Sent by ioredis itself to set a new connection up; the next connection sends its own. */
const HANDSHAKE = new Set(['auth', 'hello', 'select', 'info', 'readonly']);

/**
 * ioredis writes some commands on a connection that is still handshaking: those Redis allows
 * while loading (PUBLISH, SUBSCRIBE…) and CLIENT. When that connection closes before it is ready
 * (a dead path dropped during the handshake, a server going away), ioredis keeps the unanswered
 * commands for re-sending only if it had been ready (redis/event_handler.js `closeHandler`), and
 * the next connection starts from an empty queue (`connectHandler` → `resetCommandQueue`): such a
 * command would never settle, and whoever awaits it (an event publish at shutdown, a consumer's
 * CLIENT ID) would wait forever. Runs on the `close` event, before any reconnect: they go to the
 * offline queue, which ioredis sends once the next connection is ready (or rejects if it ends).
 */
function requeueHandshakeStragglers(redis: Redis): void {
  const state = redis as unknown as IoredisQueues;
  const queue = state.commandQueue;
  // Closed while ready: ioredis kept this very queue and re-sends it itself.
  if (queue.length === 0 || queue === state.prevCommandQueue) return;
  for (const item of queue.toArray()) {
    if (!HANDSHAKE.has(item.command.name)) state.offlineQueue.push(item);
  }
}
