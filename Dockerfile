# Declare-Once Hub: a slim image that runs `declare-once serve` as a non-root user.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY connectors ./connectors
COPY dictionary ./dictionary
RUN python -m venv /opt/hub && /opt/hub/bin/pip install --upgrade pip && /opt/hub/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/hub/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HUB_HOST=0.0.0.0 \
    HUB_PORT=8000 \
    HUB_DATA_DIR=/var/lib/hub \
    HUB_DATABASE_URL=sqlite+aiosqlite:////var/lib/hub/hub.db \
    HUB_MIGRATIONS_DIR=/opt/hub-migrations
RUN groupadd --system hub && useradd --system --gid hub --home-dir /var/lib/hub hub \
    && mkdir -p /var/lib/hub && chown hub:hub /var/lib/hub
COPY --from=build /opt/hub /opt/hub
COPY migrations /opt/hub-migrations
USER hub
WORKDIR /var/lib/hub
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HUB_PORT', '8000'), timeout=2)"]
# Migrate, then serve. On PostgreSQL set HUB_DATABASE_URL=postgresql+asyncpg://...
CMD ["sh", "-c", "declare-once db upgrade && exec declare-once serve"]
