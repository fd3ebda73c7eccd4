#!/usr/bin/env bash
# Start a throwaway MariaDB on 127.0.0.1 without systemd, for tests and CI.
#   tools/ci/mariadb-start.sh BASE PORT
# Prints the URL for BUILDMASTER_TEST_DB_URL. Stop it with tools/ci/mariadb-stop.sh BASE.
# The user `bmtest` may create and drop databases: each test makes its own schema.
set -euo pipefail
# On any failure, show what MariaDB said (the install and server logs), then fail.
trap 'rc=$?; echo "mariadb-start.sh failed (rc $rc); logs:" >&2; tail -n 30 "$BASE"/install-db.log "$BASE"/error.log "$BASE"/stdout.log >&2 2>/dev/null; exit $rc' ERR
BASE=${1:?usage: mariadb-start.sh BASE PORT}
PORT=${2:-3307}
mkdir -p "$BASE/data" "$BASE/run"
chown -R mysql:mysql "$BASE"
if [ ! -d "$BASE/data/mysql" ]; then
  mariadb-install-db --user=mysql --datadir="$BASE/data" \
    --auth-root-authentication-method=socket --skip-test-db > "$BASE/install-db.log" 2>&1
fi
/usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$BASE/data" \
  --socket="$BASE/run/mysqld.sock" --pid-file="$BASE/run/mysqld.pid" \
  --port="$PORT" --bind-address=127.0.0.1 --skip-name-resolve --log-error="$BASE/error.log" \
  --innodb-buffer-pool-size=128M --innodb-log-file-size=48M --skip-log-bin \
  --max-connections=500 > "$BASE/stdout.log" 2>&1 &
echo $! > "$BASE/mariadbd.launcher.pid"
ready=0
for _ in $(seq 1 300); do
  if mariadb-admin --no-defaults --socket="$BASE/run/mysqld.sock" -uroot ping >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
if [ "$ready" != 1 ]; then echo "MariaDB did not answer within 30 s" >&2; false; fi
mariadb --no-defaults --socket="$BASE/run/mysqld.sock" -uroot <<SQL
CREATE USER IF NOT EXISTS 'bmtest'@'127.0.0.1' IDENTIFIED BY 'bmtestpw';
GRANT ALL PRIVILEGES ON *.* TO 'bmtest'@'127.0.0.1';
CREATE DATABASE IF NOT EXISTS buildmaster;
FLUSH PRIVILEGES;
SQL
echo "mysql://bmtest:bmtestpw@127.0.0.1:$PORT/buildmaster"
