# Airflow 3.3 with steplineage installed from this repository.
# Build context: the repository root (see compose.yaml), e.g.
#   docker build -f docker/airflow.Dockerfile -t steplineage-airflow .
# The base image: the official Python image by default. Any Debian bookworm image
# whose `python` and `pip` (first on PATH) are a Python 3.11 the build may install
# into works too; tests/docker/ builds with one made from Debian's packages.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow

# A non-root user owning AIRFLOW_HOME and the data volume mount points.
RUN useradd --create-home --uid 50000 --home-dir /opt/airflow airflow \
 && mkdir -p /opt/airflow/dags /data \
 && chown -R airflow /opt/airflow /data

WORKDIR /opt/steplineage
# Only what the wheel needs: the package, its metadata and the pinned set.
COPY pyproject.toml README.md constraints.txt ./
COPY provider/ provider/
# The same pins as `make test`, so the image runs what CI tested. asyncpg (in the
# pinned set): Airflow 3 opens an async engine on its metadata database next to the
# sync one, with asyncpg for any postgresql:// URL; without it every component fails
# at start ("No module named 'asyncpg'"). psycopg is the catalog's driver.
RUN pip install -c constraints.txt '.[airflow,postgres]' asyncpg

USER airflow
WORKDIR /opt/airflow
EXPOSE 8080
CMD ["airflow", "version"]
