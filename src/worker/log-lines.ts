// Every worker log line, in Celery's own wording (celery/app/trace.py, celery/worker/strategy.py,
// celery/worker/consumer/consumer.py), so Python and TypeScript workers' logs read alike.
// What a rejected message supplies (its task name, a decoder's complaint) goes through oneLine:
// one bounded line per bad message, whatever the message holds.
import { oneLine } from '../protocol/untrusted-text.js';

/** Room for a reason that names a field and quotes a bounded piece of it. */
const REASON_MAX = 500;

/** `name[id]`; the id comes from the message, so it is quoted safely (a registered name is ours). */
const task = (name: string, id: string) => `${name}[${oneLine(id, 100)}]`;

export const logLines = {
  received: (name: string, id: string) => `Task ${task(name, id)} received`,
  succeeded: (name: string, id: string, seconds: number, returnRepr: string) =>
    `Task ${task(name, id)} succeeded in ${formatRuntime(seconds)}s: ${returnRepr}`,
  failed: (name: string, id: string, excRepr: string) => `Task ${task(name, id)} raised unexpected: ${excRepr}`,
  retry: (name: string, id: string, reason: string) => `Task ${task(name, id)} retry: ${reason}`,
  rejected: (name: string, id: string, reason: string) => `Task ${task(name, id)} rejected: ${reason}`,
  ignored: (name: string, id: string) => `Task ${task(name, id)} ignored`,
  // celery/app/trace.py LOG_IGNORED with worker_deduplicate_successful_tasks' description.
  alreadySucceeded: (name: string, id: string) => `Task ${task(name, id)} Task already completed successfully.`,
  replaced: (name: string, id: string, by: string) => `Task ${task(name, id)} replaced by ${by}`,
  revoked: (name: string, id: string) => `Discarding revoked task: ${task(name, id)}`,
  expired: (name: string, id: string) => `Task ${task(name, id)} expired; discarding`,
  unregistered: (name: string) =>
    `Received unregistered task of type '${oneLine(name)}'. The message has been ignored and discarded. (Is the module that registers it loaded with -A?)`,
  invalid: (reason: string) => `Received invalid task message: ${oneLine(reason, REASON_MAX)}. The message has been ignored and discarded.`,
  tooLarge: (id: string | null, queue: string, size: number, limit: number, detail?: string) =>
    `Rejected message${id ? ` ${oneLine(id)}` : ''} from queue '${queue}': ${detail ? oneLine(detail, REASON_MAX) : `${size} bytes on the wire`} (worker_max_message_size = ${limit}); not requeued.`,
  dropped: (reason: string) => `Discarded an undecodable broker message: ${oneLine(reason, REASON_MAX)}`,
  resultStoreFailed: (name: string, id: string, reason: string) => `Task ${task(name, id)} could not store its result: ${reason}`,
  etaBeyondVisibility: (name: string, id: string, etaIso: string, visibilitySeconds: number) =>
    `Task ${task(name, id)} has an ETA (${etaIso}) beyond the broker's visibility_timeout (${visibilitySeconds}s): it will be redelivered to another worker before it runs. Raise broker_transport_options.visibility_timeout.`,
  connected: (url: string) => `Connected to ${url}`,
  connectionLost: (reason: string) => `consumer: Cannot connect to the broker: ${reason}. Trying again with back-off...`,
  // kombu/transport/native_delayed_delivery.py and celery/worker/consumer/delayed_delivery.py.
  delayedDeliveryDirect: (queue: string) =>
    `Exchange of queue ${queue} is a direct exchange and native delayed delivery do not support direct exchanges. ETA tasks published to this exchange will block the worker until the ETA arrives.`,
  delayedDeliveryFailed: (reason: string) => `Failed to setup delayed delivery: ${reason}. Native delayed delivery will not be available.`,
  reconnected: () => 'consumer: Connection to broker re-established',
  redeliveredCopy: (name: string, id: string, settlement: string | null) =>
    `Task ${task(name, id)} redelivered after a lost connection already ran here: ${settlement === 'ack' ? 'acknowledged without running it again' : settlement === 'reject' ? 'rejected as the earlier run rejected it' : 'running it again (the earlier run gave it back)'}`,
  staleDropped: (count: number) => `consumer: ${count} message(s) fetched before the connection was lost will be redelivered by the broker`,
  ready: (node: string) => `${node} ready.`,
  metricsServing: (port: number) => `metrics: serving /metrics, /healthz and /readyz on port ${port}`,
  unimplementedSettings: (names: readonly string[]) => `Ignoring Celery settings ts-celery does not implement: ${names.join(', ')}`,
  warmShutdown: () => 'worker: Warm shutdown (MainProcess)',
  coldShutdown: () => 'worker: Cold shutdown (MainProcess)',
  // celery/worker/consumer/consumer.py TERMINATING_TASK_ON_RESTART_AFTER_A_CONNECTION_LOSS.
  cancelledOnConnectionLoss: (name: string, id: string) =>
    `Task ${task(name, id)} cannot be acknowledged after a connection loss since late acknowledgement is enabled for it. Terminating it instead.`,
  // celery/worker/worker.py `wait_for_soft_shutdown`.
  softShutdown: (seconds: number) => `Initiating Soft Shutdown, terminating in ${seconds} seconds`,
  restored: (count: number) => `Restored ${count} unacknowledged message${count === 1 ? '' : 's'} to the broker`,
};

/** Celery prints runtimes with Python's `%s` of a float: up to 17 significant digits; we keep 6 decimals. */
function formatRuntime(seconds: number): string {
  return String(Math.round(seconds * 1e6) / 1e6);
}
