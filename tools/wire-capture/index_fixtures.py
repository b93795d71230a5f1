"""Writes README.md in the fixture folder: how to read the files, then one
line per fixture with the Python call that produced it.  Run after the
capture scripts (run_all.sh does)."""
import glob
import json
import os

from common import FIXTURE_DIR, VERSIONS

HEADER = """# Golden fixtures: Celery {celery} / kombu {kombu} (redis-py {redis}, Python {python})

Captured from real Python Celery by the scripts in `tools/wire-capture/`
(re-run them with `scripts/capture-fixtures.sh`; a newer Celery writes a
sibling `celery-<major.minor>/` folder). One JSON file per case; every file has
`case`, `versions`, `description` and, where a single call produced it,
`python_call`.

## How to read a file

* `raw` is the exact string found in Redis (list entry, hash value, PUB/SUB
  payload, result value) or on the AMQP wire; `envelope` is that string parsed
  as JSON; `decoded_body` is `envelope.body` base64-decoded, decompressed when
  `headers.compression` is set, and parsed as JSON.
* `messages` lists every Redis list entry present after the call:
  `redis_key` is the list name (priority lists carry the `\\u0006\\u0016`
  separator). Lists are filled with LPUSH, so index 0 is the newest message;
  consumers BRPOP from the other end.
* `broker_keys` / `backend_keys` dump every key of the broker (db 5) or result
  (db 6) database with type, PTTL in ms (-1 = none) and value; in the `msg-*`
  files list keys show only their length (their entries are under `messages`).
* Files from worker runs name the task ids involved; results are under
  `result` / `value` (parsed) and `raw` (the stored string), with the messages
  PUBLISHed on the result channel under `pubsub_on_channel`.
* Ids, timestamps, `reply_to` oids, `delivery_tag`s, pids and the `origin`
  node name (`gen<pid>@<host>`) are whatever the run produced: compare them
  structurally (type / format / relationships such as `root_id == id`), not
  literally.
* The worker runs as `celery -A wirefx_tasks worker -E -P solo -n
  wirefx@capture -Q celery` (`-P threads -c 1` for `pidbox-busy-*`); the
  queue `wirefx.parking` is consumed by nobody, so messages a worker publishes
  there (chain steps, callbacks, chord bodies) stay in Redis to be captured.

## Normalisation

The only edits made to observed data: inside strings (tracebacks), the
absolute path of the capture scripts is replaced by `tools/wire-capture`,
the Python library directory by `<site-packages>` and the standard library
directory by `<stdlib>`. Everything else is byte-for-byte what was observed.

`beat-crontab-parse.json` and `beat-schedule-cases.json` also carry, per case,
the value computed by another Celery (`other_celery`, versions in
`other_celery_versions`) when the capture was run with
`WIREFX_COMPARE_PYTHONPATH` pointing at that Celery's source; for this folder
that is the celery/kombu `main` branch (5.6.2) source, so
`same_in_other_celery: false` marks behaviour that changed since 5.2.

## Fixtures

| file | what | Python call |
| --- | --- | --- |
"""


def main():
    rows = []
    for path in sorted(glob.glob(os.path.join(FIXTURE_DIR, '*.json'))):
        with open(path, encoding='utf-8') as fh:
            doc = json.load(fh)
        desc = ' '.join(doc.get('description', '').split())
        if len(desc) > 220:
            desc = desc[:217].rsplit(' ', 1)[0] + '...'
        call = doc.get('python_call') or doc.get('worker_command') or doc.get('beat_command') or ''
        call = call.replace('|', '\\|')
        desc = desc.replace('|', '\\|')
        rows.append(f'| `{os.path.basename(path)}` | {desc} | `{call}` |' if call
                    else f'| `{os.path.basename(path)}` | {desc} | |')
    text = HEADER.format(celery=VERSIONS['celery'], kombu=VERSIONS['kombu'],
                         redis=VERSIONS['redis-py'], python=VERSIONS['python'])
    with open(os.path.join(FIXTURE_DIR, 'README.md'), 'w', encoding='utf-8') as fh:
        fh.write(text + '\n'.join(rows) + '\n')
    print('wrote README.md with', len(rows), 'fixtures')


if __name__ == '__main__':
    main()
