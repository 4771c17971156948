#!/usr/bin/env bash
# Start a local PostgreSQL server for the `postgres`-marked tests.
#
# Idempotent; run as root on Debian 12. Installs PostgreSQL with apt-get when it
# is missing, starts the default cluster on 127.0.0.1:5432, and creates the role
# `credgate` (no password, trusted on loopback for its test database only) owning
# the database `credgate_test`. Tests then use
#   CREDGATE_TEST_PG_URL=postgresql+psycopg://credgate@127.0.0.1:5432/credgate_test
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
cluster=main

# The package creates the cluster on install; a machine where it was removed
# (or an image that skipped it) gets a new one.
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "${version} ${cluster}"; then
    pg_createcluster "${version}" "${cluster}" >/dev/null
fi

conf_dir="/etc/postgresql/${version}/${cluster}"
hba="${conf_dir}/pg_hba.conf"
# Trust exactly one role on one database over loopback; this line must precede
# the packaged `host all all 127.0.0.1/32 scram-sha-256` rule, hence the prepend.
rule="host    credgate_test    credgate    127.0.0.1/32    trust"
if ! grep -qxF "${rule}" "${hba}"; then
    { echo "${rule}"; cat "${hba}"; } > "${hba}.new"
    chown --reference="${hba}" "${hba}.new"
    chmod --reference="${hba}" "${hba}.new"
    mv "${hba}.new" "${hba}"
fi

if pg_lsclusters -h | awk -v v="${version}" -v c="${cluster}" '$1==v && $2==c {print $4}' | grep -qx online; then
    pg_ctlcluster "${version}" "${cluster}" reload >/dev/null
else
    pg_ctlcluster "${version}" "${cluster}" start >/dev/null
fi

# Wait for the server to accept connections (up to 30 s).
for _ in $(seq 1 60); do
    if runuser -u postgres -- pg_isready -q -h 127.0.0.1 -p 5432; then
        break
    fi
    sleep 0.5
done
runuser -u postgres -- pg_isready -q -h 127.0.0.1 -p 5432

psql_admin() {
    (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -tAc "$1")
}

if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'credgate'")" != "1" ]; then
    psql_admin "CREATE ROLE credgate LOGIN" >/dev/null
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = 'credgate_test'")" != "1" ]; then
    psql_admin "CREATE DATABASE credgate_test OWNER credgate" >/dev/null
fi
