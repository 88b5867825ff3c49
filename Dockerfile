# Fixtrail's image: `fixtrail run` (one container, SQLite in /data), or
# `fixtrail web` and `fixtrail worker` as separate containers against
# PostgreSQL and Redis. See deploy/kubernetes/ for a cluster.

FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/fixtrail
COPY pyproject.toml README.md ./
COPY fixtrail ./fixtrail
RUN /opt/fixtrail/bin/pip install --no-cache-dir ".[s3]"

FROM python:3.11-slim-bookworm
# git reads commits of linked repositories that are plain git URLs.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin fixtrail \
    && mkdir -p /data \
    && chown fixtrail /data
COPY --from=build /opt/fixtrail /opt/fixtrail
ENV PATH=/opt/fixtrail/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FIXTRAIL_DATA_DIR=/data
USER 10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/_health', timeout=4)"]
ENTRYPOINT ["fixtrail"]
CMD ["run", "--host", "0.0.0.0"]
