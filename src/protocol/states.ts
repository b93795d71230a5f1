// Task states and their precedence, as celery/states.py defines them (`PRECEDENCE`, `precedence`,
// `READY_STATES`, `PROPAGATE_STATES`).

export const PENDING = 'PENDING';
export const RECEIVED = 'RECEIVED';
export const STARTED = 'STARTED';
export const SUCCESS = 'SUCCESS';
export const FAILURE = 'FAILURE';
export const REVOKED = 'REVOKED';
export const REJECTED = 'REJECTED';
export const RETRY = 'RETRY';
export const IGNORED = 'IGNORED';

export const READY_STATES: ReadonlySet<string> = new Set([SUCCESS, FAILURE, REVOKED]);
export const UNREADY_STATES: ReadonlySet<string> = new Set([PENDING, RECEIVED, STARTED, REJECTED, RETRY]);
export const EXCEPTION_STATES: ReadonlySet<string> = new Set([RETRY, FAILURE, REVOKED]);
export const PROPAGATE_STATES: ReadonlySet<string> = new Set([FAILURE, REVOKED]);
/** The built-in states (REJECTED and IGNORED are not in Celery's ALL_STATES either). */
export const ALL_STATES: ReadonlySet<string> = new Set([PENDING, RECEIVED, STARTED, SUCCESS, FAILURE, RETRY, REVOKED]);

/** celery/states.py PRECEDENCE: earlier = higher; unknown (custom) states sit where `None` is. */
const PRECEDENCE = [SUCCESS, FAILURE, null, REVOKED, STARTED, RECEIVED, REJECTED, RETRY, PENDING];

/** Lower number = takes precedence (Celery's `precedence()`). */
export function statePrecedence(state: string): number {
  const i = PRECEDENCE.indexOf(state);
  return i === -1 ? PRECEDENCE.indexOf(null) : i;
}

export function isReady(state: string): boolean {
  return READY_STATES.has(state);
}
