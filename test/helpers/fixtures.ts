// The golden fixtures captured from real Python Celery by tools/wire-capture
// (scripts/capture-fixtures.sh): one folder per Celery version under test/fixtures/.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const FIXTURES = resolve(import.meta.dirname, '../fixtures');

/** Every captured version, oldest first: `celery-5.2`, `celery-5.7`, … */
export const FIXTURE_VERSIONS = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory() && /^celery-\d+\.\d+$/.test(e.name))
  .map((e) => e.name as FixtureFolder)
  .sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));

export type FixtureFolder = `celery-${number}.${number}`;

export interface Fixture {
  /** `celery-5.2`, `celery-5.7`, … */
  folder: FixtureFolder;
  name: string;
  // biome-ignore lint: fixtures are free-form captured JSON
  data: any;
}

export function loadFixtures(prefix = ''): Fixture[] {
  const found: Fixture[] = [];
  for (const folder of FIXTURE_VERSIONS) {
    const dir = resolve(FIXTURES, folder);
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.json') || !file.startsWith(prefix)) continue;
      found.push({ folder, name: file.replace(/\.json$/, ''), data: JSON.parse(readFileSync(resolve(dir, file), 'utf8')) });
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
