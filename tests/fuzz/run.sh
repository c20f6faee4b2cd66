#!/usr/bin/env bash
# tests/fuzz/run.sh: runs every libFuzzer harness for a while and reports.
#
# For each $BUILD/fuzz/fuzz_<name> binary (BUILD defaults to build), copies the
# seed corpus tests/fuzz/corpus/<name>/ into $BUILD/fuzz-corpus/<name>/ (so new
# inputs the fuzzer finds never dirty the repository, and later runs start from
# them), then fuzzes for $FUZZ_SECONDS seconds (default 10). A crash, leak,
# sanitizer report or timeout fails the harness; its input is kept under
# $BUILD/fuzz-artifacts/<name>/ and the end of its log is printed.
#
# The last line is "fuzz: N passed, M failed"; the exit status is 1 when any
# harness failed. Run from anywhere: paths are taken from the repository root.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}

passed=0
failed=0
found=0
for bin in "$BUILD"/fuzz/fuzz_*; do
    # the build leaves fuzz_x.d and the like beside the binaries
    case "$(basename "$bin")" in *.*) continue ;; esac
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    found=$((found + 1))
    harness=$(basename "$bin")
    name=${harness#fuzz_}
    corpus="$BUILD/fuzz-corpus/$name"
    artifacts="$BUILD/fuzz-artifacts/$name"
    log="$BUILD/fuzz-logs/$name.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    if [ -d "tests/fuzz/corpus/$name" ]; then
        cp -R "tests/fuzz/corpus/$name/." "$corpus/"
    else
        echo "fuzz: $harness has no seed corpus (tests/fuzz/corpus/$name/); starting empty" >&2
    fi
    echo "fuzz: $harness for ${FUZZ_SECONDS}s on $corpus" >&2
    if "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=25 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" >"$log" 2>&1; then
        passed=$((passed + 1))
        grep -E '^stat::number_of_executed_units' "$log" | sed "s/^/fuzz: $harness /" >&2
    else
        failed=$((failed + 1))
        echo "fuzz: $harness FAILED; the end of $log:" >&2
        tail -n 40 "$log" >&2
        echo "fuzz: inputs that failed are in $artifacts/" >&2
    fi
done

if [ "$found" -eq 0 ]; then
    echo "fuzz: no harnesses in $BUILD/fuzz/ (build them with make fuzz-short)" >&2
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
