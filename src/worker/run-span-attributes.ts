// The attributes Python's opentelemetry-instrumentation-celery puts on a `run/<task>` span when
// the task has finished (`_trace_postrun` → `utils.set_attributes_from_context` over the
// task_postrun kwargs, then over `task.request`), so traces from either language's workers read alike.
import type { SpanAttributes } from '../observe/celery-tracing.js';
import { pythonRepr } from '../protocol/repr.js';
import type { Request } from './request.js';

export function runSpanAttributes(req: Request, state: string, hostname: string): SpanAttributes {
  const { task, delivery } = req;
  const a: SpanAttributes = { 'celery.action': 'run', 'celery.state': state };
  if (task.correlationId) a['messaging.conversation_id'] = task.correlationId;
  // delivery_info as Celery's Request builds it, and its routing key as the destination.
  const info = delivery.info;
  a['messaging.destination'] = info.routingKey;
  a['celery.delivery_info'] = pythonRepr({ exchange: info.exchange, routing_key: info.routingKey, priority: task.priority, redelivered: info.redelivered });
  const { eta, expires } = task.headers;
  if (typeof eta === 'string' && eta) a['celery.eta'] = eta;
  if (typeof expires === 'string' && expires) a['celery.expires'] = expires;
  // `origin` wins over `hostname` (the instrumentation writes both to celery.hostname, origin last).
  a['celery.hostname'] = task.origin || hostname;
  a['messaging.message.id'] = task.id;
  if (task.replyTo) a['celery.reply_to'] = task.replyTo;
  if (task.retries !== 0) a['celery.retries'] = task.retries;
  const [hard, soft] = task.timeLimit;
  if (hard !== null || soft !== null) a['celery.timelimit'] = hard === null || soft === null ? [hard === null ? '' : String(hard), soft === null ? '' : String(soft)] : [hard, soft];
  a['celery.task_name'] = task.name;
  return a;
}
