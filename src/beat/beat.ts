// The beat service (Celery's `beat.Service.start`): tick, sleep what the tick asked for, repeat;
// with a leader lock only the lock holder ticks, renewing before every tick, and a standby takes
// over (re-reading the shared state) once the leader's lock has expired.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { LeaderLock } from './leader-lock.js';
import { type BeatScheduler, NotLeaderError } from './scheduler.js';

/** Time as beat sees it; tests inject a fake one. */
export interface BeatClock {
  now(): number;
  /** Resolves after `ms` or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: BeatClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(ms, undefined, { signal }).catch(() => {}),
};

export interface BeatOptions {
  scheduler: BeatScheduler;
  clock: BeatClock;
  logger: Logger;
  /** Without a lock this beat always ticks (one beat per schedule, Celery's default). */
  lock?: LeaderLock;
  /** Why there is no lock, logged at start (e.g. no Redis configured). */
  noLockReason?: string;
  /** How often a standby retries the lock (default: a third of the lock timeout). */
  lockRetryMs?: number;
  /** Wait after an unexpected tick error (broker down…) before trying again (default 1 s). */
  errorBackoffMs?: number;
}

const RELEASE_WAIT_MS = 2000;

/** `promise`, or `fallback` as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, fallback: T): Promise<T> {
  if (signal.aborted) return Promise.resolve(fallback);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => resolve(fallback);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class Beat {
  private leader = false;
  private runningNow = false;
  /** Logged that we stand by (and not yet that we took over). */
  private standingBy = false;

  constructor(private readonly options: BeatOptions) {}

  /** True while this beat holds the lock (always, without one). */
  get isLeader(): boolean {
    return this.leader;
  }

  /** True from `run` until it has shut down. */
  get running(): boolean {
    return this.runningNow;
  }

  /** Whether this beat holds a leader lock at all (else it always leads). */
  get hasLock(): boolean {
    return this.options.lock !== undefined;
  }

  /** Runs until `signal` aborts, then syncs the store and releases the lock. */
  async run(signal: AbortSignal): Promise<void> {
    const { scheduler, clock, logger, lock } = this.options;
    logger.info('beat: Starting...');
    this.runningNow = true;
    try {
      if (!lock) {
        if (this.options.noLockReason) logger.info(`beat: no leader lock held: ${this.options.noLockReason}; every beat started for this schedule sends it`);
        await scheduler.start();
        this.leader = true;
      }
      while (!signal.aborted) {
        // A lock call waits while Redis is unreachable; a shutdown must not wait with it.
        if (lock && !(await untilAborted(this.holdLock(lock), signal, false))) {
          await clock.sleep(this.options.lockRetryMs ?? lock.timeoutMs / 3, signal);
          continue;
        }
        let wait: number;
        try {
          wait = await scheduler.tick();
        } catch (error) {
          if (error instanceof NotLeaderError) {
            this.leader = false;
            this.standingBy = true;
            logger.warn(`beat: ${error.message}; standing by`);
            continue;
          }
          logger.error(`beat: tick failed: ${(error as Error).message}`);
          wait = this.options.errorBackoffMs ?? 1000;
        }
        // Renew well inside the lock timeout, whatever the schedule asked for.
        if (lock) wait = Math.min(wait, lock.timeoutMs / 3);
        if (wait > 0) await clock.sleep(wait, signal);
      }
    } finally {
      await scheduler.sync().catch((error: Error) => logger.error(`beat: sync failed: ${error.message}`));
      // Unreleased (Redis gone), the lock simply expires.
      if (lock && this.leader) await untilAborted(lock.release().catch(() => {}), AbortSignal.timeout(RELEASE_WAIT_MS), undefined);
      this.leader = false;
      this.runningNow = false;
      logger.info('beat: Shutting down...');
    }
  }

  /** Renew the lock we hold, or try to take it; a new leader reloads the shared state first. */
  private async holdLock(lock: LeaderLock): Promise<boolean> {
    const { logger, scheduler } = this.options;
    const me = lock.owner ?? 'this beat';
    try {
      if (this.leader) {
        if (await lock.renew()) return true;
        this.leader = false;
        this.standingBy = true;
        logger.warn(`beat: ${me} lost the leader lock ${lock.key}; standing by`);
        return false;
      }
      if (!(await lock.acquire())) {
        if (!this.standingBy) {
          this.standingBy = true;
          const holder = lock.holder ? await lock.holder() : null;
          logger.info(`beat: ${me} is standing by: ${holder ?? 'another beat'} leads (lock ${lock.key}); taking over if its lock expires (${lock.timeoutMs / 1000} s)`);
        }
        return false;
      }
      await scheduler.start();
      this.leader = true;
      if (this.standingBy) logger.warn(`beat: ${me} took over as leader: the lock ${lock.key} was free (the previous leader stopped or died)`);
      else logger.info(`beat: ${me} leads: acquired lock ${lock.key} (${lock.timeoutMs / 1000} s)`);
      this.standingBy = false;
      return true;
    } catch (error) {
      logger.error(`beat: leader lock: ${(error as Error).message}`);
      return false;
    }
  }
}
