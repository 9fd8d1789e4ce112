#!/usr/bin/env bash
# Multi-rank checks of `bench train --distributed` under mpirun (CI runs it after scripts/test):
#  1. one rank under mpirun is bitwise one process alone; 2 and 3 ranks with the same global batch
#     give one process's parameters within the documented tolerance (docs/distributed.md); two
#     2-rank runs are bitwise equal;
#  2. a checkpoint of a 2-rank run resumes on 2 ranks bitwise as if never stopped, and on 3;
#  3. ranks started with different settings or data stop at start-up, saying what differs;
#  4. a killed rank ends the run with an error naming it, and a stopped (hung) rank ends it through
#     the collective timeout, not a hang;
#  5. two "hosts" (network namespaces joined by a veth pair, TCP only) give the 2-rank result.
# Every run is bounded by `timeout`. Needs Open MPI (scripts/setup installs it) and, for 5, root.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .build/release/bench ] || swift build -c release --product bench
bench=$(pwd)/.build/release/bench
export OMPI_MCA_pml=ob1                 # MPI_Init in 0.03 s instead of 0.23 s here
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mpirun=(mpirun --oversubscribe --bind-to none)
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "mpi-check: FAIL: $*" >&2; exit 1; }
ok() { echo "mpi-check: ok: $*"; }

# The run of the issue: the MLP 784-1024-1024-10 on synthetic data, global batch 256, 2 epochs.
args=(train --data synthetic --model 784,1024,1024,10 --batch 256 --epochs 2 --threads 1 --json)
field() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])[sys.argv[2]])" "$1" "$2"; }
# Largest |a - b| over all parameters of two graph files (--save-graph).
maxdiff() {
    python3 - "$1" "$2" <<'PY'
import json, sys
def params(p): return {n['id']: n['values'] for n in json.load(open(p))['nodes'] if n.get('kind') == 'parameter'}
a, b = params(sys.argv[1]), params(sys.argv[2])
assert a.keys() == b.keys(), (a.keys(), b.keys())
print(max(max(abs(x - y) for x, y in zip(a[k], b[k])) for k in a))
PY
}
# Tolerance (docs/distributed.md): parameters within 1e-5 of one process's (measured: 5.5e-7).
within() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= 1e-5 else 1)" "$1"; }

# 1. Same results.
timeout 300 "$bench" "${args[@]}" --save-graph "$work/one.json" > "$work/one.out"
timeout 300 "${mpirun[@]}" -np 1 "$bench" "${args[@]}" --distributed > "$work/r1.out"
[ "$(field "$work/one.out" param_checksum)" = "$(field "$work/r1.out" param_checksum)" ] \
    || fail "1 rank under mpirun differs from one process: $(field "$work/one.out" param_checksum) vs $(field "$work/r1.out" param_checksum)"
ok "1 rank is bitwise one process ($(field "$work/one.out" param_checksum))"
for run in a b; do
    # The second run is profiled too: tracing must not change a bit.
    profile=(); [ $run = b ] && profile=(--profile "$work/profile")
    timeout 300 "${mpirun[@]}" -np 2 "$bench" "${args[@]}" --distributed --bucket-mb 1 --save-graph "$work/r2$run.json" "${profile[@]}" > "$work/r2$run.out"
done
python3 - "$work/profile/trace.json" <<'PY' || fail "the 2-rank trace.json lacks a rank's tasks or all-reduces"
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
names = {e["pid"]: e["args"]["name"] for e in events if e.get("name") == "process_name"}
assert sorted(n.split(" (")[0] for n in names.values()) == ["rank 0", "rank 1"], names
for pid in names:
    assert any(e["pid"] == pid and e.get("cat") == "backward" for e in events), pid
    comm = [e for e in events if e["pid"] == pid and e.get("cat") == "communication"]
    assert comm and all(e["args"]["bytes"] in (4239400, 3215360) for e in comm), comm[:2]
PY
ok "a profiled 2-rank run writes one trace.json with both ranks' tasks and all-reduces (bytes per bucket)"
grep -q "distributed: 2 ranks on .*global batch 256 split across them (128 rows per rank); 2 gradient buckets" "$work/r2a.out" \
    || fail "the 2-rank run does not describe its split and buckets: $(grep distributed: "$work/r2a.out")"
[ "$(field "$work/r2a.out" param_checksum)" = "$(field "$work/r2b.out" param_checksum)" ] || fail "two 2-rank runs differ"
ok "two 2-rank runs are bitwise equal ($(field "$work/r2a.out" param_checksum))"
grep -q "summed by a communication thread through a shared-memory window on each node" "$work/r2a.out" \
    || fail "2 ranks on one host do not sum through shared memory: $(grep distributed: "$work/r2a.out")"
timeout 300 "${mpirun[@]}" -np 2 "$bench" "${args[@]}" --distributed --bucket-mb 1 --node-sum allreduce > "$work/r2mpi.out"
grep -q "summed by a communication thread with MPI's all-reduce" "$work/r2mpi.out" || fail "--node-sum allreduce: $(grep distributed: "$work/r2mpi.out")"
[ "$(field "$work/r2mpi.out" param_checksum)" = "$(field "$work/r2a.out" param_checksum)" ] \
    || fail "2 ranks summing through MPI's all-reduce differ from the shared-memory sums"
ok "2 ranks: the shared-memory sums are bitwise MPI's all-reduce (--node-sum allreduce)"
d=$(maxdiff "$work/one.json" "$work/r2a.json")
within "$d" || fail "2 ranks differ from one process by $d (tolerance 1e-5)"
ok "2 ranks give one process's parameters within $d"
timeout 300 "${mpirun[@]}" -np 3 "$bench" "${args[@]}" --distributed --save-graph "$work/r3.json" > "$work/r3.out"
grep -q "(85-86 rows per rank)" "$work/r3.out" || fail "3 ranks: $(grep distributed: "$work/r3.out")"
d=$(maxdiff "$work/one.json" "$work/r3.json")
within "$d" || fail "3 ranks (85-86 rows each) differ from one process by $d"
ok "3 ranks (uneven shares) give one process's parameters within $d"

# 2. Checkpoints resume on any number of ranks.
one_epoch=(train --data synthetic --model 784,1024,1024,10 --batch 256 --threads 1 --json --distributed)
timeout 300 "${mpirun[@]}" -np 2 "$bench" "${one_epoch[@]}" --epochs 1 --checkpoint "$work/c.ckpt" > /dev/null
cp "$work/c.ckpt" "$work/c3.ckpt"
timeout 300 "${mpirun[@]}" -np 2 "$bench" "${one_epoch[@]}" --epochs 2 --checkpoint "$work/c.ckpt" --resume > "$work/resumed2.out"
[ "$(field "$work/resumed2.out" param_checksum)" = "$(field "$work/r2a.out" param_checksum)" ] \
    || fail "a 2-rank run resumed on 2 ranks differs from one never stopped"
ok "a 2-rank checkpoint resumes on 2 ranks bitwise as if never stopped"
timeout 300 "${mpirun[@]}" -np 3 "$bench" "${one_epoch[@]}" --epochs 2 --checkpoint "$work/c3.ckpt" --resume --save-graph "$work/resumed3.json" > "$work/resumed3.out"
grep -q "resumed from" "$work/resumed3.out" || fail "the 3-rank run did not resume"
d=$(maxdiff "$work/one.json" "$work/resumed3.json")
within "$d" || fail "a 2-rank checkpoint resumed on 3 ranks differs from one process by $d"
ok "a 2-rank checkpoint resumes on 3 ranks (within $d of one process)"

# Batch normalization: its running statistics are model state, not trained by the gradient sums; the
# ranks average them after every epoch, and the replicas' check (after every epoch) covers them.
bn=(train --data synthetic --model "dense(64)-batchnorm-relu-dense(10)" --batch 128 --epochs 2 --threads 1 --json)
timeout 300 "$bench" "${bn[@]}" > "$work/bn-one.out"
timeout 300 "${mpirun[@]}" -np 1 "$bench" "${bn[@]}" --distributed > "$work/bn-r1.out"
[ "$(field "$work/bn-one.out" param_checksum)" = "$(field "$work/bn-r1.out" param_checksum)" ] \
    && [ "$(field "$work/bn-one.out" test_loss)" = "$(field "$work/bn-r1.out" test_loss)" ] \
    || fail "batch normalization: 1 rank differs from one process"
timeout 300 "${mpirun[@]}" -np 2 "$bench" "${bn[@]}" --distributed > "$work/bn-r2.out" 2>&1 \
    || fail "batch normalization on 2 ranks: $(grep -i -m1 "differ\|error" "$work/bn-r2.out")"
ok "batch normalization: 1 rank is bitwise one process; 2 ranks average the running statistics after each epoch (replicas equal, model state included)"
# Dropout: each rank draws the masks one process draws for its rows of the global batch.
drop=(train --data synthetic --model "dense(64)-relu-dropout(0.3)-dense(10)" --batch 128 --epochs 2 --threads 1 --json)
timeout 300 "$bench" "${drop[@]}" --save-graph "$work/drop-one.json" > /dev/null
timeout 300 "${mpirun[@]}" -np 2 "$bench" "${drop[@]}" --distributed --save-graph "$work/drop-r2.json" > /dev/null
d=$(maxdiff "$work/drop-one.json" "$work/drop-r2.json")
within "$d" || fail "dropout: 2 ranks differ from one process by $d (each rank must draw one process's masks for its rows)"
ok "dropout: 2 ranks draw one process's masks (parameters within $d of one process)"
# A fixed-shape graph file: every rank trains the graph's whole batch (global batch N x b), so 2 ranks on
# a graph of 32 rows match one process on the same graph built for 64 rows.
common_graph=(--data digits --model 64,32,10 --threads 1 --epochs 0)
timeout 300 "$bench" train "${common_graph[@]}" --batch 32 --save-graph "$work/g32.json" > /dev/null
timeout 300 "$bench" train "${common_graph[@]}" --batch 64 --save-graph "$work/g64.json" > /dev/null
timeout 300 "$bench" train --graph "$work/g64.json" --data digits --threads 1 --epochs 3 --save-graph "$work/g-one.json" > /dev/null
timeout 300 "${mpirun[@]}" -np 2 "$bench" train --graph "$work/g32.json" --data digits --threads 1 --epochs 3 --distributed \
    --save-graph "$work/g-two.json" > "$work/g-two.out"
grep -q "each trains the graph's whole batch of 32 rows (global batch 64)" "$work/g-two.out" \
    || fail "a graph file on 2 ranks: $(grep distributed: "$work/g-two.out")"
d=$(maxdiff "$work/g-one.json" "$work/g-two.json")
within "$d" || fail "a graph of 32 rows on 2 ranks differs from one process on the 64-row graph by $d"
ok "a fixed-shape graph: 2 ranks x 32 rows give one process's 64-row parameters within $d"
# Gradient clipping by global norm: the ranks clip the summed gradient, as one process clips its own.
noclip=(train --data synthetic --model 784,64,10 --batch 128 --epochs 2 --threads 1 --json)
timeout 300 "$bench" "${noclip[@]}" --clip-norm 0.05 --save-graph "$work/clip-one.json" > /dev/null
timeout 300 "$bench" "${noclip[@]}" --save-graph "$work/noclip-one.json" > /dev/null
timeout 300 "${mpirun[@]}" -np 2 "$bench" "${noclip[@]}" --clip-norm 0.05 --distributed --save-graph "$work/clip-r2.json" > /dev/null
d=$(maxdiff "$work/clip-one.json" "$work/clip-r2.json")
within "$d" || fail "--clip-norm: 2 ranks differ from one process by $d"
u=$(maxdiff "$work/clip-one.json" "$work/noclip-one.json")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 1e-3 else 1)" "$u" || fail "--clip-norm 0.05 did not clip (parameters within $u of no clipping)"
ok "--clip-norm: 2 ranks clip the summed gradient as one process clips its own (within $d; $u from no clipping)"

# 3. Different settings or data are refused at start-up, saying what differs.
small=(train --data synthetic --model 784,64,10 --epochs 1 --threads 1 --distributed)
set +e
timeout 120 "${mpirun[@]}" -np 1 "$bench" "${small[@]}" --batch 256 : -np 1 "$bench" "${small[@]}" --batch 128 > "$work/m1.out" 2>&1
status=$?
timeout 120 "${mpirun[@]}" -np 1 "$bench" "${small[@]}" --samples 4096 : -np 1 "$bench" "${small[@]}" --samples 4000 > "$work/m2.out" 2>&1
status2=$?
set -e
[ $status -ne 0 ] && [ $status -ne 124 ] || fail "ranks with different batches: status $status"
grep -q "rank [01] of 2: the ranks started with different settings (rank 1: batch: '256' on rank 0, '128' on rank 1)" "$work/m1.out" \
    || fail "different batches: $(grep -i rank "$work/m1.out" | head -5)"
ok "different --batch refused: $(grep -o "rank [01] of 2: the ranks started with different settings.*rank 1)" "$work/m1.out" | head -1)"
[ $status2 -ne 0 ] && [ $status2 -ne 124 ] || fail "ranks with different data: status $status2"
grep -q "training rows: '3277 x 784" "$work/m2.out" || fail "different data: $(grep -i rank "$work/m2.out" | head -5)"
ok "different data refused (the training rows differ)"

# 4. Faults: a killed rank and a stopped one end the run with an error, not a hang.
long=(train --data synthetic --model 784,1024,1024,10 --batch 256 --epochs 50 --threads 1 --distributed --comm-timeout 5)
rank_pid() {   # the pid of rank $2 among the children of mpirun $1
    for p in $(pgrep -P "$1"); do
        if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then echo "$p"; return; fi
    done
}
fault() {   # $1: signal for rank 1; prints the run's output; returns mpirun's status and seconds after the signal
    timeout 300 "${mpirun[@]}" -np 2 "$bench" "${long[@]}" > "$work/fault.out" 2>&1 &
    local mpid=$!; pids+=("$mpid")     # timeout's pid; mpirun is its child
    for _ in $(seq 600); do grep -Eq "^epoch +1/" "$work/fault.out" && break; sleep 0.1; done
    local victim; victim=$(rank_pid "$(pgrep -P "$mpid" -x mpirun || pgrep -P "$mpid" | head -1)" 1)
    [ -n "$victim" ] || fail "cannot find rank 1 of mpirun $mpid"
    pids+=("$victim")
    local start=$SECONDS
    kill "-$1" "$victim"
    local waited=0
    while kill -0 "$mpid" 2>/dev/null; do
        sleep 0.2; waited=$((SECONDS - start))
        [ $waited -lt 60 ] || { kill -9 "$mpid"; fail "the run still hangs 60 s after SIG$1 to rank 1"; }
    done
    set +e; wait "$mpid"; local status=$?; set -e
    kill -9 "$victim" 2>/dev/null || true
    echo "$status $waited"
}
read -r status waited < <(fault KILL)
[ "$status" -ne 0 ] || fail "killing rank 1 left mpirun's status 0"
grep -q "rank 1" "$work/fault.out" || fail "the killed rank is not named: $(tail -5 "$work/fault.out")"
ok "killed rank 1: the run ended in ${waited} s with status $status: $(grep -m1 "rank 1" "$work/fault.out" | cut -c1-120)"
read -r status waited < <(fault STOP)
[ "$status" -ne 0 ] || fail "stopping rank 1 left mpirun's status 0"
grep -q "rank 0 of 2: .*did not complete within 5 s: a peer rank is dead, stopped" "$work/fault.out" \
    || fail "no timeout message after stopping rank 1: $(tail -5 "$work/fault.out")"
ok "stopped rank 1: rank 0 timed out and ended the run in ${waited} s: $(grep -m1 -o "rank 0 of 2: .*within 5 s" "$work/fault.out" | cut -c1-120)"

# 5. Two hosts: network namespaces joined by a veth pair, TCP between them.
if [ "$(id -u)" -eq 0 ] && command -v ip > /dev/null && ip netns add mpi-check-probe 2>/dev/null; then
    ip netns del mpi-check-probe
    Tests/mpi-two-hosts.sh "${args[@]}" --distributed --bucket-mb 1 > "$work/hosts.out" 2>&1 || { cat "$work/hosts.out"; fail "the two-host run failed"; }
    grep -q "distributed: 2 ranks on gh1-host (rank 0), gh2-host (rank 1)" "$work/hosts.out" \
        || fail "the ranks did not run on two hosts: $(grep distributed: "$work/hosts.out")"
    [ "$(field "$work/hosts.out" param_checksum)" = "$(field "$work/r2a.out" param_checksum)" ] \
        || fail "two hosts over TCP differ from 2 ranks on one host (shared memory)"
    ok "two hosts (gh1-host, gh2-host) over TCP: bitwise the 2-rank result"
    # Two ranks per host: each host sums through shared memory, the hosts over TCP.
    RANKS_PER_HOST=2 Tests/mpi-two-hosts.sh "${args[@]}" --distributed --bucket-mb 1 --save-graph "$work/hosts4.json" > "$work/hosts4.out" 2>&1 \
        || { cat "$work/hosts4.out"; fail "the two-host run with 2 ranks per host failed"; }
    grep -q "distributed: 4 ranks on .*gh1-host.*gh2-host" "$work/hosts4.out" \
        || fail "the 4 ranks did not run on two hosts: $(grep distributed: "$work/hosts4.out")"
    d=$(maxdiff "$work/one.json" "$work/hosts4.json")
    within "$d" || fail "2 hosts x 2 ranks differ from one process by $d"
    ok "two hosts x 2 ranks (shared memory within a host, TCP between): one process's parameters within $d"
else
    echo "mpi-check: SKIPPED the two-host run: it needs root and network namespaces (ip netns)" >&2
    [ -z "${CI:-}" ] || fail "CI must run the two-host check"
fi
echo "mpi-check: all passed"
