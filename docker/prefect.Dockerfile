# Prefect 3.7 server and worker with steplineage installed from this repository.
# Build context: the repository root (see compose.yaml), e.g.
#   docker build -f docker/prefect.Dockerfile -t steplineage-prefect .
# The base image: the official Python image by default. Any Debian bookworm image
# whose `python` and `pip` (first on PATH) are a Python 3.11 the build may install
# into works too; tests/docker/ builds with one made from Debian's packages.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFECT_HOME=/opt/prefect \
    PREFECT_UI_STATIC_DIRECTORY=/opt/prefect/ui

# The same uid as the Airflow image: both write the shared lineage-data volume.
RUN useradd --create-home --uid 50000 --home-dir /opt/prefect prefect \
 && mkdir -p /opt/prefect/flows /data \
 && chown -R prefect /opt/prefect /data

WORKDIR /opt/steplineage
COPY pyproject.toml README.md constraints.txt ./
COPY provider/ provider/
# asyncpg (in the pinned set) is Prefect's PostgreSQL driver; psycopg is the catalog's.
RUN pip install -c constraints.txt '.[prefect,postgres]' asyncpg
# Registers the work pool and the example deployments (the `prefect-deploy` service).
COPY docker/prefect/deploy.py /opt/steplineage/deploy.py

# The server copies its UI into PREFECT_UI_STATIC_DIRECTORY at start (to set the API
# URL in it); site-packages is root's, so without a directory of prefect's own the
# server runs without its UI ("Failed to create V1 UI static directory").
USER prefect
WORKDIR /opt/prefect
EXPOSE 4200
CMD ["prefect", "version"]
