// The golden fixtures captured from real Python Celery: the 5.2 set in ../shared and the set
// re-captured from the pinned version (test/fixtures/celery-5.7, scripts/capture-fixtures.sh).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const here = import.meta.dirname;
export const FIXTURE_FOLDERS = [resolve(here, '../../../shared/fixtures/celery-5.2'), resolve(here, '../fixtures/celery-5.7')];

export interface Fixture {
  /** `celery-5.2` or `celery-5.7`. */
  folder: string;
  name: string;
  // biome-ignore lint: fixtures are free-form captured JSON
  data: any;
}

export function loadFixtures(prefix = ''): Fixture[] {
  const found: Fixture[] = [];
  for (const dir of FIXTURE_FOLDERS) {
    if (!existsSync(dir)) throw new Error(`fixture folder missing: ${dir}`);
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.json') || !file.startsWith(prefix)) continue;
      found.push({ folder: dir.split('/').at(-1)!, name: file.replace(/\.json$/, ''), data: JSON.parse(readFileSync(resolve(dir, file), 'utf8')) });
    }
  }
  return found;
}

export function loadFixture(folder: 'celery-5.2' | 'celery-5.7', name: string): Fixture {
  const fixture = loadFixtures(name).find((f) => f.folder === folder && f.name === name);
  if (!fixture) throw new Error(`no fixture ${folder}/${name}`);
  return fixture;
}
