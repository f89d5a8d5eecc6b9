# One image for every ShareHub service (Airflow components, simulators, data API).
# Build: docker compose build   (see docker-compose.yml and .env.example)
# $HUB_HOME/quality (the GX project and Data Docs) is created here owned by the airflow user, so
# the shared named volume compose mounts there starts with that owner.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    AIRFLOW_HOME=/opt/airflow \
    HUB_HOME=/opt/sharehub/.hub

RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 50000 --gid 0 --home-dir /opt/airflow --create-home airflow

WORKDIR /opt/sharehub
COPY requirements.txt constraints.txt ./
COPY ops/requirements-celery.txt ops/requirements-celery.txt
# Only the runtime part of requirements.txt: its "development and tests" block (pytest, ruff, the
# Compose binary that validates this deployment, ...) stays out of the image.
RUN sed '/^# development and tests/,$d' requirements.txt > /tmp/requirements-runtime.txt \
    && pip install -r /tmp/requirements-runtime.txt -c constraints.txt \
    && pip install --no-deps -r ops/requirements-celery.txt

COPY pyproject.toml README.md ./
COPY hub hub
COPY connectors connectors
COPY schemas schemas
COPY quality quality
COPY simulators simulators
# demo and test tooling: the simulators' sim-init service runs `python -m devkit simulate provision`
COPY devkit devkit
COPY dags dags
COPY plugins plugins
RUN pip install --no-deps -e . \
    && mkdir -p "$HUB_HOME/quality" /opt/airflow/logs \
    && chown -R 50000:0 /opt/sharehub /opt/airflow

USER 50000
ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/sharehub/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/sharehub/plugins
CMD ["airflow", "version"]
