"""Shared helpers for the wire-capture scripts.

Everything here is about *observing* what real Python Celery puts on the wire:
reading Redis keys exactly as stored, decoding kombu envelopes, and writing one
JSON fixture per case.  Nothing here builds messages by hand.

Environment (all optional):
  WIREFX_REDIS_HOST / WIREFX_REDIS_PORT   Redis server (127.0.0.1:6379)
  WIREFX_BROKER_DB                        broker db   (5)
  WIREFX_BACKEND_DB                       result db   (6)
  WIREFX_ALT_DB                           scratch db for variants (7)
  WIREFX_AMQP_URL                         amqp://guest:guest@127.0.0.1:5672//
  WIREFX_FIXTURE_DIR                      output folder (default:
                                          test/fixtures/celery-<major.minor> of the repository)
"""
import base64
import bz2
import datetime as _dt
import json
import lzma
import os
import platform
import sys
import sysconfig
import zlib

import celery
import kombu
import redis

CAPTURE_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(os.path.dirname(CAPTURE_DIR))  # the repository root

REDIS_HOST = os.environ.get('WIREFX_REDIS_HOST', '127.0.0.1')
REDIS_PORT = int(os.environ.get('WIREFX_REDIS_PORT', '6379'))
BROKER_DB = int(os.environ.get('WIREFX_BROKER_DB', '5'))
BACKEND_DB = int(os.environ.get('WIREFX_BACKEND_DB', '6'))
ALT_DB = int(os.environ.get('WIREFX_ALT_DB', '7'))
AMQP_URL = os.environ.get('WIREFX_AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672//')

for _db in (BROKER_DB, BACKEND_DB, ALT_DB):
    if not 5 <= _db <= 9:
        sys.exit(f'refusing to use redis db {_db}: only dbs 5..9 are ours')


def redis_url(db):
    return f'redis://{REDIS_HOST}:{REDIS_PORT}/{db}'


BROKER_URL = redis_url(BROKER_DB)
BACKEND_URL = redis_url(BACKEND_DB)

_major_minor = '.'.join(celery.__version__.split('.')[:2])
FIXTURE_DIR = os.environ.get(
    'WIREFX_FIXTURE_DIR',
    os.path.join(REPO_DIR, 'test', 'fixtures', f'celery-{_major_minor}'),
)
LOG_DIR = os.path.join(CAPTURE_DIR, 'logs')

VERSIONS = {
    'celery': celery.__version__,
    'kombu': kombu.__version__,
    'redis-py': redis.__version__,
    'python': platform.python_version(),
}

# Paths that would otherwise leak this machine's layout into tracebacks.
_SITE_DIRS = sorted({p for p in (sysconfig.get_paths().get('purelib'),
                                 sysconfig.get_paths().get('platlib'),
                                 os.path.dirname(os.path.dirname(celery.__file__)),
                                 os.path.dirname(os.path.dirname(kombu.__file__)))
                     if p}, key=len, reverse=True)
_STDLIB_DIR = sysconfig.get_paths().get('stdlib')


def normalise(value):
    """Replace machine-specific paths inside strings (tracebacks only).

    This is the *only* change made to observed data; it is documented in
    the fixtures README.
    """
    if isinstance(value, str):
        value = value.replace(CAPTURE_DIR, 'tools/wire-capture')
        for site in _SITE_DIRS:
            value = value.replace(site, '<site-packages>')
        if _STDLIB_DIR:
            value = value.replace(_STDLIB_DIR, '<stdlib>')
        return value
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {normalise(k): normalise(v) for k, v in value.items()}
    return value


def client(db):
    return redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)


def flush(*dbs):
    for db in dbs:
        assert 5 <= db <= 9
        client(db).flushdb()


def to_text(b):
    if isinstance(b, bytes):
        try:
            return b.decode('utf-8')
        except UnicodeDecodeError:
            return {'base64': base64.b64encode(b).decode()}
    return b


_DECOMPRESS = {
    'application/x-gzip': zlib.decompress,   # kombu's "gzip" is a zlib stream
    'application/x-bz2': bz2.decompress,
    'application/x-lzma': lzma.decompress,
}


def decode_payload(body_bytes, content_type, compression=None):
    """Decompress + deserialise a message body the way kombu would."""
    if compression:
        body_bytes = _DECOMPRESS[compression](body_bytes)
    if content_type == 'application/json':
        return json.loads(body_bytes.decode('utf-8'))
    return {'undecoded_base64': base64.b64encode(body_bytes).decode()}


def decode_envelope(raw):
    """Parse one kombu Redis envelope (the string stored in a list / hash /
    published on a channel) and decode its body.  Returns (envelope, body)."""
    text = raw.decode('utf-8') if isinstance(raw, bytes) else raw
    env = json.loads(text)
    props = env.get('properties', {})
    body = env.get('body')
    if props.get('body_encoding') == 'base64':
        body_bytes = base64.b64decode(body)
    else:
        body_bytes = body.encode('utf-8') if isinstance(body, str) else body
    compression = (env.get('headers') or {}).get('compression')
    decoded = decode_payload(body_bytes, env.get('content-type'), compression)
    return env, decoded


def list_entry(raw, key):
    """Fixture record for one list entry."""
    env, body = decode_envelope(raw)
    return {
        'redis_key': to_text(key),
        'raw': to_text(raw),
        'envelope': env,
        'decoded_body': body,
    }


def snapshot(db, pattern='*', lists_as_len=False):
    """Every key in a db with its type and full content, as stored.
    lists_as_len: give only the length of list keys (their entries are
    recorded separately, decoded, under "messages")."""
    c = client(db)
    out = {}
    for key in sorted(c.keys(pattern)):
        t = c.type(key).decode()
        k = to_text(key)
        ttl = c.pttl(key)
        if t == 'string':
            v = to_text(c.get(key))
        elif t == 'list' and lists_as_len:
            v = {'length': c.llen(key)}
        elif t == 'list':
            v = [to_text(x) for x in c.lrange(key, 0, -1)]
        elif t == 'set':
            v = sorted(to_text(x) for x in c.smembers(key))
        elif t == 'hash':
            v = {to_text(f): to_text(x) for f, x in c.hgetall(key).items()}
        elif t == 'zset':
            v = [[to_text(m), s] for m, s in c.zrange(key, 0, -1, withscores=True)]
        else:
            v = None
        out[k] = {'type': t, 'pttl_ms': ttl, 'value': v}
    return out


def lists_with_entries(db):
    """All list keys of a db and their decoded entries (LPUSH order:
    index 0 is the newest, the consumer BRPOPs from the right/oldest)."""
    c = client(db)
    out = []
    for key in sorted(c.keys('*')):
        if c.type(key) != b'list':
            continue
        for raw in c.lrange(key, 0, -1):
            try:
                out.append(list_entry(raw, key))
            except Exception as exc:  # not a kombu envelope
                out.append({'redis_key': to_text(key), 'raw': to_text(raw),
                            'error': repr(exc)})
    return out


def _json_default(o):
    if isinstance(o, (_dt.datetime, _dt.date)):
        return o.isoformat()
    if isinstance(o, bytes):
        return to_text(o)
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    return repr(o)


def write_fixture(name, data):
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    doc = {'case': name, 'versions': VERSIONS}
    doc.update(data)
    doc = normalise(json.loads(json.dumps(doc, default=_json_default)))
    path = os.path.join(FIXTURE_DIR, name + '.json')
    with open(path, 'w', encoding='utf-8') as fh:
        json.dump(doc, fh, indent=2, ensure_ascii=False)
        fh.write('\n')
    print('wrote', os.path.relpath(path, REPO_DIR))
    return path
