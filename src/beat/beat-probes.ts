// `/metrics`, `/healthz` and `/readyz` for `ts-celery beat` (`--metrics-port`, `beat_metrics_port`):
// ready while leading or standing by with its connections up. prom-client is loaded only here.
import type { Logger } from '../log.js';
import { ProbeServer } from '../observe/probe-server.js';
import type { BeatSetup } from './beat-setup.js';

export async function serveBeatProbes(setup: BeatSetup, options: { port: number; host?: string; logger: Logger }): Promise<ProbeServer> {
  const { Gauge, Registry, collectDefaultMetrics } = await import('prom-client');
  const registry = new Registry();
  const { beat } = setup;
  new Gauge({
    name: 'celery_beat_leader',
    help: 'Whether this beat holds the leader lock and sends the schedule (1) or stands by (0).',
    registers: [registry],
    collect() {
      this.set(beat.running && beat.isLeader ? 1 : 0);
    },
  });
  new Gauge({
    name: 'celery_beat_up',
    help: 'Whether this beat is running with its connections up (what /readyz says).',
    registers: [registry],
    collect() {
      this.set(setup.readiness().ok ? 1 : 0);
    },
  });
  collectDefaultMetrics({ register: registry });
  const server = await ProbeServer.listen({
    port: options.port,
    host: options.host,
    ready: () => setup.readiness(),
    metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  });
  options.logger.info(`beat: serving /metrics, /healthz and /readyz on port ${server.port}`);
  return server;
}
