# The suppressor image: one Python package, three services (`suppressor worker`, `suppressor api`,
# `suppressor mail serve`).
# Build stage makes wheels (a compiler is there for any dependency without one for this
# platform); the runtime stage installs only those wheels and runs as an unprivileged user.
FROM python:3.11-slim-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY clients/python ./clients/python
COPY workers ./workers
# the sender library first: the worker depends on it (suppressor-client, clients/python)
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels ./clients/python \
 && pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels --find-links /wheels .

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SUPPRESSOR_DATA_DIR=/data/worker
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels suppressor \
 && rm -rf /wheels \
 && useradd --system --uid 10001 --home-dir /data --create-home suppressor \
 && mkdir -p /data/worker && chown -R suppressor /data
USER suppressor
WORKDIR /data
# 9464: the worker's Prometheus /metrics; 8080: the HTTP API; 2525 and 9465: the bounce SMTP
# server and its /metrics.
EXPOSE 9464 8080 2525 9465
CMD ["suppressor", "worker"]
