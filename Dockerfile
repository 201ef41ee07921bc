# One image for every app service of docker-compose.yml: api, worker,
# scheduler, flower and the fake gateway differ only by their command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# Only the service's code: no venv, local data or git history in the image.
COPY core ./core
COPY api ./api
COPY workers ./workers
COPY fake_gateway ./fake_gateway
COPY cli.py ./

RUN useradd --system --no-create-home dispatcher
USER dispatcher

EXPOSE 8080
CMD ["gunicorn", "--config", "python:api.gunicorn_conf", "--bind", "0.0.0.0:8080", \
     "--workers", "2", "--threads", "8", "--worker-class", "gthread", "--access-logfile", "-", \
     "api:create_app()"]
