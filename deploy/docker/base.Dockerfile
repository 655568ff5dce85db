# The stage every CivicGrid image starts from: Python 3.11 slim, the pinned runtime
# dependencies, an unprivileged user. Each service's Dockerfile says `FROM civicgrid-base`
# and adds only the code and the command, so the dependency layers are built once and
# shared by all five images (docker compose wires the stage in with additional_contexts).
# Alone:  docker build -f deploy/docker/base.Dockerfile -t civicgrid/base .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Only the pins: code changes never invalidate the dependency layer.
COPY requirements.txt .
RUN pip install -r requirements.txt \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /app --shell /usr/sbin/nologin civicgrid

# Code is copied in as root and stays read-only for the process.
USER 10001:10001
