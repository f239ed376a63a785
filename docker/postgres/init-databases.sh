#!/bin/bash
# Runs once, when the PostgreSQL volume is first initialised
# (/docker-entrypoint-initdb.d): one role and one database each for the
# steplineage catalog, Airflow's metadata and the Prefect server, so none can
# read or lock another's tables. Names and passwords come from docker/.env.
set -euo pipefail

create() {
  local user="$1" password="$2" db="$3"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
       -v user="$user" -v password="$password" -v db="$db" <<'SQL'
CREATE ROLE :"user" LOGIN PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"user";
SQL
}

create "$CATALOG_DB_USER" "$CATALOG_DB_PASSWORD" "$CATALOG_DB"
create "$AIRFLOW_DB_USER" "$AIRFLOW_DB_PASSWORD" "$AIRFLOW_DB"
create "$PREFECT_DB_USER" "$PREFECT_DB_PASSWORD" "$PREFECT_DB"
