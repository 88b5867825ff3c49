"""The WSGI application granian serves.

The SDK endpoints are answered by a lean callable ahead of Django's
middleware (see fixtrail.ingest.wsgi); everything else goes to Django.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fixtrail.settings")

from fixtrail.core import selfmonitor  # noqa: E402
from fixtrail.ingest.wsgi import wrap  # noqa: E402  (needs the settings module)

application = wrap(get_wsgi_application())
selfmonitor.start("web")
