#!/bin/sh
# The stack's backups (compose service backup, in the stack-backups volume), taken by
# `make stack-up` before it upgrades the tracking database and put back by `make stack-restore`:
#   backup.sh save NAME MLFLOW_VERSION   /backups/NAME: the tracking database (pg_dump), the
#                                        auth store, the MLflow version that wrote them and
#                                        its server's requirements.txt (read from stdin)
#   backup.sh version|requirements NAME  those two
#   backup.sh list                       the backups' names, oldest first
#   backup.sh restore NAME               the database and auth store back as NAME holds them
# Artifacts stay where they are: no schema upgrade touches them. Each step writes aside and
# renames at the end, so a failure leaves the previous state whole.
set -eu
umask 077
[ -d /backups ] || { echo "backup.sh: no /backups (run it as compose service backup)" >&2; exit 1; }
command=${1:-}
name=${2:-}
dir=/backups/$name
auth=/mlflow/auth/basic_auth.db
need_backup() {
  [ -n "$name" ] && [ -f "$dir/mlflow.dump" ] || { echo "no backup named '$name' in the stack-backups volume" >&2; exit 1; }
}
connect() {  # the admin's password to libpq in a private password file, never in the environment
  passfile=$(mktemp)
  trap 'rm -f "$passfile"' EXIT
  printf '*:*:*:*:%s\n' "$(sed 's/[\\:]/\\&/g' /run/secrets/postgres_password)" > "$passfile"
  export PGPASSFILE="$passfile" PGHOST=postgres PGUSER="$POSTGRES_USER"
}
case $command in
save)
  [ -n "$name" ] && [ -n "${3:-}" ] || { echo "usage: backup.sh save NAME MLFLOW_VERSION" >&2; exit 2; }
  [ ! -e "$dir" ] || { echo "backup $name exists already" >&2; exit 1; }
  connect
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  pg_dump --dbname="$POSTGRES_DB" --format=custom --file="$dir.partial/mlflow.dump"
  if [ -f "$auth" ]; then cp -p "$auth" "$dir.partial/basic_auth.db"; fi
  printf '%s\n' "$3" > "$dir.partial/mlflow-version"
  cat > "$dir.partial/requirements.txt"
  mv "$dir.partial" "$dir"
  ;;
version)
  need_backup
  cat "$dir/mlflow-version"
  ;;
requirements)
  need_backup
  cat "$dir/requirements.txt"
  ;;
list)
  ls -1 /backups | grep -v '\.partial$' || true
  ;;
restore)
  need_backup
  connect
  # Into a database of its own first: the live one is replaced only once the restore is whole.
  aside="${POSTGRES_DB}_restoring"
  psql -q -d postgres -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" -v aside="$aside" <<'SQL'
SET client_min_messages = warning;
DROP DATABASE IF EXISTS :"aside";
CREATE DATABASE :"aside";
SQL
  pg_restore --dbname="$aside" --exit-on-error --single-transaction --no-owner "$dir/mlflow.dump"
  psql -q -d postgres -v ON_ERROR_STOP=1 -v db="$POSTGRES_DB" -v aside="$aside" <<'SQL'
DROP DATABASE IF EXISTS :"db" WITH (FORCE);
ALTER DATABASE :"aside" RENAME TO :"db";
SQL
  if [ -f "$dir/basic_auth.db" ]; then
    cp -p "$dir/basic_auth.db" "$auth.restoring" && mv "$auth.restoring" "$auth"
  fi
  ;;
*)
  sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
  exit 2
  ;;
esac
