#!/bin/bash
# ping_flood.sh: Linux's `ping -f` against ustack on a TAP device and against
# the Linux stack on a veth peer, in the same run; prints the rate of each
# (pings per second from ping's own time) and the ratio.
#
#   sudo bench/ping_flood.sh [-c COUNT] [-r RUNS] [-s "SIZE ..."] [USTACK_BINARY]
#
#   COUNT   pings per run (default 50000)
#   RUNS    runs per size and stack, alternating, the best counts (default 1)
#   SIZE    ping payload sizes (default "56 1472": 84- and 1500-byte packets)
#   USTACK_BINARY  the `ustack` tool (default: build-rel/ustack, then build/ustack)
#
# Network safety: everything happens inside network namespaces this script
# creates (usflood-*-PID) and deletes on exit, whatever the exit; the
# addresses (10.77.0.0/24, 10.78.0.0/24) exist only there and no namespace
# has a route anywhere else.
#
#   ustack:  ns U: TAP "ustap0" (Linux 10.77.0.1) <-> ustack run (10.77.0.2);
#            ping runs in U.
#   Linux:   ns A: veth "va" 10.78.0.1 <-> ns B: veth "vb" 10.78.0.2; ping
#            runs in A.
set -euo pipefail

count=50000
runs=1
sizes="56 1472"
while getopts "c:r:s:h" opt; do
	case $opt in
	c) count=$OPTARG ;;
	r) runs=$OPTARG ;;
	s) sizes=$OPTARG ;;
	*) sed -n '2,13p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
ustack=${1:-}
if [ -z "$ustack" ]; then
	for c in "$top/build-rel/ustack" "$top/build/ustack"; do
		[ -x "$c" ] && { ustack=$c; break; }
	done
fi
if [ -z "$ustack" ] || [ ! -x "$ustack" ]; then
	echo "ping_flood: no ustack binary (build it, or pass its path)" >&2
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "ping_flood: needs root (network namespaces, TAP)" >&2
	exit 77
fi

tag=$$
nsu=usflood-u-$tag
nsa=usflood-a-$tag
nsb=usflood-b-$tag
tmp=$(mktemp -d)
upid=

cleanup() {
	set +e
	if [ -n "$upid" ]; then
		kill -TERM "$upid" 2>/dev/null
		wait "$upid" 2>/dev/null
	fi
	for ns in "$nsu" "$nsa" "$nsb"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- ustack on a TAP ----
ip netns add "$nsu"
ip -n "$nsu" link set lo up
ip netns exec "$nsu" "$ustack" run --tap ustap0=10.77.0.2/24 >"$tmp/ustack.out" 2>&1 &
upid=$!
for _ in $(seq 100); do
	grep -q '^ready' "$tmp/ustack.out" 2>/dev/null && break
	if ! kill -0 "$upid" 2>/dev/null; then
		echo "ping_flood: ustack exited:" >&2
		cat "$tmp/ustack.out" >&2
		exit 1
	fi
	sleep 0.1
done
grep -q '^ready' "$tmp/ustack.out" || { echo "ping_flood: ustack not ready" >&2; exit 1; }
ip -n "$nsu" addr add 10.77.0.1/24 dev ustap0
ip -n "$nsu" link set ustap0 up

# ---- Linux on a veth pair ----
ip netns add "$nsa"
ip netns add "$nsb"
ip -n "$nsa" link set lo up
ip -n "$nsb" link set lo up
ip -n "$nsa" link add va type veth peer name vb netns "$nsb"
ip -n "$nsa" addr add 10.78.0.1/24 dev va
ip -n "$nsb" addr add 10.78.0.2/24 dev vb
ip -n "$nsa" link set va up
ip -n "$nsb" link set vb up

# One ping run; prints "received rate loss%".
flood() {
	local ns=$1 dst=$2 size=$3 out
	# Resolve the neighbour first, so the flood measures only echo.
	ip netns exec "$ns" ping -c 2 -i 0.2 -W 1 -q "$dst" >/dev/null 2>&1 || true
	out=$(ip netns exec "$ns" ping -f -q -c "$count" -s "$size" -w 300 "$dst" 2>&1 || true)
	echo "$out" | awk '
		/packets transmitted/ {
			for (i = 1; i <= NF; i++) {
				if ($(i+1) ~ /^received/) rx = $i
				if ($i ~ /%$/ && $(i+1) == "packet") loss = $i
				if ($i == "time") { t = $(i+1); sub(/ms/, "", t) }
			}
		}
		END {
			if (t > 0) printf "%d %.0f %s\n", rx, rx / (t / 1000.0), loss
			else print "0 0 ?"
		}'
}

printf "ping -f -c %d, best of %d: pings per second (from ping's own time)\n" "$count" "$runs"
printf "%-8s %14s %8s %14s %8s %8s\n" "size" "ustack (TAP)" "loss" "Linux (veth)" "loss" "ratio"
for size in $sizes; do
	urate=0 lrate=0 uloss=? lloss=?
	for _ in $(seq "$runs"); do
		read -r _ r l < <(flood "$nsu" 10.77.0.2 "$size")
		if [ "$r" -gt "$urate" ]; then urate=$r uloss=$l; fi
		read -r _ r l < <(flood "$nsa" 10.78.0.2 "$size")
		if [ "$r" -gt "$lrate" ]; then lrate=$r lloss=$l; fi
	done
	ratio=$(awk -v a="$urate" -v b="$lrate" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	printf "%-8s %14s %8s %14s %8s %8s\n" "-s $size" "$urate" "$uloss" "$lrate" "$lloss" "$ratio"
done
echo "ratio = ustack / Linux; an IP packet is the payload size + 28 bytes"
