// Acks of one channel, coalesced per event-loop turn: the completed prefix of what RabbitMQ holds
// unacked goes out as ONE `basic.ack multiple=true`, and any other completed tag individually in
// the same turn, so nothing waits for a slow task ahead of it. A multiple ack covers exactly that
// prefix: every lower tag was settled before (acked, rejected or requeued).
import type { Channel, Message } from 'amqplib';

const tagged = (deliveryTag: number) => ({ fields: { deliveryTag } }) as Message;

export class AckBatcher {
  /** Delivery tags not settled yet, ascending (RabbitMQ numbers deliveries per channel). */
  private readonly outstanding: number[] = [];
  private readonly acked = new Set<number>();
  private scheduled = false;

  constructor(private readonly channel: Channel) {}

  received(tag: number): void {
    this.outstanding.push(tag);
  }

  ack(tag: number): void {
    this.acked.add(tag);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** A reject or requeue goes out at once; the tag leaves the outstanding set. */
  settledOtherwise(tag: number, send: () => void): void {
    this.remove(tag);
    send();
  }

  flush(): void {
    this.scheduled = false;
    if (this.acked.size === 0) return;
    let prefix = 0;
    while (prefix < this.outstanding.length && this.acked.has(this.outstanding[prefix]!)) prefix++;
    try {
      if (prefix > 0) {
        this.channel.ack(tagged(this.outstanding[prefix - 1]!), true);
        for (const tag of this.outstanding.splice(0, prefix)) this.acked.delete(tag);
      }
      for (const tag of this.acked) {
        this.channel.ack(tagged(tag), false);
        this.remove(tag);
      }
    } catch {
      // The channel closed under us: RabbitMQ requeued everything unacked.
    }
    this.acked.clear();
  }

  private remove(tag: number): void {
    const i = this.outstanding.indexOf(tag);
    if (i >= 0) this.outstanding.splice(i, 1);
  }
}
