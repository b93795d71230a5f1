// The thread running a task died under it (process.exit, a crash, out of memory): billiard's
// WorkerLostError, the error Celery's prefork pool reports for a child that exited prematurely.
import { CeleryError } from '../../errors.js';

export class WorkerLostError extends CeleryError {
  override readonly name = 'WorkerLostError' as const;
  override readonly pythonModule = 'billiard.exceptions';
}
