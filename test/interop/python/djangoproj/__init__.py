"""A minimal Django project for the Django interop tests: django-celery-beat and
django-celery-results on the database named by DJANGO_DB_URL (one per test file)."""
