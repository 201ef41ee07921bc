# One image for every app service of docker-compose.yml: api, worker,
# scheduler, flower and the fake gateway differ only by their command; the
# CLI runs in it too (`docker compose run --rm api python cli.py ...`).

# Dependencies are installed into a virtualenv in a stage of their own, so
# the image keeps none of pip's build leftovers.
FROM python:3.11-slim-bookworm AS deps

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN python -m venv /opt/venv
# Only the runtime requirements: tests and tools are in requirements-dev.txt.
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt


FROM python:3.11-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

COPY --from=deps /opt/venv /opt/venv

WORKDIR /app
# Every top-level package an entry point imports (tests/test_deploy.py
# checks the list): no venv, local data or git history (.dockerignore).
COPY core ./core
COPY api ./api
COPY workers ./workers
COPY fake_gateway ./fake_gateway
COPY console ./console
COPY cli.py ./

RUN useradd --system --no-create-home --uid 10001 dispatcher
USER dispatcher

EXPOSE 8080
CMD ["gunicorn", "--config", "python:api.gunicorn_conf", "--bind", "0.0.0.0:8080", \
     "--workers", "2", "--threads", "8", "--worker-class", "gthread", "--access-logfile", "-", \
     "api:create_app()"]
