// Stand-ins for the remote-control tests: a ControlledWorker that does nothing unless told to,
// and a MemoryTransport that records every publish.
import type { ControlledWorker } from '../../src/control/controlled-worker.js';
import { RevokedSet } from '../../src/control/revoked-set.js';
import type { Message } from '../../src/protocol/message.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import type { PublishTarget } from '../../src/transport/transport.js';

/** An idle worker named `hostname`: nothing running, nothing registered; `overrides` win. */
export function idleControlledWorker(hostname: string, overrides: Partial<ControlledWorker> = {}): ControlledWorker {
  return {
    hostname,
    revoked: new RevokedSet(),
    activeRequests: () => [],
    reservedRequests: () => [],
    scheduledRequests: () => [],
    registeredTasks: () => [],
    stats: () => ({ total: {}, uptime: 0, pool: {}, broker: {}, prefetch_count: 0 }),
    activeQueues: () => [],
    conf: () => ({}),
    markRevoked: async () => {},
    terminate: () => [],
    setRateLimit: () => true,
    setTimeLimit: () => true,
    addConsumer: async () => {},
    cancelConsumer: () => {},
    poolGrow: () => {},
    poolShrink: () => {},
    shutdown: () => {},
    ...overrides,
  };
}

/** A MemoryTransport that records what is published. */
export function recordingTransport(): { transport: MemoryTransport; published: { message: Message; target: PublishTarget }[] } {
  const transport = new MemoryTransport();
  const published: { message: Message; target: PublishTarget }[] = [];
  const publish = transport.publish.bind(transport);
  transport.publish = async (message, target) => {
    published.push({ message, target });
    return publish(message, target);
  };
  return { transport, published };
}
