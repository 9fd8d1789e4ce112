#!/usr/bin/env bash
# Two "hosts" on one machine: network namespaces gh1 and gh2 joined by a veth pair (10.77.0.1 and
# 10.77.0.2), each with its own host name (a UTS namespace). mpirun runs in gh1 and starts the
# rank on 10.77.0.2 through a launcher that enters gh2 (in place of ssh); MPI talks TCP over the
# veth pair only (no shared memory), so this proves nothing assumes one host.
#
# Usage (root): [RANKS_PER_HOST=N] Tests/mpi-two-hosts.sh BENCH_ARGS...   e.g. train --distributed --data iris --json
# With RANKS_PER_HOST above 1 (default 1) the ranks of a host sum through shared memory and the
# hosts over TCP (Note [Node sums]).
# Prints the run's stdout; exits with mpirun's status. Needs iproute2, util-linux, Open MPI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bench="$root/.build/release/bench"
[ "$(id -u)" -eq 0 ] || { echo "mpi-two-hosts: needs root (network namespaces)" >&2; exit 1; }
per=${RANKS_PER_HOST:-1}

work=$(mktemp -d)
cleanup() {
    ip netns del gh1 2>/dev/null || true
    ip netns del gh2 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cleanup; work=$(mktemp -d)

ip netns add gh1
ip netns add gh2
ip link add veth-gh1 type veth peer name veth-gh2
ip link set veth-gh1 netns gh1
ip link set veth-gh2 netns gh2
ip -n gh1 addr add 10.77.0.1/24 dev veth-gh1
ip -n gh2 addr add 10.77.0.2/24 dev veth-gh2
for ns in gh1 gh2; do
    ip -n $ns link set lo up
    ip -n $ns link set veth-$ns up
done

# The "ssh" mpirun uses to start its daemon on the other host: enter that host's namespaces.
cat > "$work/netns-rsh" <<'AGENT'
#!/bin/sh
host=$1; shift
case "$host" in
    10.77.0.1) ns=gh1 ;;
    10.77.0.2) ns=gh2 ;;
    *) echo "netns-rsh: unknown host $host" >&2; exit 1 ;;
esac
exec ip netns exec "$ns" unshare --uts sh -c "hostname $ns-host; $*"
AGENT
chmod +x "$work/netns-rsh"

cd "$work"
ip netns exec gh1 unshare --uts sh -c "hostname gh1-host; exec timeout 300 mpirun --allow-run-as-root --oversubscribe --bind-to none \
    --host 10.77.0.1:$per,10.77.0.2:$per -np $((2 * per)) --wdir '$root' \
    --mca plm_rsh_agent '$work/netns-rsh' --mca pml ob1 --mca btl tcp,self \
    --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
    '$bench' $*"
