"""The beat app of the RedBeat interop test: ``celery -A redbeat_app beat -S redbeat.RedBeatScheduler``.

Configured from the environment like interop_app (BROKER_URL, KEYPREFIX, DEFAULT_QUEUE), plus:

  REDBEAT_PREFIX      redbeat_key_prefix
  BEAT_TABLE          the beat_schedule as JSON in celery-redbeat's encoding, decoded with
                      redbeat's own RedBeatJSONDecoder: the very file ts-celery beat reads
                      with --schedule-table, so both beats run one table
  LOCK_TIMEOUT        redbeat_lock_timeout in seconds
"""
import json
import os

from redbeat.decoder import RedBeatJSONDecoder

from interop_app import make_app

app = make_app('redbeat')
app.conf.update(
    beat_schedule=json.loads(os.environ['BEAT_TABLE'], cls=RedBeatJSONDecoder),
    beat_max_loop_interval=1,
    redbeat_redis_url=os.environ['BROKER_URL'],
    redbeat_key_prefix=os.environ['REDBEAT_PREFIX'],
    redbeat_lock_timeout=int(os.environ['LOCK_TIMEOUT']),
)
