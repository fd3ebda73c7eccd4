#!/usr/bin/env bash
# Stop the MariaDB that mariadb-start.sh started in BASE, by its PID (never by name).
set -u
BASE=${1:?usage: mariadb-stop.sh BASE}
PID=$(cat "$BASE/run/mysqld.pid" 2>/dev/null || cat "$BASE/mariadbd.launcher.pid" 2>/dev/null || true)
[ -n "$PID" ] || exit 0
kill "$PID" 2>/dev/null || exit 0
for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || exit 0; sleep 0.1; done
kill -9 "$PID" 2>/dev/null || true
