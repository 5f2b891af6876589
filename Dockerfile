# microcred: the built wheel on slim Python, pinned dependencies, non-root, data in a volume.
# Not built on the development machines (they have no container engine).

# 1. Build the wheel (contexts, migrations and EDC data are package data inside it).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN python -m pip wheel --no-deps --wheel-dir /wheels .

# 2. Install it with exactly the dependency versions CI tested.
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MICROCRED_ENV=production \
    MICROCRED_DATA_DIR=/var/lib/microcred \
    PORT=8000

COPY requirements.lock /tmp/requirements.lock
RUN python -m pip install -r /tmp/requirements.lock
COPY --from=build /wheels /tmp/wheels
# --no-deps: the dependencies are the pinned ones above; `microcred` lands in /usr/local/bin.
RUN python -m pip install --no-deps /tmp/wheels/microcred-*.whl && rm -rf /tmp/wheels /tmp/requirements.lock

RUN useradd --system --uid 10001 --home-dir /var/lib/microcred microcred \
    && mkdir -p /var/lib/microcred \
    && chown microcred /var/lib/microcred
USER microcred
# The embedded SQLite database (when MICROCRED_DATABASE_URL is not set) lives here.
VOLUME ["/var/lib/microcred"]
WORKDIR /var/lib/microcred

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=2)" || exit 1

# `serve` applies the migrations, then serves; every setting comes from MICROCRED_* variables.
CMD ["sh", "-c", "exec microcred serve --host 0.0.0.0 --port ${PORT} --workers ${WORKERS:-2}"]
