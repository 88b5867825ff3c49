"""A WSGI application for tests that start a real server: Django behind the
lean SDK path, exactly as fixtrail/wsgi.py composes them in production."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from fixtrail.ingest.wsgi import wrap

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fixtrail.settings")

application = wrap(get_wsgi_application())
