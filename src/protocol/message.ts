// A broker message as kombu models it, independent of the broker: serialized (and maybe
// compressed) body bytes, content type/encoding, headers and properties (kombu/message.py `Message`;
// kombu/transport/virtual/base.py `Channel.prepare_message`).

/** Message properties (AMQP basic properties; the Redis envelope's `properties` object). */
export interface MessageProperties {
  correlation_id?: string;
  reply_to?: string;
  /** 2 = persistent (tasks), 1 = transient (events, pidbox replies). */
  delivery_mode?: number;
  priority?: number;
  /** AMQP per-message TTL in milliseconds, as a decimal string. */
  expiration?: string;
  /** Unknown properties are carried through untouched (Celery leaks options here). */
  [key: string]: unknown;
}

export interface Message {
  /** The serialized body, already compressed when `headers.compression` is set. */
  body: Buffer;
  contentType: string;
  contentEncoding: string;
  headers: Record<string, unknown>;
  properties: MessageProperties;
}

/** Where a message was published to, and how it reached us. */
export interface DeliveryInfo {
  exchange: string;
  routingKey: string;
  /** The queue it was consumed from (empty for fanout subscriptions). */
  queue: string;
  redelivered: boolean;
  priority: number;
}
