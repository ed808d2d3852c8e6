"""WSGI entry point: `gunicorn wsgi:app`, `waitress-serve wsgi:app`, or any WSGI server."""

from republisher import create_app

app = create_app()
