"""Gunicorn's hooks for the API: `gunicorn -c python:api.gunicorn_conf ... 'api:create_app()'`."""

from core.config import Config


def on_starting(server):
    """Check the settings in the master, before it binds or boots a worker."""
    # Left to the workers, a bad setting is a traceback per worker instead.
    Config.from_env_or_exit()
