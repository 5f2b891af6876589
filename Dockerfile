# microcred: slim Python, pinned dependencies, non-root, migrations on start, health check.
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MICROCRED_ENV=production \
    MICROCRED_DATABASE_URL=sqlite+aiosqlite:////var/lib/microcred/microcred.db \
    PORT=8000

WORKDIR /srv/microcred

# Dependencies first (cached layer), exactly the versions CI tested.
COPY requirements.lock ./
RUN python -m pip install -r requirements.lock

# The application runs from its source tree: contexts/, migrations/ and alembic.ini sit beside app/.
COPY pyproject.toml alembic.ini README.md ./
COPY app ./app
COPY migrations ./migrations
COPY contexts ./contexts

RUN useradd --system --uid 10001 --home-dir /srv/microcred microcred \
    && mkdir -p /var/lib/microcred \
    && chown microcred /var/lib/microcred
USER microcred

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import os,urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=2)" || exit 1

# `serve` applies the migrations, then serves; every setting comes from MICROCRED_* variables.
CMD ["sh", "-c", "exec python -m app.cli serve --host 0.0.0.0 --port ${PORT} --workers ${WORKERS:-2}"]
