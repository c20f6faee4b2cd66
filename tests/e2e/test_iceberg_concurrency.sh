#!/usr/bin/env bash
# test_iceberg_concurrency.sh: many `floe table` processes committing to one
# table at once, beside a running `floe serve` on the same data dir.
#
# 1. 4 processes x 100 appends, each append a small .jsonl file of 3 rows with
#    unique keys: every append exits 0, the table then has exactly 400 append
#    snapshots (the ones the CLIs printed, on one line of history), and every
#    key is there exactly once.
# 2. Rounds of 6 processes running `overwrite --filter "p = 'hot'"` at once,
#    each with its own rows: each either succeeds (exit 0) or fails cleanly
#    (exit 3, "conflict"); the partition then holds exactly the rows of the
#    last successful overwrite, no key twice, and the other partitions are
#    untouched.
#
# Every process is $FLOE_BIN (the ASan binary by default): the 400 appends
# take about 60 s with it on 2 busy cores (15 s with the release binary),
# the whole test about 90 s. E2E_APPEND_BIN=path runs the append loop with
# another binary.
. "$(dirname "$0")/lib.sh"

D=$E2E_TMP/conc
mkdir -p "$D/in"
APPEND_BIN=${E2E_APPEND_BIN:-$FLOE_BIN}
F() { "$FLOE_BIN" "$@" --data "$D/data"; }
FA() { "$APPEND_BIN" "$@" --data "$D/data"; }
WRITERS=4
APPENDS=100
ROWS=3

# the append files: writer w, append i, row r has id w*100000 + i*10 + r
python3 - "$D/in" "$WRITERS" "$APPENDS" "$ROWS" <<'PY'
import json, os, sys
d, W, N, R = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for w in range(1, W + 1):
    for i in range(N):
        with open(os.path.join(d, "a.%d.%d.jsonl" % (w, i)), "w") as f:
            for r in range(R):
                f.write(json.dumps({"id": w * 100000 + i * 10 + r, "p": "w%d" % w, "w": w, "v": i}) + "\n")
PY

section "setup"
floe_start "$D/data" || e2e_finish
assert_ok "namespace create" F namespace create conc
assert_ok "table create" F table create conc.t --schema "id long not null, p string, w int, v long" \
    --partition "p" --property commit.retry.num-retries=1000 \
    --property commit.retry.min-wait-ms=1 --property commit.retry.max-wait-ms=50
say "  (appends run $APPEND_BIN)"

section "$WRITERS processes x $APPENDS appends"
t0=$SECONDS
pids=()
for w in $(seq 1 $WRITERS); do
    (
        for i in $(seq 0 $((APPENDS - 1))); do
            if out=$(FA table append conc.t "$D/in/a.$w.$i.jsonl" 2>&1); then
                printf '%s\n' "$out" >>"$D/ok.$w"
            else
                printf 'append %d.%d exited %d: %s\n' "$w" "$i" $? "$out" >>"$D/err.$w"
            fi
        done
    ) &
    pids+=($!)
done
wait "${pids[@]}"
say "  ($((WRITERS * APPENDS)) appends took $((SECONDS - t0)) s)"
errs=$(cat "$D"/err.* 2>/dev/null || true)
assert_eq "every append exited 0" "" "$(printf '%s' "$errs" | head -5)"
acked=$(cat "$D"/ok.* 2>/dev/null | grep -oE 'snapshot [0-9]+' | awk '{print $2}' | sort)
assert_eq "every append printed its snapshot" $((WRITERS * APPENDS)) "$(printf '%s\n' "$acked" | grep -c .)"
printf '%s\n' "$acked" >"$D/acked"

F table snapshots conc.t --format json >"$D/snaps.json"
F table scan conc.t --format json --columns id,p,w,v >"$D/rows.json"
res=$(python3 - "$D/snaps.json" "$D/rows.json" "$D/acked" "$WRITERS" "$APPENDS" "$ROWS" <<'PY'
import json, sys
snaps = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
acked = set(int(x) for x in open(sys.argv[3]).read().split())
W, N, R = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
out = []
appends = [s for s in snaps if s["operation"] == "append"]
out.append("append snapshots: %d" % len(appends))
out.append("other snapshots: %d" % (len(snaps) - len(appends)))
out.append("acked = table's appends: %s" % (acked == set(s["snapshot_id"] for s in appends)))
# one line of history: each snapshot's parent is the one before it
by_id = {s["snapshot_id"]: s for s in snaps}
heads = [s for s in snaps if s["parent_id"] is None]
children = {}
for s in snaps:
    if s["parent_id"] is not None:
        children.setdefault(s["parent_id"], []).append(s["snapshot_id"])
linear = len(heads) == 1 and all(len(c) == 1 for c in children.values()) and \
    all(s["parent_id"] is None or s["parent_id"] in by_id for s in snaps)
out.append("linear history: %s" % linear)
seqs = sorted(s["sequence_number"] for s in snaps)
out.append("sequence numbers 1..n: %s" % (seqs == list(range(1, len(snaps) + 1))))
out.append("added-records sum: %d" % sum(int(s["summary"].get("added-records", 0)) for s in appends))
last = max(snaps, key=lambda s: s["sequence_number"])
out.append("total-records: %s" % last["summary"].get("total-records"))
ids = [r["id"] for r in rows]
want = set(w * 100000 + i * 10 + r for w in range(1, W + 1) for i in range(N) for r in range(R))
out.append("rows: %d" % len(rows))
out.append("ids twice: %d" % (len(ids) - len(set(ids))))
out.append("missing ids: %d" % len(want - set(ids)))
out.append("unexpected ids: %d" % len(set(ids) - want))
bad = [r for r in rows if r["p"] != "w%d" % r["w"] or r["id"] // 100000 != r["w"] or r["id"] % 100000 // 10 != r["v"]]
out.append("rows with wrong values: %d" % len(bad))
print("\n".join(out))
PY
)
total=$((WRITERS * APPENDS))
assert_contains "exactly $total append snapshots" "$res" "append snapshots: $total"
assert_contains "no other snapshots" "$res" "other snapshots: 0"
assert_contains "the acknowledged snapshots are the table's appends" "$res" "acked = table's appends: True"
assert_contains "one line of history" "$res" "linear history: True"
assert_contains "sequence numbers 1..$total" "$res" "sequence numbers 1..n: True"
assert_contains "added-records add up" "$res" "added-records sum: $((total * ROWS))"
assert_contains "total-records of the head" "$res" "total-records: $((total * ROWS))"
assert_contains "every row is scanned" "$res" "rows: $((total * ROWS))"
assert_contains "no id twice" "$res" "ids twice: 0"
assert_contains "no id missing" "$res" "missing ids: 0"
assert_contains "no stray id" "$res" "unexpected ids: 0"
assert_contains "every row's values" "$res" "rows with wrong values: 0"

section "conflicting overwrites of one partition"
python3 - "$D/in" <<'PY'
import json, os, sys
d = sys.argv[1]
with open(os.path.join(d, "hot.0.jsonl"), "w") as f:
    for r in range(10):
        f.write(json.dumps({"id": 900000 + r, "p": "hot", "w": 0, "v": r}) + "\n")
for round_ in range(1, 6):
    for k in range(1, 7):
        with open(os.path.join(d, "hot.%d.%d.jsonl" % (round_, k)), "w") as f:
            for r in range(4 + k):  # a row count that names the writer
                f.write(json.dumps({"id": 1000000 + round_ * 1000 + k * 100 + r, "p": "hot", "w": k, "v": round_}) + "\n")
PY
assert_ok "a hot partition" F table append conc.t "$D/in/hot.0.jsonl"
successes=0
conflicts=0
for round in 1 2 3 4 5; do
    before=$(F table snapshots conc.t --format csv | tail -n +2 | wc -l)
    pids=()
    for k in 1 2 3 4 5 6; do
        (
            rc=0
            out=$(F table overwrite conc.t "$D/in/hot.$round.$k.jsonl" --filter "p = 'hot'" 2>&1) || rc=$?
            printf '%s\n' "$rc" >"$D/ow.$round.$k.rc"
            printf '%s\n' "$out" >"$D/ow.$round.$k.out"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    ok_k=()
    bad=""
    for k in 1 2 3 4 5 6; do
        rc=$(cat "$D/ow.$round.$k.rc")
        if [ "$rc" = 0 ]; then
            ok_k+=("$k")
        elif [ "$rc" = 3 ] && grep -q conflict "$D/ow.$round.$k.out"; then
            conflicts=$((conflicts + 1))
        else
            bad+="writer $k: exit $rc: $(head -3 "$D/ow.$round.$k.out")"$'\n'
        fi
    done
    successes=$((successes + ${#ok_k[@]}))
    assert_eq "round $round: each overwrite succeeded or failed with exit 3 and a conflict" "" "$bad"
    assert_ne "round $round: at least one overwrite succeeded" 0 "${#ok_k[@]}"
    after=$(F table snapshots conc.t --format csv | tail -n +2 | wc -l)
    assert_eq "round $round: one snapshot per successful overwrite (${#ok_k[@]})" $((before + ${#ok_k[@]})) "$after"
    # the winner: the successful writer whose snapshot is the table's head
    head=$(F table describe conc.t | awk '/^snapshot/{print $2}')
    winner=""
    for k in "${ok_k[@]}"; do
        grep -q "snapshot $head:" "$D/ow.$round.$k.out" && winner=$k
    done
    assert_ne "round $round: the head is one of the successful overwrites" "" "$winner"
    [ -n "$winner" ] || continue
    got=$(F table scan conc.t --filter "p = 'hot'" --columns id --format csv | tail -n +2 | sort -n)
    want=$(python3 -c "import json,sys; print('\n'.join(sorted((str(json.loads(l)['id']) for l in open(sys.argv[1])), key=int)))" \
        "$D/in/hot.$round.$winner.jsonl")
    assert_eq "round $round: the partition holds exactly writer $winner's rows" "$want" "$got"
    others=$(F table scan conc.t --filter "p <> 'hot'" --columns id --format csv | tail -n +2 | sort -u | wc -l)
    assert_eq "round $round: the other partitions are untouched" $((total * ROWS)) "$others"
done
say "  ($successes overwrites succeeded, $conflicts failed with a conflict, over 5 rounds of 6)"
total_rows=$(F table scan conc.t --format csv --columns id | tail -n +2 | wc -l)
uniq_rows=$(F table scan conc.t --format csv --columns id | tail -n +2 | sort -u | wc -l)
assert_eq "no id twice in the end" "$total_rows" "$uniq_rows"

assert_eq "the server is still healthy" 200 "$(http_code "$S3_URL/_floe/health")"
floe_stop
e2e_finish
