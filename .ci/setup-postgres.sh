# PostgreSQL for the gate's storage tests: one throwaway cluster in a
# temporary directory on a free loopback port, owned by the `postgres` user
# (the server refuses to run as root), trust authentication on loopback
# only. The tests create one database per test on it and drop it afterwards.
# Exports SHIPGATE_TEST_POSTGRES (the admin URL), SHIPGATE_TEST_PG_DATA and
# SHIPGATE_TEST_PG_BIN (the tests that stop and restart the server use them).
# Sourced by .ci/run (bash, set -euo pipefail, as root).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        postgresql >/dev/null
fi
SHIPGATE_TEST_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_root=$(mktemp -d "${TMPDIR:-/tmp}/shipgate-pg.XXXXXX")
chmod 0755 "$pg_root"
chown postgres: "$pg_root"
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_root runuser -u postgres -- "$SHIPGATE_TEST_PG_BIN/initdb" -D "$pg_root/data" \
    --auth=trust --username=postgres --encoding=UTF8 >/dev/null
# Durable as in production (fsync, synchronous_commit), room for three
# replicas' pools and the tests running in parallel; WAL kept small (the
# default keeps up to 1 GB of it on disk, for nothing in a test cluster).
as_root runuser -u postgres -- "$SHIPGATE_TEST_PG_BIN/pg_ctl" -D "$pg_root/data" -w \
    -l "$pg_root/server.log" \
    -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$pg_root -c fsync=on -c synchronous_commit=on -c max_connections=400 -c max_wal_size=256MB -c min_wal_size=64MB" \
    start >/dev/null
cleanup_steps+=("as_root runuser -u postgres -- '$SHIPGATE_TEST_PG_BIN/pg_ctl' -D '$pg_root/data' -m fast stop >/dev/null 2>&1; as_root rm -rf '$pg_root'")
export SHIPGATE_TEST_PG_BIN
export SHIPGATE_TEST_PG_DATA="$pg_root/data"
export SHIPGATE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "PostgreSQL $("$SHIPGATE_TEST_PG_BIN/postgres" --version | awk '{print $3}') on port $pg_port"
