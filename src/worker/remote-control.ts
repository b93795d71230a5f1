// The worker's presence in the fleet: its pidbox (inspect/control), its event dispatcher with
// worker-online/heartbeat/offline, and the task events it sends with -E (celery/worker/pidbox.py
// `Pidbox`, celery/worker/heartbeat.py `Heart`, celery/events/dispatcher.py `EventDispatcher`).
import type { LamportClock } from '../control/clock.js';
import { ControlClient } from '../control/control-client.js';
import { EventDispatcher } from '../control/events/event-dispatcher.js';
import { softwareInfo } from '../control/events/event.js';
import { WorkerHeartbeat } from '../control/events/worker-heartbeat.js';
import { Mailbox } from '../control/mailbox.js';
import { redactDeep } from '../censor.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { controlledWorker, type WorkerUnderControl } from './control-adapter.js';

export interface RemoteControlOptions {
  /** Send task events from the start (`-E`, `worker_send_task_events`); `enable_events` can later. */
  taskEvents: boolean;
  /** Send worker heartbeats (off with `--without-heartbeat`). */
  heartbeat: boolean;
  /** Sync revoked ids with the other workers at start-up (off with `--without-mingle`). */
  mingle: boolean;
  /** The worker's clock (kept across restarts with the state db). */
  clock: LamportClock;
  logger: Logger;
  now: () => number;
}

export class WorkerRemoteControl {
  readonly events: EventDispatcher;
  private readonly mailbox: Mailbox;
  private readonly heart: WorkerHeartbeat | null;
  private readonly clock: LamportClock;

  constructor(
    private readonly worker: WorkerUnderControl,
    private readonly options: RemoteControlOptions,
  ) {
    const { app } = worker;
    const transport = app.transport;
    const clock = (this.clock = options.clock);
    const software = softwareInfo(VERSION);
    this.events = new EventDispatcher({
      transport,
      hostname: worker.hostname,
      exchange: app.conf.event_exchange,
      clock,
      // Without -E a worker sends only worker-* events; enable_events adds the task group.
      groups: options.taskEvents ? ['worker', 'task'] : ['worker'],
      bufferGroups: ['task'],
      now: options.now,
      logger: options.logger,
    });
    this.heart = options.heartbeat
      ? new WorkerHeartbeat({
          dispatcher: this.events,
          software,
          counters: () => ({
            active: worker.activeRequests().length,
            processed: Object.values(worker.stats.processed).reduce((a, b) => a + b, 0),
          }),
        })
      : null;
    this.mailbox = new Mailbox({
      transport,
      worker: controlledWorker(worker, options.now(), options.now),
      namespace: app.conf.control_exchange,
      clock,
      events: this.events,
      software,
      accept: app.conf.accept_content,
      logger: options.logger,
      redact: worker.redact ?? undefined,
    });
  }

  async start(): Promise<void> {
    if (this.options.mingle) await this.mingle();
    await this.mailbox.start();
    this.heart?.start();
  }

  /**
   * celery/worker/consumer/mingle.py: broadcast `hello` with our revoked ids, wait 1 s for the other
   * workers' replies, and adopt the ids they have revoked (and their clocks).
   */
  private async mingle(): Promise<void> {
    const { worker, logger } = { worker: this.worker, logger: this.options.logger };
    logger.info('mingle: searching for neighbors');
    const client = new ControlClient(worker.app.transport, { namespace: worker.app.conf.control_exchange, clock: this.clock });
    try {
      const replies = await client.broadcast('hello', { from_node: worker.hostname, revoked: worker.revoked.toList() }, { reply: true, timeout: 1 });
      let nodes = 0;
      for (const reply of replies) {
        for (const [node, data] of Object.entries(reply)) {
          if (node === worker.hostname || !data || typeof data !== 'object') continue;
          nodes++;
          const { revoked, clock } = data as { revoked?: unknown; clock?: unknown };
          const ids = Array.isArray(revoked) ? revoked : revoked && typeof revoked === 'object' ? Object.keys(revoked) : [];
          worker.revoked.update(ids.filter((id): id is string => typeof id === 'string'));
          this.clock.adjust(clock);
        }
      }
      logger.info(nodes ? `mingle: sync with ${nodes} nodes` : 'mingle: all alone');
    } catch (error) {
      logger.warn(`mingle: could not sync with other workers: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await client.close();
    }
  }

  /** Whether task events are sent now (-E / enable_events): else the fields need not be built. */
  get taskEvents(): boolean {
    return this.events.wants('task');
  }

  /** Task events go through here; the dispatcher drops them unless the task group is enabled. */
  emit(type: string, fields: Record<string, unknown>): void {
    const redact = this.worker.redact;
    this.events.send(type, redact ? (redactDeep(fields, redact) as Record<string, unknown>) : fields);
  }

  async stop(): Promise<void> {
    this.heart?.stop();
    await this.mailbox.close();
    await this.events.close();
  }
}
