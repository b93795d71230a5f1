// What the worker tells an observer (Prometheus metrics) about each task, at the moments Celery
// sends its task events (celery/worker/request.py, celery/app/trace.py). Null when nobody
// observes: the hot path then pays one null check per moment.
import type { Request } from './request.js';

export interface TaskObserver {
  /** Accepted for this worker (Celery's `task-received`). */
  received(req: Request): void;
  /** Execution begins; `waitSeconds` = from its ETA (or its receipt here) to now. */
  started(req: Request, waitSeconds: number): void;
  succeeded(req: Request, runtimeSeconds: number): void;
  /** `excType` is the exception's class name (`ValueError`, `TimeLimitExceeded`…). */
  failed(req: Request, excType: string): void;
  retried(req: Request): void;
  rejected(req: Request): void;
  revoked(req: Request): void;
}
