#!/usr/bin/env bash
# A throwaway PostgreSQL server for the result-store tests, never the system's cluster.
#
#   tests/postgres_server.sh [start]   start one (or find the one already started) and print its SQLAlchemy URL
#   tests/postgres_server.sh url       print the URL of the running one (exit 1 if none runs)
#   tests/postgres_server.sh stop      stop it and delete its data
#
# `start` installs Debian's `postgresql` package when no PostgreSQL is found (apt-get, as root or with `sudo -n`;
# NAS_PG_INSTALL=0 forbids it), runs initdb into $NAS_PG_DIR/data (default /tmp/nas-test-postgres-$UID), starts
# the server on a free port of 127.0.0.1 (and a unix socket in $NAS_PG_DIR), creates the role `nas` (password
# `nas`, CREATEDB) and its database `nas_test`, and prints ONE line on stdout:
#   postgresql://nas:nas@127.0.0.1:PORT/nas_test
# Everything else goes to stderr. As root the server runs as the `postgres` user (initdb refuses root), otherwise
# as the current user. It trades durability for speed (fsync=off): it is for tests only.
# Exit status: 0 done, 3 no PostgreSQL here and none could be installed, anything else a failure.
set -euo pipefail

script="$(realpath "$0")"
dir="$(realpath -m "${NAS_PG_DIR:-/tmp/nas-test-postgres-$(id -u)}")"
role=nas password=nas database=nas_test
cd /  # the postgres user may not be able to enter the caller's folder

say() { echo "postgres_server.sh: $*" >&2; }

is_root() { [ "$(id -u)" = 0 ]; }

# Runs a command as the user that owns the server.
as_owner() {
    if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_bindir() {
    if [ -n "${PG_BINDIR:-}" ]; then
        [ -x "$PG_BINDIR/initdb" ] && echo "$PG_BINDIR" && return 0
        return 1
    fi
    local candidate
    # Debian keeps each major version's programs in /usr/lib/postgresql/N/bin; take the newest.
    while read -r candidate; do
        if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then echo "$candidate"; return 0; fi
    done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r)
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    return 1
}

install_postgres() {
    [ "${NAS_PG_INSTALL:-1}" != 0 ] || return 1
    command -v apt-get >/dev/null || return 1
    local sudo=()
    if ! is_root; then
        command -v sudo >/dev/null && sudo -n true 2>/dev/null || return 1
        sudo=(sudo -n)
    fi
    say "installing Debian's postgresql package (apt-get)"
    local log
    log="$(mktemp)"
    if ! { "${sudo[@]}" apt-get update -qq && \
           "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
               postgresql; } >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
}

# Whether the server started from $dir answers (pg_ctl status alone trusts a pid that may be a dead one's).
running() {
    [ -f "$dir/url" ] && [ -f "$dir/port" ] && [ -f "$dir/data/PG_VERSION" ] || return 1
    local bindir
    bindir="$(find_bindir)" || return 1
    as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 && answers "$bindir"
}

answers() {
    as_owner "$1/pg_isready" -q -h "$dir" -p "$(cat "$dir/port")" -t 5
}

free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    else
        echo $((20000 + RANDOM % 40000))
    fi
}

# Removes only what `start` writes, so a mistaken NAS_PG_DIR loses nothing else.
clean() {
    rm -rf "$dir/data" "$dir/server.log" "$dir/url" "$dir/port" "$dir/initdb.log" "$dir"/.s.PGSQL.*
}

start() {
    if running; then
        say "already running (data in $dir/data)"
        cat "$dir/url"
        return 0
    fi
    local bindir
    if ! bindir="$(find_bindir)"; then
        if ! install_postgres || ! bindir="$(find_bindir)"; then
            say "no PostgreSQL server programs (initdb, pg_ctl) here, and none could be installed" \
                "(needs apt-get as root or with sudo -n; set PG_BINDIR if they are elsewhere)"
            exit 3
        fi
    fi
    if is_root && ! id postgres >/dev/null 2>&1; then
        say "running as root but there is no 'postgres' user to run the server as"
        exit 1
    fi
    mkdir -p "$dir"
    clean
    if is_root; then chown postgres: "$dir"; fi
    chmod 700 "$dir"
    if ! as_owner test -w "$dir"; then
        say "the server's user cannot write $dir (is a folder above it closed to it?); set NAS_PG_DIR"
        exit 1
    fi
    # -N: no fsync of the new files; trust on the unix socket (the superuser), a password over TCP (role nas).
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 --no-locale -N \
        --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    rm -f "$dir/initdb.log"
    local port="" attempt
    for attempt in 1 2 3 4 5; do
        port="$(free_port)"
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
                -o "-p $port -h 127.0.0.1 -k '$dir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
                start >/dev/null; then
            break
        fi
        say "could not start on port $port (attempt $attempt); server log:"
        tail -n 5 "$dir/server.log" >&2 || true
        port=""
    done
    if [ -z "$port" ]; then
        exit 1
    fi
    local psql=(as_owner "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres)
    "${psql[@]}" -c "CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password'" >&2
    "${psql[@]}" -c "CREATE DATABASE $database OWNER $role" >&2
    local url="postgresql://$role:$password@127.0.0.1:$port/$database"
    echo "$port" >"$dir/port"
    echo "$url" >"$dir/url"
    say "PostgreSQL $(cat "$dir/data/PG_VERSION") on 127.0.0.1:$port, data in $dir/data, log $dir/server.log;" \
        "stop it with: NAS_PG_DIR=$dir $script stop"
    echo "$url"
}

stop() {
    if [ ! -d "$dir" ]; then
        return 0
    fi
    local bindir
    if [ -f "$dir/data/PG_VERSION" ] && bindir="$(find_bindir)" && \
            as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        if [ -f "$dir/port" ] && ! answers "$bindir"; then
            say "the server in $dir does not answer (killed?); removing its files"
        elif ! as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null; then
            say "could not stop the server in $dir/data; its files are kept (log: $dir/server.log)"
            exit 1
        fi
    fi
    clean
    if rmdir "$dir" 2>/dev/null; then say "stopped; $dir removed"; else say "stopped; $dir kept (not empty)"; fi
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    url)
        running || { say "no server running from $dir"; exit 1; }
        cat "$dir/url"
        ;;
    *)
        echo "usage: $0 [start|url|stop]" >&2
        exit 2
        ;;
esac
