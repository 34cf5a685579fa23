# cohort-service: the scheduler daemon (`cohort-service serve`) in a small image.
#
#   docker compose up -d            (see docker-compose.yml and README → Deploying)
#
# Build stage: the same install as README's Quick start and .ci/run (`pip install` of this project
# into a fresh venv), non-editable here; Alembic's migrations ship inside the package.
FROM python:3.11-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY cohort_service ./cohort_service
COPY migrations ./migrations
RUN python3 -m venv /opt/venv && . /opt/venv/bin/activate && pip install -q .

# Runtime stage: the venv only, a non-root user, config and data as volumes.
FROM python:3.11-slim

RUN groupadd --system --gid 10001 cohort \
    && useradd --system --uid 10001 --gid cohort --home-dir /data --shell /usr/sbin/nologin cohort \
    && mkdir -p /data /config \
    && chown cohort:cohort /data

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    COHORT_CONFIG=/config/config.toml \
    COHORT_DATA_DIR=/data

# Relative paths in the config (report.out_dir = "reports") land in the data volume.
WORKDIR /data
USER cohort
VOLUME ["/data"]

ENTRYPOINT ["cohort-service"]
CMD ["serve"]
