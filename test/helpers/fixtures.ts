// The golden fixtures captured from real Python Celery: the 5.2 set in ../shared and the set
// re-captured from the pinned version (test/fixtures/celery-5.7, scripts/capture-fixtures.sh).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const here = import.meta.dirname;
const SHARED_5_2 = resolve(here, '../../../shared/fixtures/celery-5.2');
const PINNED_5_7 = resolve(here, '../fixtures/celery-5.7');

/** The 5.2 set must exist; the pinned-version set is included whenever it is present. */
export const FIXTURE_FOLDERS = [SHARED_5_2, ...(existsSync(PINNED_5_7) ? [PINNED_5_7] : [])];

export type FixtureFolder = 'celery-5.2' | 'celery-5.7';

/** The folders actually present, for tests that run once per Celery version. */
export const FIXTURE_VERSIONS = FIXTURE_FOLDERS.map((dir) => dir.split('/').at(-1) as FixtureFolder);

export interface Fixture {
  /** `celery-5.2` or `celery-5.7`. */
  folder: FixtureFolder;
  name: string;
  // biome-ignore lint: fixtures are free-form captured JSON
  data: any;
}

export function loadFixtures(prefix = ''): Fixture[] {
  if (!existsSync(SHARED_5_2)) throw new Error(`fixture folder missing: ${SHARED_5_2}`);
  const found: Fixture[] = [];
  for (const dir of FIXTURE_FOLDERS) {
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.json') || !file.startsWith(prefix)) continue;
      found.push({ folder: dir.split('/').at(-1) as FixtureFolder, name: file.replace(/\.json$/, ''), data: JSON.parse(readFileSync(resolve(dir, file), 'utf8')) });
    }
  }
  return found;
}

export function loadFixture(folder: FixtureFolder, name: string): Fixture {
  const fixture = loadFixtures(name).find((f) => f.folder === folder && f.name === name);
  if (!fixture) throw new Error(`no fixture ${folder}/${name}`);
  return fixture;
}

export interface CapturedEnvelope {
  /** Where in the fixture the string was found, e.g. `messages.0.raw`. */
  path: string;
  /** The envelope JSON text, as decodeRedisEnvelope takes it. */
  raw: string;
  // biome-ignore lint: captured JSON
  envelope: any;
}

/**
 * Every kombu Redis envelope stored as text anywhere in a fixture: list entries (`raw`), unacked
 * hash values (`[envelope, exchange, routing_key]`), messages a worker or beat published.
 */
export function findEnvelopes(fixture: Fixture): CapturedEnvelope[] {
  const found: CapturedEnvelope[] = [];
  const visit = (value: unknown, path: string) => {
    if (typeof value === 'string') {
      if (!value.startsWith('{"body": ') && !value.startsWith('[{"body": ')) return;
      const parsed = JSON.parse(value) as unknown;
      const envelope = Array.isArray(parsed) ? parsed[0] : parsed;
      found.push({ path, raw: JSON.stringify(envelope), envelope });
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, `${path}.${i}`));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k);
    }
  };
  visit(fixture.data, '');
  return found;
}
