"""Python producer for core-python-producer.test.ts: sends one batch of task messages, each case
to its own queue ``<CASE_QUEUE_BASE>.<case>``, and prints ONE JSON line describing what was
sent (ids, arguments, send-time windows) for the TypeScript side to compare with.

Env: the interop_app variables plus
  CASE_QUEUE_BASE   queue-name prefix for the cases
  DIRECT_EXCHANGE / DIRECT_KEY         a direct binding declared by the TS transport
  TOPIC_EXCHANGE / TOPIC_MATCH_KEY / TOPIC_MISS_KEY   a topic exchange declared by the TS
                                       transport, a key its binding matches and one it does not
"""
import json
import os
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from decimal import Decimal
from uuid import UUID

from celery import chain, chord, group
from kombu import Exchange

from interop_app import add, app, echo, fail, make_app

BASE = os.environ['CASE_QUEUE_BASE']


def q(case):
    return f'{BASE}.{case}'


def sig(s):
    """A signature as the TS side should see it in embed (task, args, kwargs, immutable)."""
    return {'task': s['task'], 'args': list(s['args']), 'kwargs': dict(s['kwargs']),
            'immutable': bool(s.get('immutable'))}


def timed(fn):
    t0 = time.time()
    res = fn()
    return res, t0 * 1000, time.time() * 1000


out = {}

# Plain send_task with positional and keyword arguments of every JSON type.
ARGS = [None, True, False, 0, -12, 2 ** 53 - 1, 1.25, 1e-9, '', 'café ☕', '😀 𝄞 日本',
        [], {}, [1, [2, [3]]], {'a': {'b': [None, {'c': 'd'}]}}]
KWARGS = {'note': 'café ☕', 'nested': {'list': [1, 2.5, 'x']}, 'empty': {}, 'ключ': 'значение',
          '😀': [True]}
r = app.send_task('interop.echo', args=ARGS, kwargs=KWARGS, queue=q('args'))
out['args'] = {'id': r.id, 'args': ARGS, 'kwargs': KWARGS}

# countdown -> absolute eta; numeric expires -> absolute expires.
r, t0, t1 = timed(lambda: add.apply_async((1, 2), countdown=30, queue=q('countdown')))
out['countdown'] = {'id': r.id, 't0': t0, 't1': t1}
r, t0, t1 = timed(lambda: add.apply_async((1, 2), expires=60, queue=q('expires')))
out['expires_rel'] = {'id': r.id, 't0': t0, 't1': t1}
abs_expires = datetime(2031, 2, 3, 4, 5, 6, 789012, tzinfo=timezone.utc)
r = add.apply_async((3, 4), expires=abs_expires, queue=q('expires'))
out['expires_abs'] = {'id': r.id, 'expires_ms': abs_expires.timestamp() * 1000}

# Explicit eta: UTC and a +05:30 offset.
eta_utc = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
eta_ist = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30)))
r1 = add.apply_async((1, 2), eta=eta_utc, queue=q('eta'))
r2 = add.apply_async((1, 2), eta=eta_ist, queue=q('eta'))
out['eta'] = [{'id': r1.id, 'eta_ms': eta_utc.timestamp() * 1000},
              {'id': r2.id, 'eta_ms': eta_ist.timestamp() * 1000}]

# Priorities, sent highest number first: on Redis a lower number is served first.
out['priority'] = []
for p in (9, 5, 3, 0, None):
    opts = {} if p is None else {'priority': p}
    r = add.apply_async((p or 0, 0), queue=q('priority'), **opts)
    out['priority'].append({'id': r.id, 'priority': p})

# gzip (kombu: a zlib stream + header compression=application/x-gzip).
TEXT = 'gzip me ' * 2000 + '😀'
r = echo.apply_async((TEXT, {'n': 1}), {'k': 'v'}, compression='gzip', queue=q('gzip'))
out['gzip'] = {'id': r.id, 'args': [TEXT, {'n': 1}], 'kwargs': {'k': 'v'}}

# link / link_error travel in embed.callbacks / embed.errbacks.
cb, eb = add.s(10), fail.s()
r = add.apply_async((2, 2), link=cb, link_error=eb, queue=q('link'))
out['link'] = {'id': r.id, 'callbacks': [sig(cb)], 'errbacks': [sig(eb)]}

# chain: only step 1 is published; embed.chain holds the rest, last step first.
res = chain(add.s(1, 1).set(queue=q('chain')), add.s(2), add.s(3)).apply_async()
out['chain'] = {'ids': [res.parent.parent.id, res.parent.id, res.id]}

# group: one message per member, sharing the group id, each with its group_index.
g = group(add.s(i, i) for i in range(3)).apply_async(queue=q('group'))
out['group'] = {'group_id': g.id, 'ids': [m.id for m in g.results]}

# chord: header members carry the body signature in embed.chord.
body = echo.s('body').set(queue=q('chordbody'))
res = chord([add.s(i, i).set(queue=q('chord')) for i in range(3)], body).apply_async()
out['chord'] = {'group_id': res.parent.id, 'ids': [m.id for m in res.parent.results],
                'body_id': res.id, 'body_task': 'interop.echo', 'body_args': ['body']}

# protocol 1 (task_protocol=1): everything in the body, empty headers.
app_v1 = make_app('interop-v1', task_protocol=1)
r, t0, t1 = timed(lambda: app_v1.send_task('interop.echo', args=(2, 3), kwargs={'z': 1},
                                           countdown=30, expires=60, queue=q('v1')))
out['v1'] = {'id': r.id, 'args': [2, 3], 'kwargs': {'z': 1}, 't0': t0, 't1': t1}

# Routing through bindings the TypeScript transport declared (Python never declares them).
r = add.apply_async((5, 5), exchange=os.environ['DIRECT_EXCHANGE'],
                    routing_key=os.environ['DIRECT_KEY'])
out['direct'] = {'id': r.id}
topic = Exchange(os.environ['TOPIC_EXCHANGE'], type='topic')
miss = add.apply_async((6, 6), exchange=topic.name, exchange_type='topic', declare=[topic],
                       routing_key=os.environ['TOPIC_MISS_KEY'])
hit = add.apply_async((7, 7), exchange=topic.name, exchange_type='topic', declare=[topic],
                      routing_key=os.environ['TOPIC_MATCH_KEY'])
out['topic'] = {'id': hit.id, 'missed_id': miss.id}

# Types JSON cannot carry: kombu >= 5.3 tags them {"__type__", "__value__"}.
r = echo.apply_async((datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc),
                      datetime(2024, 5, 6, 7, 8, 9),
                      date(2024, 5, 6),
                      dtime(7, 8, 9),
                      Decimal('12.50'),
                      UUID('12345678-1234-5678-1234-567812345678')),
                     {'when': datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))},
                     queue=q('special'))
out['special'] = {'id': r.id}

print(json.dumps(out))

import sys as _sys
_sys.stdout.flush()
os._exit(0)  # skip interpreter teardown (redis-py noise from AsyncResult.__del__)
