// Task ids, delivery tags and producer ids: UUID4 text, as Celery's `uuid()`.
import { randomUUID } from 'node:crypto';

export function newId(): string {
  return randomUUID();
}
