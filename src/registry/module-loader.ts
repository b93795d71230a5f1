// `-A MODULE[:EXPORT]`: import the user's tasks module (compiled JavaScript, or TypeScript through
// tsx's loader, registered on demand) and find the Celery app it exports.
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Celery } from '../app.js';
import { ConfigError } from '../errors.js';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);
const CANDIDATES = ['.ts', '.mts', '.js', '.mjs', '/index.ts', '/index.js'];

function looksLikeApp(value: unknown): value is Celery {
  // Duck-typed: the user's module may import another copy of ts-celery than the CLI's.
  const v = value as Partial<Celery> | null;
  return !!v && typeof v === 'object' && typeof v.sendTask === 'function' && typeof v.tasks?.get === 'function';
}

/** Resolve `./tasks` to an existing file, trying the usual extensions. */
export function resolveModulePath(spec: string, cwd: string = process.cwd()): string {
  const base = resolve(cwd, spec);
  // A spec with an extension names the file; without one, try the usual ones.
  const suffixes = extname(spec) ? [''] : CANDIDATES;
  for (const suffix of suffixes) {
    if (existsSync(base + suffix)) return base + suffix;
  }
  throw new ConfigError(`cannot find the tasks module '${spec}' (looked for ${suffixes.map((s) => spec + s).join(', ')})`);
}

/** Import `MODULE[:EXPORT]` and return its app: the named export, else `app`, else the default export. */
export async function loadApp(spec: string, cwd: string = process.cwd()): Promise<Celery> {
  const colon = spec.lastIndexOf(':');
  const [modulePart, exportName] = colon > 1 ? [spec.slice(0, colon), spec.slice(colon + 1)] : [spec, undefined];
  const path = resolveModulePath(modulePart, cwd);
  if (TYPESCRIPT.has(extname(path))) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`cannot import the tasks module '${path}': ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const names = exportName ? [exportName] : ['app', 'default', 'celery'];
  for (const name of names) {
    if (looksLikeApp(module[name])) return module[name];
  }
  throw new ConfigError(
    exportName
      ? `'${path}' has no export '${exportName}' that is a Celery app`
      : `'${path}' exports no Celery app (export it as 'app' or as the default export, or name it with -A ${modulePart}:<export>)`,
  );
}
