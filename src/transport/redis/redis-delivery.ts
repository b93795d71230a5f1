// One message fetched from Redis and registered in kombu's unacked hash, until it is settled
// by exactly one of ack / reject / restore (kombu/transport/redis.py `QoS.append`, `QoS.ack`,
// `QoS.reject`, `QoS.restore_by_tag`).
import type { DeliveryInfo, Message } from '../../protocol/message.js';
import type { Delivery } from '../transport.js';

/** How deliveries are settled against Redis (implemented by RedisTransport). */
export interface DeliverySettler {
  ack(delivery: RedisDelivery): Promise<void>;
  /** `back` = the end of the queue (reject with requeue), else the front. */
  restore(delivery: RedisDelivery, back: boolean): Promise<void>;
}

export class RedisDelivery implements Delivery {
  private settled = false;

  constructor(
    readonly message: Message,
    readonly info: DeliveryInfo,
    readonly deliveryTag: string,
    /** The envelope exactly as popped: the unacked value starts with `[` + raw. */
    readonly raw: string,
    private readonly settler: DeliverySettler,
    /** Called once when settled in any way (the transport stops tracking it). */
    private readonly onClaimed: (delivery: RedisDelivery) => void,
    /** Frees the prefetch slot. */
    private readonly release: () => void,
  ) {}

  ack(): Promise<void> {
    if (!this.claim()) return Promise.resolve();
    this.release();
    return this.settler.ack(this);
  }

  reject(options: { requeue: boolean }): Promise<void> {
    if (!options.requeue) return this.ack();
    if (!this.claim()) return Promise.resolve();
    return this.settler.restore(this, true).finally(this.release);
  }

  /**
   * The slot is freed only once the message is back in its list: freed earlier, the consumer
   * could fetch the next message ahead of the one being restored to the front.
   */
  restore(): Promise<void> {
    if (!this.claim()) return Promise.resolve();
    return this.settler.restore(this, false).finally(this.release);
  }

  /** Mark settled without talking to Redis (the caller settles in bulk); false if it already was. */
  claim(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.onClaimed(this);
    return true;
  }
}
