// The worker's presence in the fleet: its pidbox (inspect/control), its event dispatcher with
// worker-online/heartbeat/offline, and the task events it sends with -E (celery-wire.md §11, §12).
import { LamportClock } from '../control/clock.js';
import { EventDispatcher } from '../control/events/event-dispatcher.js';
import { softwareInfo } from '../control/events/event.js';
import { WorkerHeartbeat } from '../control/events/worker-heartbeat.js';
import { Mailbox } from '../control/mailbox.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { controlledWorker } from './control-adapter.js';
import type { Worker } from './worker.js';

export interface RemoteControlOptions {
  /** Send task events from the start (`-E`, `worker_send_task_events`); `enable_events` can later. */
  taskEvents: boolean;
  /** Send worker heartbeats (off with `--without-heartbeat`). */
  heartbeat: boolean;
  logger: Logger;
  now: () => number;
}

export class WorkerRemoteControl {
  readonly events: EventDispatcher;
  private readonly mailbox: Mailbox;
  private readonly heart: WorkerHeartbeat | null;

  constructor(worker: Worker, options: RemoteControlOptions) {
    const { app } = worker;
    const transport = app.transport;
    const clock = new LamportClock();
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
    });
  }

  async start(): Promise<void> {
    await this.mailbox.start();
    this.heart?.start();
  }

  /** Task events go through here; the dispatcher drops them unless the task group is enabled. */
  emit(type: string, fields: Record<string, unknown>): void {
    this.events.send(type, fields);
  }

  async stop(): Promise<void> {
    this.heart?.stop();
    await this.mailbox.close();
    await this.events.close();
  }
}
