// A worker's pidbox node: listens on the `<control_exchange>.pidbox` fanout exchange, runs the
// requests addressed to it and publishes replies exactly as a Python worker does (kombu/pidbox.py
// `Node.handle_message`, `dispatch`, `reply`; celery/worker/pidbox.py `Pidbox`).
import { redactDeep, type Redactor } from '../censor.js';
import { type Logger, silentLogger } from '../log.js';
import { decodeBody } from '../protocol/codec.js';
import type { Message } from '../protocol/message.js';
import type { FanoutSubscription, QueueSpec, Transport } from '../transport/transport.js';
import { LamportClock } from './clock.js';
import { type CommandContext, CommandRegistry, errorRepr, type EventControl, NO_REPLY } from './command-registry.js';
import { controlCommands } from './commands/control-commands.js';
import { inspectCommands } from './commands/inspect-commands.js';
import type { ControlledWorker } from './controlled-worker.js';
import { nodeQueue, PIDBOX_EXCHANGE, PIDBOX_QUEUE, pidboxExchange, REPLY_EXCHANGE } from './names.js';
import { isAddressedTo, NodeMatcher } from './node-filter.js';
import { softwareInfo } from './events/event.js';
import { parseRequest, replyMessage } from './pidbox-messages.js';

/** Every command Celery's worker answers that ts-celery implements. */
export function builtinCommands(): CommandRegistry {
  return new CommandRegistry([...inspectCommands, ...controlCommands]);
}

export interface MailboxOptions {
  transport: Transport;
  worker: ControlledWorker;
  /** `control_exchange` (default `celery`). */
  namespace?: string;
  /** The node's clock, shared with its event dispatcher (Celery's `app.clock`). */
  clock?: LamportClock;
  /** The worker's event dispatcher, for enable_events/disable_events/heartbeat. */
  events?: EventControl | null;
  registry?: CommandRegistry;
  /** `accept_content` for request bodies (JSON). */
  accept?: readonly string[];
  software?: Record<string, string>;
  logger?: Logger;
  /** Applied to every string of a reply before it is published (the worker's configured secrets). */
  redact?: Redactor;
}

export class Mailbox {
  readonly clock: LamportClock;
  readonly registry: CommandRegistry;
  private readonly transport: Transport;
  private readonly namespace: string;
  private readonly logger: Logger;
  private readonly context: CommandContext;
  private readonly accept: readonly string[];
  private readonly redact: Redactor | undefined;
  private readonly nodeMatcher: NodeMatcher;
  private subscription: FanoutSubscription | null = null;
  /** Handlers in flight, so close() can let them finish. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: MailboxOptions) {
    this.transport = options.transport;
    this.namespace = options.namespace ?? 'celery';
    this.clock = options.clock ?? new LamportClock();
    this.registry = options.registry ?? builtinCommands();
    this.logger = options.logger ?? silentLogger;
    this.accept = options.accept ?? ['json'];
    this.redact = options.redact;
    this.nodeMatcher = new NodeMatcher(options.worker.hostname);
    this.context = {
      worker: options.worker,
      hostname: options.worker.hostname,
      clock: this.clock,
      events: options.events ?? null,
      software: options.software ?? softwareInfo('unknown'),
    };
  }

  get hostname(): string {
    return this.context.hostname;
  }

  /** Declare `<node>.<ns>.pidbox` on the fanout exchange and start listening. */
  async start(): Promise<void> {
    if (this.subscription) return;
    const queue = this.nodeQueueSpec;
    await this.transport.declareQueue(queue);
    const handle = (message: Message) => {
      const done = this.handleMessage(message).catch((error: unknown) => this.logger.error(`pidbox command error: ${errorRepr(error)}`));
      this.inFlight.add(done);
      void done.finally(() => this.inFlight.delete(done));
    };
    this.subscription = await this.transport.subscribeFanout(queue.exchange!, '', handle, { exchangeDeclaration: PIDBOX_EXCHANGE, queue });
  }

  /** Stop listening; requests being handled finish first; the auto-delete node queue goes away. */
  async close(): Promise<void> {
    const sub = this.subscription;
    this.subscription = null;
    if (!sub) return;
    await sub.close();
    await Promise.all([...this.inFlight]);
    await this.transport.deleteQueue(this.nodeQueueSpec);
  }

  /** `<node>.<ns>.pidbox` on the fanout exchange, as kombu's `Mailbox.get_queue`. */
  private get nodeQueueSpec(): QueueSpec {
    return {
      name: nodeQueue(this.hostname, this.namespace),
      exchange: pidboxExchange(this.namespace),
      exchangeType: 'fanout',
      routingKey: '',
      exchangeDeclaration: PIDBOX_EXCHANGE,
      attributes: PIDBOX_QUEUE,
    };
  }

  /**
   * Handle one request message: adjust the clock, filter on destination/pattern, run the command,
   * reply when `reply_to` is set. Resolves to the command's reply (undefined when not addressed).
   */
  async handleMessage(message: Message): Promise<unknown> {
    let body: unknown;
    try {
      body = decodeBody(message, this.accept);
    } catch (error) {
      this.logger.error(`Cannot decode message: ${errorRepr(error)}`);
      return undefined;
    }
    const request = parseRequest(body);
    if (!request) return undefined;
    this.clock.adjust(message.headers.clock ?? 0);
    if (!isAddressedTo(this.hostname, request, this.nodeMatcher)) return undefined;
    this.logger.debug(`pidbox received method ${request.method} [reply_to:${JSON.stringify(request.reply_to ?? null)} ticket:${request.ticket ?? null}]`);
    let reply: unknown;
    try {
      reply = await this.registry.run(this.context, request.method, request.arguments);
    } catch (error) {
      this.logger.error(`pidbox command error: ${errorRepr(error)}`);
      reply = { error: errorRepr(error) };
    }
    if (reply === NO_REPLY) return undefined;
    if (this.redact) reply = redactDeep(reply, this.redact);
    if (request.reply_to) {
      const { exchange, routing_key } = request.reply_to;
      const out = replyMessage(this.hostname, reply, request.ticket, this.clock.forward());
      try {
        await this.transport.publish(out, { exchange, routingKey: routing_key, exchangeType: 'direct', exchangeDeclaration: REPLY_EXCHANGE });
      } catch (error) {
        // kombu drops a reply nobody waits for any more (InconsistencyError); a broker error is logged.
        this.logger.warn(`pidbox reply to ${routing_key} failed: ${(error as Error).message}`);
      }
    }
    return reply;
  }
}
