"""The Celery app of a Django shop, for the Django interop tests: ``celery -A django_app worker``
/ ``beat -S django``. Configured like interop_app (BROKER_URL, KEYPREFIX, DEFAULT_QUEUE) plus
DJANGO_DB_URL (djangoproj/settings.py): results go to django-celery-results' table
(result_backend='django-db'), and beat_scheduler is django-celery-beat's DatabaseScheduler.
"""
import os

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'djangoproj.settings')

import django  # noqa: E402

django.setup()

from interop_app import make_app  # noqa: E402

app = make_app(
    'django',
    result_backend='django-db',
    result_extended=True,
    beat_scheduler='django_celery_beat.schedulers:DatabaseScheduler',
)


@app.task(name='interop.django_tick', bind=True)
def django_tick(self, value):
    """What the beat sent, and when (its expires) and as which periodic task (its header)."""
    return {
        'value': value,
        'expires': self.request.expires,
        'periodic_task_name': getattr(self.request, 'periodic_task_name', None),
    }


@app.task(name='interop.django_add')
def django_add(a, b):
    return a + b


@app.task(name='interop.django_fail')
def django_fail(message):
    raise ValueError(message)


@app.task(name='interop.django_sum')
def django_sum(values):
    """A chord body: the header's results, in order."""
    return sum(values)
