// A chord whose header failed (or whose body could not be sent) fails its body, as
// celery/backends/base.py `Backend.chord_error_from_stack` does: the body's errbacks are called
// with the body's id, then ChordError is stored as the body's result — so whoever waits on the
// chord reads FAILURE ChordError('Dependency <id> raised <repr>') in Python or TypeScript.
import { ChordError } from '../errors.js';
import { type ExceptionInfo, exceptionRepr, formatTraceback, toExceptionInfo } from '../protocol/exceptions.js';
import { buildTaskMeta } from '../protocol/result-meta.js';
import { FAILURE } from '../protocol/states.js';
import type { Signature } from '../protocol/task-message.js';
import { applySignature, type SignatureProducer } from './apply-signature.js';
import { group } from './signatures.js';

/** The error a failed (FAILURE/REVOKED) header task gives its chord: `Dependency <id> raised <repr(exc)>`. */
export function dependencyFailed(taskId: string, exception: unknown): ChordError {
  return new ChordError(`Dependency ${taskId} raised ${exceptionRepr(exception as ExceptionInfo)}`);
}

const asList = (value: unknown): Signature[] => (value == null ? [] : Array.isArray(value) ? (value as Signature[]) : [value as Signature]);

/**
 * `chord_error_from_stack(callback, exc)`: old-style errbacks get the body's id as their first
 * argument, sent as one group (`_call_task_errbacks`); the error is stored on the body's id. An
 * errback that cannot be sent is recorded on the body instead, as Celery does.
 */
export async function failChordBody(app: SignatureProducer, body: Signature, error: ChordError): Promise<void> {
  const bodyId = body.options?.task_id;
  if (typeof bodyId !== 'string' || !app.backend) return;
  const errbacks = asList(body.options?.link_error);
  let stored: unknown = error;
  if (errbacks.length > 0) {
    try {
      await applySignature(app, group(errbacks), { prepend: [bodyId], options: { parent_id: bodyId, root_id: (body.options?.root_id as string | undefined) ?? bodyId } });
    } catch (errbackError) {
      stored = errbackError;
    }
  }
  await app.backend.storeResult(
    buildTaskMeta({ taskId: bodyId, status: FAILURE, result: toExceptionInfo(stored), traceback: formatTraceback(stored), dateDone: new Date() }),
  );
}
