"""WSGI entry point for gunicorn and the flask CLI: `gunicorn wsgi:app`."""

from webapp import create_app

app = create_app()
