# The desk daemon: the engine headless, JSON logs on stdout, metrics on :9108.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md alembic.ini ./
COPY engine engine
COPY alphapt_tui alphapt_tui
COPY screens screens
COPY migrations migrations
# The ledger looks for migrations/ beside the installed packages (engine/ledger/migrate.py);
# they are not package data yet, so put them there.
RUN pip install . \
    && cp -r migrations "$(python -c 'import engine, pathlib; print(pathlib.Path(engine.__file__).parents[1])')/" \
    && useradd --create-home --uid 10001 alphapt \
    && mkdir -p /data \
    && chown alphapt /data

USER alphapt
WORKDIR /home/alphapt
ENV ALPHAPT_DATA_DIR=/data \
    ALPHAPT_METRICS__HOST=0.0.0.0 \
    ALPHAPT_METRICS__PORT=9108
EXPOSE 9108
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=2)"
CMD ["alphapt-tui", "--no-ui"]
