"""WSGI entry point used by `kam serve` (waitress) and any other WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kam.config.settings")
application = get_wsgi_application()
