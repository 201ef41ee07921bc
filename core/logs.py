"""Logs as one JSON line per event."""

import json
import logging
import sys


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, event, fields."""

    def format(self, record):
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(level="INFO"):
    """Send this process's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # No record takes what no line shows: the caller's file and line, the
    # thread, the multiprocessing name (the logging HOWTO's optimizations;
    # gunicorn's own lines show the process id, which records keep).
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False


def log_event(logger, event, level=logging.INFO, **fields):
    """Log one event with structured fields."""
    logger.log(level, event, extra={"fields": fields})

