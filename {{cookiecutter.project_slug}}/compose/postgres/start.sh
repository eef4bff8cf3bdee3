#!/bin/sh
# Postgres with its password from a file (/run/secrets/postgres_password), never from
# the container's configured environment. The image's entrypoint gets the password
# only to initialise an empty volume, and forget-password.sh drops it again before
# the server starts, so no running process holds it. Works with the official image
# and with images whose entrypoint has no POSTGRES_PASSWORD_FILE support.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  POSTGRES_PASSWORD=$(cat /run/secrets/postgres_password)
  export POSTGRES_PASSWORD
fi
exec docker-entrypoint.sh "$@"
