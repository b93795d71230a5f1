// Watching result keys for their next value: ONE subscriber connection multiplexes every wait
// (ref-counted SUBSCRIBE per channel, like celery/backends/redis.py ResultConsumer), backed by
// polling, because PUBLISH is fire-and-forget and is lost while the subscriber is reconnecting.
import type { Redis } from 'ioredis';

/** `source` tells a PUBLISHed payload (anyone may publish anything) from a value read by GET. */
export type KeyListener = (raw: string | null, source: 'message' | 'read') => void;

export interface KeyWatcherOptions {
  /** Opens the dedicated subscriber connection; called once, on the first watch. */
  connect: () => Redis;
  /** Reads the keys' current values (MGET on the command connection). */
  read: (keys: string[]) => Promise<(string | null)[]>;
  /** Poll period while the subscriber is down (ms). */
  fallbackPollMs: number;
  /** Poll period while the subscriber is up: catches PUBLISHes lost in flight (ms). */
  safetyPollMs: number;
}

export interface Watch {
  /** Settles (never rejects) once the SUBSCRIBE took effect or failed; read the key after it. */
  readonly subscribed: Promise<void>;
  stop(): void;
}

interface Channel {
  listeners: Set<KeyListener>;
  subscribed: Promise<void>;
  settle: () => void;
  /** Whether its SUBSCRIBE has been sent (else it still sits in the batch). */
  sent: boolean;
}

/** Keys per MGET of a poll, so one poll never becomes one huge command. */
const POLL_CHUNK = 500;

export class KeyWatcher {
  private subscriber: Redis | undefined;
  private readonly channels = new Map<string, Channel>();
  // SUBSCRIBE/UNSUBSCRIBE are batched per tick: 1,000 waits started together cost one command.
  private readonly toSubscribe = new Set<string>();
  private readonly toUnsubscribe = new Set<string>();
  private flushQueued = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private pollPeriod = 0;
  private polling = false;
  /** A poll was asked for while one ran: its reads may predate a resubscribe, so run again. */
  private pollAgain = false;
  private everReady = false;
  private closed = false;

  constructor(private readonly options: KeyWatcherOptions) {}

  /** Deliver every value seen for `key` (published or polled) to `listener` until stopped. */
  watch(key: string, listener: KeyListener): Watch {
    let channel = this.channels.get(key);
    if (!channel) {
      let settle!: () => void;
      const subscribed = new Promise<void>((resolve) => (settle = resolve));
      channel = { listeners: new Set(), subscribed, settle, sent: false };
      this.channels.set(key, channel);
      this.toSubscribe.add(key);
      this.queueFlush();
    }
    channel.listeners.add(listener);
    this.schedulePoll();
    const watched = channel;
    return {
      subscribed: watched.subscribed,
      stop: () => this.unwatch(key, watched, listener),
    };
  }

  /** Stop polling and close the subscriber connection. Watches simply stop receiving. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    for (const channel of this.channels.values()) channel.settle();
    this.channels.clear();
    if (this.subscriber) await quit(this.subscriber);
  }

  /** The subscriber is connected and subscribed to (at least) what it had before. */
  get subscriberReady(): boolean {
    return this.subscriber?.status === 'ready';
  }

  private unwatch(key: string, channel: Channel, listener: KeyListener): void {
    channel.listeners.delete(listener);
    if (channel.listeners.size > 0 || this.channels.get(key) !== channel) return;
    this.channels.delete(key);
    channel.settle();
    if (channel.sent) this.toUnsubscribe.add(key);
    else this.toSubscribe.delete(key);
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    const sub = this.connection();
    // UNSUBSCRIBE before SUBSCRIBE: a channel dropped and re-watched in one tick ends subscribed.
    if (this.toUnsubscribe.size > 0) {
      sub.unsubscribe(...this.toUnsubscribe).catch(() => {});
      this.toUnsubscribe.clear();
    }
    if (this.toSubscribe.size === 0) return;
    const batch = [...this.toSubscribe].map((key) => this.channels.get(key)!);
    for (const channel of batch) channel.sent = true;
    const settleAll = () => {
      for (const channel of batch) channel.settle();
    };
    // A failed SUBSCRIBE still settles: the waiter reads the key, and the poll keeps watching it.
    sub.subscribe(...this.toSubscribe).then(settleAll, settleAll);
    this.toSubscribe.clear();
  }

  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    const sub = this.options.connect();
    sub.on('message', (channel: string, raw: string) => this.deliver(channel, raw, 'message'));
    sub.on('close', () => this.schedulePoll());
    sub.on('ready', () => {
      if (!this.everReady) {
        this.everReady = true;
        // Polls ran fast while connecting; from now on PUBLISH wakes waits, so slow down.
        if (this.pollTimer) clearTimeout(this.pollTimer);
        this.pollTimer = undefined;
        this.schedulePoll();
        return;
      }
      // Reconnected: ioredis re-sent SUBSCRIBE before emitting 'ready'; a PING answered after it
      // proves the subscriptions are live again, so one read now covers what was PUBLISHed
      // during the outage (celery/backends/redis.py `_reconnect_pubsub` MGETs likewise).
      sub.ping().then(
        () => this.pollNow(),
        () => {},
      );
    });
    this.subscriber = sub;
    return sub;
  }

  private deliver(key: string, raw: string | null, source: 'message' | 'read'): void {
    const channel = this.channels.get(key);
    if (!channel) return;
    for (const listener of [...channel.listeners]) listener(raw, source);
  }

  /** Keep one poll timer while anything is watched; fast while the subscriber is down. */
  private schedulePoll(): void {
    if (this.closed || this.polling || this.channels.size === 0) return;
    const period = this.subscriberReady ? this.options.safetyPollMs : this.options.fallbackPollMs;
    if (this.pollTimer && this.pollPeriod <= period) return;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollPeriod = period;
    this.pollTimer = setTimeout(() => this.pollNow(), period);
    // The connections keep the process alive while there is something to wait for.
    this.pollTimer.unref();
  }

  private async pollNow(): Promise<void> {
    if (this.closed) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.polling = true;
    try {
      const keys = [...this.channels.keys()];
      for (let i = 0; i < keys.length; i += POLL_CHUNK) {
        const chunk = keys.slice(i, i + POLL_CHUNK);
        const values = await this.options.read(chunk).catch(() => null);
        if (!values) break; // command connection down too: try again next period
        chunk.forEach((key, j) => this.deliver(key, values[j] ?? null, 'read'));
      }
    } finally {
      this.polling = false;
      if (this.pollAgain) {
        this.pollAgain = false;
        void this.pollNow();
      } else {
        this.schedulePoll();
      }
    }
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}
