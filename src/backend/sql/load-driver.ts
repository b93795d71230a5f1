// The optional peer dependency of a database (pg, mysql2, better-sqlite3), imported on first use;
// when it is not installed, one line saying what to install.
import { ConfigError } from '../../errors.js';
import type { SqlDialect } from './sql-types.js';

const PRODUCTS: Record<SqlDialect, string> = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB', sqlite: 'SQLite' };

/** `name` is the import specifier (`mysql2/promise`); its package is what the user installs. */
export async function loadDriver<T>(name: string, dialect: SqlDialect): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new ConfigError(`a ${PRODUCTS[dialect]} database URL needs the '${name.split('/')[0]}' package: npm install ${name.split('/')[0]}`, { cause });
    }
    throw cause;
  }
}
