"""Settings of the interop tests' Django project, from the environment:

  DJANGO_DB_URL   postgresql://user@host:port/name or mysql://user:password@host:port/name
"""
import os
from urllib.parse import unquote, urlsplit

import pymysql

# PyMySQL as Django's MySQLdb (no libmariadb-dev to build mysqlclient); Django checks the
# mysqlclient version it claims to be.
pymysql.version_info = (2, 2, 1, 'final', 0)
pymysql.install_as_MySQLdb()


def _database(url):
    parts = urlsplit(url)
    scheme = parts.scheme.split('+')[0]
    engine = {'postgres': 'postgresql', 'postgresql': 'postgresql', 'mysql': 'mysql', 'mariadb': 'mysql'}[scheme]
    return {
        'ENGINE': f'django.db.backends.{engine}',
        'NAME': unquote(parts.path.lstrip('/')),
        'USER': unquote(parts.username or ''),
        'PASSWORD': unquote(parts.password or ''),
        'HOST': parts.hostname or '',
        'PORT': str(parts.port or ''),
    }


SECRET_KEY = 'interop-tests-only'
USE_TZ = True
TIME_ZONE = 'UTC'
INSTALLED_APPS = ['django_celery_beat', 'django_celery_results']
DATABASES = {'default': _database(os.environ['DJANGO_DB_URL'])}
DEFAULT_AUTO_FIELD = 'django.db.models.BigAutoField'
