// The beat leader lock on a SQL database, for schedulers whose state lives there (-S django):
// a session-level advisory lock on a connection of its own — PostgreSQL's
// pg_try_advisory_lock, MySQL/MariaDB's GET_LOCK with no wait. The server drops it the moment
// the holder's connection ends (a killed beat frees it at once; no timeout to wait out), so with
// several beats on one database exactly one sends. django-celery-beat's own DatabaseScheduler
// holds no lock (its docs say to run a single beat); this is where ours does better.
import { createHash } from 'node:crypto';
import type { SqlClient, SqlSession } from '../backend/sql/sql-client.js';
import type { LeaderLock } from './leader-lock.js';

export interface SqlLeaderLockOptions {
  /** Who this beat is (host:pid), for log lines. */
  owner?: string;
  /** How often a standby retries and the leader checks its connection (`timeoutMs / 3`). */
  timeoutMs: number;
}

/** A signed 64-bit key for pg_try_advisory_lock, from the lock's name. */
export function advisoryKey(name: string): bigint {
  return createHash('sha256').update(name).digest().readBigInt64BE(0);
}

export class SqlLeaderLock implements LeaderLock {
  readonly token: string;
  readonly owner?: string;
  readonly timeoutMs: number;
  private session: SqlSession | null = null;
  private held = false;

  /** `name`: one per schedule (the scheduler's tables in one database). */
  constructor(
    private readonly db: SqlClient,
    readonly key: string,
    options: SqlLeaderLockOptions,
  ) {
    this.owner = options.owner;
    this.timeoutMs = options.timeoutMs;
    this.token = options.owner ?? 'ts-celery beat';
  }

  async acquire(): Promise<boolean> {
    if (this.held) return this.renew();
    if (!this.session?.alive) {
      await this.session?.close();
      this.session = await this.db.session();
    }
    const rows =
      this.db.dialect === 'postgres'
        ? await this.session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(?::bigint) AS ok', [advisoryKey(this.key).toString()])
        : await this.session.query<{ ok: number | null }>('SELECT GET_LOCK(?, 0) AS ok', [this.mysqlName()]);
    this.held = rows[0]?.ok === true || rows[0]?.ok === 1;
    return this.held;
  }

  /** Still ours while our connection is: a round trip proves it. */
  async renew(): Promise<boolean> {
    if (!this.held || !this.session?.alive) return (this.held = false);
    try {
      await this.session.query('SELECT 1');
      return true;
    } catch {
      this.held = false;
      return false;
    }
  }

  async release(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (!session) return;
    try {
      if (this.held && session.alive) {
        if (this.db.dialect === 'postgres') await session.query('SELECT pg_advisory_unlock(?::bigint)', [advisoryKey(this.key).toString()]);
        else await session.query('SELECT RELEASE_LOCK(?)', [this.mysqlName()]);
      }
    } finally {
      this.held = false;
      await session.close();
    }
  }

  /** The holder's application name (PostgreSQL; it carries host:pid), else null. */
  async holder(): Promise<string | null> {
    if (this.db.dialect !== 'postgres') return null;
    const key = advisoryKey(this.key);
    // pg_locks splits a bigint key into classid (high 32 bits) and objid (low 32 bits).
    const high = Number(BigInt.asUintN(32, key >> 32n));
    const low = Number(BigInt.asUintN(32, key));
    const rows = await this.db.query<{ name: string | null }>(
      `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = ? AND l.objid::bigint = ? AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [high, low],
    );
    const name = rows[0]?.name;
    return name ? name.replace(/^ts-celery beat /, '') : null;
  }

  /** GET_LOCK names are server-wide and at most 64 characters: the database is part of it. */
  private mysqlName(): string {
    const name = `${this.key}:${this.db.database}`;
    return name.length <= 64 ? name : `ts-celery:${createHash('sha1').update(name).digest('hex')}`;
  }
}
