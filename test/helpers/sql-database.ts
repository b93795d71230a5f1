// A database of its own for each test file on the shared PostgreSQL (127.0.0.1:5432, trust
// auth) or MariaDB (127.0.0.1:3306, root without password): created under a unique name and
// dropped after the file, so test files run in parallel without seeing each other's rows.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';

export type SqlServer = 'postgres' | 'mariadb';

export interface TestDatabase {
  readonly name: string;
  /** The URL ts-celery takes (database_url) and the Django settings read (DJANGO_DB_URL). */
  readonly url: string;
  /** A statement on this database (`?` placeholders on MariaDB, `$1` on PostgreSQL). */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

const PG_ADMIN = 'postgresql://postgres@127.0.0.1:5432/postgres';
const MARIA_ADMIN = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

/** `stem`: the test file's name (a-z, 0-9, _), so a leftover database says who made it. */
export async function createTestDatabase(server: SqlServer, stem: string): Promise<TestDatabase> {
  const name = `tsc_${stem.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  if (server === 'postgres') {
    const admin = new pg.Client(PG_ADMIN);
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const url = `postgresql://postgres@127.0.0.1:5432/${name}`;
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    // pool.end() resolves before its clients have closed; DROP … WITH (FORCE) may then terminate
    // one, whose error the pool re-emits: expected here, not an uncaught exception.
    pool.on('error', () => {});
    return {
      name,
      url,
      query: async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[],
      async drop() {
        await pool.end();
        const c = new pg.Client(PG_ADMIN);
        await c.connect();
        try {
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await c.end();
        }
      },
    };
  }
  const admin = await mysql.createConnection(MARIA_ADMIN);
  try {
    await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  } finally {
    await admin.end();
  }
  const url = `mysql://root@127.0.0.1:3306/${name}`;
  const pool = mysql.createPool({ ...MARIA_ADMIN, database: name, connectionLimit: 2, timezone: 'Z' });
  return {
    name,
    url,
    query: async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params))[0] as T[],
    async drop() {
      await pool.end();
      const c = await mysql.createConnection(MARIA_ADMIN);
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
      } finally {
        await c.end();
      }
    },
  };
}
