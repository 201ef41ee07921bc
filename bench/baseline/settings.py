"""The baseline's settings, from environment variables set by the bench runner."""

import os

BROKER_URL = os.environ.get("BASELINE_BROKER_URL", "redis://127.0.0.1:6392/0")
GATEWAY_URL = os.environ.get("BASELINE_GATEWAY_URL", "http://127.0.0.1:8081")
MONGO_URL = os.environ.get("BASELINE_MONGO_URL", "mongodb://127.0.0.1:27037/")
MONGO_DB = os.environ.get("BASELINE_MONGO_DB", "baseline")
MAX_RETRIES = 5
