// Messages on RabbitMQ (kombu/transport/pyamqp.py `Channel.prepare_message`): no envelope and no
// base64 — the body bytes are the payload, Celery's headers are the AMQP headers table (None →
// void), and the properties are AMQP basic properties.
import type { ConsumeMessage, Options } from 'amqplib';
import type { DeliveryInfo, Message, MessageProperties } from '../../protocol/message.js';

/** Drop `undefined` (no AMQP encoding) at any depth; null stays, as field-table void. */
function tableValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : tableValue(v)));
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value) && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, tableValue(v)]),
    );
  }
  return value;
}

export function publishOptions(message: Message): Options.Publish {
  const p = message.properties;
  const options: Options.Publish = {
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    headers: tableValue(message.headers) as Record<string, unknown>,
    deliveryMode: p.delivery_mode ?? 2,
  };
  if (typeof p.priority === 'number') options.priority = p.priority;
  if (typeof p.correlation_id === 'string') options.correlationId = p.correlation_id;
  if (typeof p.reply_to === 'string') options.replyTo = p.reply_to;
  if (typeof p.expiration === 'string') options.expiration = p.expiration;
  return options;
}

/** A consumed message in the broker-independent shape the worker and clients read. */
export function fromAmqp(msg: ConsumeMessage, queue: string): { message: Message; info: DeliveryInfo } {
  const p = msg.properties;
  const properties: MessageProperties = {};
  if (p.correlationId !== undefined) properties.correlation_id = p.correlationId;
  if (p.replyTo !== undefined) properties.reply_to = p.replyTo;
  if (p.deliveryMode !== undefined) properties.delivery_mode = p.deliveryMode;
  if (p.priority !== undefined) properties.priority = p.priority;
  if (p.expiration !== undefined) properties.expiration = String(p.expiration);
  return {
    message: {
      body: msg.content,
      contentType: p.contentType ?? 'application/data',
      contentEncoding: p.contentEncoding ?? 'binary',
      headers: (p.headers ?? {}) as Record<string, unknown>,
      properties,
    },
    info: {
      exchange: msg.fields.exchange,
      routingKey: msg.fields.routingKey,
      queue,
      redelivered: msg.fields.redelivered,
      priority: p.priority ?? 0,
    },
  };
}
