"""The API's gunicorn workers: what each one does once it has loaded the app."""

import gc

from api import create_app
from api.gunicorn_conf import post_worker_init
from core.config import Config


def test_a_worker_keeps_the_loaded_app_out_of_the_collectors_sight():
    gc.unfreeze()
    create_app(Config())
    loaded = len(gc.get_objects())
    post_worker_init(worker=None)
    try:
        # A full collection scans what came since, not what loading made.
        assert gc.get_freeze_count() >= loaded
        assert len(gc.get_objects()) < loaded / 10
    finally:
        gc.unfreeze()
