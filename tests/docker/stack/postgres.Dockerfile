# A stand-in for the official `postgres` image, for the compose test only: Debian's
# PostgreSQL on the harness's local base image (registry images cannot be pulled
# where the test runs). It keeps the official image's contract that
# docker/compose.yaml relies on: POSTGRES_USER/POSTGRES_PASSWORD, scripts in
# /docker-entrypoint-initdb.d run once on an empty data directory, data in
# /var/lib/postgresql/data, `pg_isready` on PATH, and PGPORT honoured.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}

# No cluster from the package's postinst: the entrypoint makes one in PGDATA.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
 && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/no-main.conf \
 && apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql /docker-entrypoint-initdb.d \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
 && chmod 700 /var/lib/postgresql/data \
 && ln -s /usr/lib/postgresql/*/bin/postgres /usr/lib/postgresql/*/bin/initdb \
          /usr/lib/postgresql/*/bin/pg_ctl /usr/local/bin/

COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PGDATA=/var/lib/postgresql/data
USER postgres
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
