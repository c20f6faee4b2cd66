#!/usr/bin/env bash
# test_catalog_pg.sh: the same catalog tests on the PostgreSQL store
# (docs/catalog-postgres.md). Starts a throwaway PostgreSQL, then runs
#   - the catalog unit suites (versions, gc, and the catalog parts of table,
#     maint, refs, evolve) with FLOE_TEST_CATALOG_URL: each test's catalog
#     in a schema of its own;
#   - the branch workflow, test_catalog_branches.sh, with FLOE_CATALOG_URL;
#   - the Iceberg REST tests (Python and iceberg-js) against
#     `floe serve --catalog-url`;
# each in a database of its own, and checks the commits landed there.
# The two-node test is test_catalog_pg_nodes.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
UNIT_BIN=${UNIT_BIN:-$E2E_BUILD_DIR/asan/unit-tests}

# commits_in URL: the number of catalog commits in that database (all schemas).
commits_in() {
    "$PG_BIN/psql" -qtA "$1" -c "SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM commits) c" 2>/dev/null ||
        echo 0
}

section "a temporary PostgreSQL"
pg_start || e2e_finish
ok "PostgreSQL on port $PG_PORT"

section "catalog unit suites on PostgreSQL"
if [ ! -x "$UNIT_BIN" ]; then
    fail "unit test binary $UNIT_BIN does not exist (run 'make asan')"
else
    url=$(pg_createdb unit)
    for suite in versions gc nessie group_commit meta_cache table maint refs evolve; do
        out=$(FLOE_TEST_CATALOG_URL=$url "$UNIT_BIN" --filter "$suite/*" --jobs 2 2>&1)
        rc=$?
        syn=$(grep 'Synthesis' <<<"$out" | tail -1 | sed 's/.*Synthesis: //')
        if [ $rc -eq 0 ] && [[ "$syn" == *"Failing: 0 | Crashing: 0"* ]]; then
            ok "unit suite $suite on PostgreSQL: $syn"
        else
            fail "unit suite $suite on PostgreSQL (exit $rc): $syn"
            grep -v '^20[0-9][0-9]-' <<<"$out" | tail -25 | sed 's/^/       /'
        fi
    done
    n=$("$PG_BIN/psql" -qtA "$url" -c "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 't\_%'")
    assert_ne "the unit tests made their catalogs in PostgreSQL" "0" "$n"
fi

# run_with_catalog NAME CMD...: runs an e2e test with its catalog in a fresh
# database NAME (the CLI through FLOE_CATALOG_URL, servers through
# E2E_CATALOG_URL), and checks that it passed and committed there.
run_with_catalog() {
    local name=$1
    shift
    local url log rc
    url=$(pg_createdb "$name")
    log=$E2E_TMP/$name.log
    (cd "$HERE" && FLOE_CATALOG_URL=$url E2E_CATALOG_URL=$url timeout 240 "$@") >"$log" 2>&1 </dev/null
    rc=$?
    if [ $rc -eq 0 ]; then
        ok "$* on PostgreSQL: $(tail -1 "$log")"
    else
        fail "$* on PostgreSQL (exit $rc); the end of its output:"
        tail -30 "$log" | sed 's/^/       /'
    fi
    local n
    n=$(commits_in "$url")
    assert_ne "$name: the commits are in PostgreSQL" "0" "$n"
}

section "the branch workflow with FLOE_CATALOG_URL"
run_with_catalog branches bash test_catalog_branches.sh

section "the Iceberg REST tests against floe serve --catalog-url"
run_with_catalog rest_py python3 test_iceberg_rest.py
run_with_catalog nessie python3 test_nessie.py
if [ -d "$HERE/node_modules" ]; then
    run_with_catalog rest_js node test_iceberg_rest.mjs
else
    fail "tests/e2e/node_modules is missing; run 'make deps'"
fi

e2e_finish
