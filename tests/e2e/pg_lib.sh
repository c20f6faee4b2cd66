# pg_lib.sh: a throwaway PostgreSQL server for the tests of the catalog's
# PostgreSQL store. Source it after lib.sh.
#
#   pg_start           initdb into a temp dir, start on a free port on
#                      127.0.0.1 (fsync off), stop and remove it at exit.
#                      Sets PG_URL (postgres://floe@127.0.0.1:PORT) and PG_PORT.
#   pg_createdb NAME   a fresh database; prints its URL
#
# PostgreSQL refuses to run as root: as root the server runs as nobody.
# Needs Debian's postgresql package (make deps installs it).

PG_BIN=""
PG_DIR=""
PG_AS=()

pg_find_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            PG_BIN=$d
            return 0
        fi
    done
    command -v initdb >/dev/null 2>&1 && PG_BIN=$(dirname "$(command -v initdb)") && return 0
    return 1
}

pg_stop() {
    [ -n "$PG_DIR" ] || return 0
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$PG_DIR"
    PG_DIR=""
}

pg_start() {
    if ! pg_find_bin; then
        fail "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); run 'make deps'"
        return 1
    fi
    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/floe-pg.XXXXXX")
    if [ "$(id -u)" = 0 ]; then
        chown nobody "$PG_DIR"
        PG_AS=(runuser -u nobody --)
    fi
    e2e_at_exit pg_stop
    if ! "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U floe --auth=trust -E UTF8 --no-sync \
        >"$PG_DIR/initdb.log" 2>&1; then
        fail "initdb failed:"
        sed 's/^/       /' "$PG_DIR/initdb.log"
        return 1
    fi
    local attempt
    for attempt in 1 2 3; do
        PG_PORT=$(free_ports 1)
        if "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
            -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
            start >/dev/null 2>&1; then
            PG_URL=postgres://floe@127.0.0.1:$PG_PORT
            return 0
        fi
    done
    fail "PostgreSQL did not start; log:"
    tail -20 "$PG_DIR/server.log" | sed 's/^/       /'
    return 1
}

pg_createdb() {
    "$PG_BIN/psql" -q -v ON_ERROR_STOP=1 "$PG_URL/postgres" -c "CREATE DATABASE \"$1\"" >/dev/null || return 1
    echo "$PG_URL/$1"
}
