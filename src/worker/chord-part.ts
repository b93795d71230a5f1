// A chord header task reports its outcome to the backend's chord counter (celery/backends/redis.py
// `RedisBackend.on_chord_part_return`, django_celery_results/backends/database.py
// `DatabaseBackend.on_chord_part_return`): every ready state counts; the task that completes the
// chord sends the body with the header results prepended — or, when a header task failed, fails
// the body with ChordError("Dependency <id> raised <repr>"). On a backend that polls chords
// instead (SQLAlchemy db+: `BaseBackend.on_chord_part_return` is a no-op) there is nothing to do:
// `celery.chord_unlock` joins the header (canvas/chord-unlock.ts).
import type { Celery } from '../app.js';
import { CHORD_BACKENDS, chordCounterFor, pollsChords } from '../backend/index.js';
import { applySignature } from '../canvas/apply-signature.js';
import { dependencyFailed, failChordBody } from '../canvas/chord-error.js';
import { ChordError } from '../errors.js';
import type { Logger } from '../log.js';
import { FAILURE, REVOKED } from '../protocol/states.js';
import type { Request } from './request.js';

export async function onChordPartReturn(app: Celery, req: Request, state: string, result: unknown, logger: Logger): Promise<void> {
  const { task } = req;
  const body = task.embed.chord;
  if (!body || !task.group) return;
  const store = chordCounterFor(app.backend, app.conf.result_backend_transport_options);
  if (!store) {
    if (pollsChords(app.backend)) return;
    logger.warn(`Task ${req.displayName}[${req.id}] is a chord header member, but ${CHORD_BACKENDS}`);
    return;
  }
  try {
    const outcome = await store.onChordPartReturn({ groupId: task.group, groupIndex: task.groupIndex, taskId: task.id, state, result });
    if (!outcome.complete) return;
    try {
      const failed = outcome.results.find((entry) => entry.state === FAILURE || entry.state === REVOKED);
      if (failed) {
        await failChordBody(app, body, dependencyFailed(failed.taskId, failed.result));
      } else {
        await applySignature(app, body, {
          prepend: [outcome.results.map((entry) => entry.result)],
          options: { parent_id: task.id, root_id: task.rootId ?? task.id },
        });
      }
    } catch (error) {
      logger.error(`Chord callback for '${task.group}' raised: ${error instanceof Error ? error.message : String(error)}`);
      await failChordBody(app, body, new ChordError(`Callback error: ${error instanceof Error ? error.message : String(error)}`));
    } finally {
      await store.finishChord(task.group, outcome.claimToken);
    }
  } catch (error) {
    logger.error(`Chord bookkeeping for '${task.group}' failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
