#!/bin/sh
# The prediction log's database and role (compose service prediction-store, at every start):
# created when missing, the role's password set to .env's (a changed .env just works). Both
# passwords come from secret files: the admin's to libpq in a private password file, the
# role's inside the SQL on psql's input, never on a command line or in the environment.
set -eu
umask 077
if [ ! -s /run/secrets/prediction_log_password ]; then
  echo "PREDICTION_LOG_PASSWORD is empty in .env: give it a value (make env generates one)" >&2
  exit 1
fi
passfile=$(mktemp)
trap 'rm -f "$passfile"' EXIT
printf '*:*:*:*:%s\n' "$(sed 's/[\\:]/\\&/g' /run/secrets/postgres_password)" > "$passfile"
password=$(sed "s/'/''/g" /run/secrets/prediction_log_password)
PGPASSFILE=$passfile psql -q -h postgres -U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 <<SQL
SELECT 'CREATE ROLE predictions LOGIN' WHERE NOT EXISTS
  (SELECT FROM pg_roles WHERE rolname = 'predictions')\gexec
ALTER ROLE predictions WITH LOGIN PASSWORD '$password';
SELECT 'CREATE DATABASE predictions OWNER predictions' WHERE NOT EXISTS
  (SELECT FROM pg_database WHERE datname = 'predictions')\gexec
SQL
