"""The project's Celery app with task events off: `celery -A bench.noevents worker` (for bench.tune)."""

from workers.celery_app import app

app.conf.worker_send_task_events = False
app.conf.task_send_sent_event = False
