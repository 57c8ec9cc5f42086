#!/bin/bash
# tcp_tap.sh: ustack's TCP against Linux over a TAP device, next to Linux
# against Linux over a veth pair, in the same run:
#
#   bulk, Linux -> ustack   bench_tcp_peer blast to ustack's discard (the
#                           time runs until ustack has read it all), and
#                           `ustack fetch` of /bytes/N from a Linux server
#                           (ustack is the receiving client)
#   bulk, ustack -> Linux   curl of /bytes/N from ustack's HTTP server
#   connections per second  ab -n N -c 50 (a new connection per request:
#                           connect, GET /bytes/64, response, close)
#   request/response        64 bytes to echo and back, one connection,
#                           TCP_NODELAY: p50, p90, p99 and mean in us
#
# The Linux references run the same clients against bench_tcp_peer (a
# single-threaded epoll server: HTTP /bytes/N, echo, discard) over a veth
# pair; iperf3 over the veth is printed as well, for scale. Every figure is
# the best of RUNS runs. The servers (ustack, bench_tcp_peer) are pinned to
# CPU 1, the clients to CPU 0.
#
#   sudo bench/tcp/tcp_tap.sh [-r RUNS] [-t SECONDS] [-n CONNS] [BUILD_DIR]
#
#   RUNS      runs per figure, the best counts (default 3)
#   SECONDS   length of a bulk run (default 5)
#   CONNS     connections per ab run (default 20000)
#   BUILD_DIR a release build with ustack and bench/tcp/bench_tcp_peer
#             (default: build-rel)
#
# Network safety: everything happens inside network namespaces this script
# creates (ustcp-*-PID) and deletes on exit, whatever the exit; the
# addresses (10.77.1.0/24, 10.77.2.0/24, 10.78.1.0/24) exist only there and
# no namespace has a route anywhere else.
#
#   ustack:  ns U: TAP ut0 10.77.1.1 <-> ustack run 10.77.1.2 (discard:9,
#            echo:7, http:80); TAP ft0 10.77.2.1 (made with ip tuntap, a
#            bench_tcp_peer server on 10.77.2.1:8080) <-> ustack fetch
#            10.77.2.2; clients in U.
#   Linux:   ns A: veth va 10.78.1.1 (clients) <-> ns B: veth vb 10.78.1.2
#            (bench_tcp_peer serve on ports 9, 7, 80; iperf3 -s).
set -euo pipefail

runs=3
secs=5
conns=20000
while getopts "r:t:n:h" opt; do
	case $opt in
	r) runs=$OPTARG ;;
	t) secs=$OPTARG ;;
	n) conns=$OPTARG ;;
	*) sed -n '2,40p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$(dirname "$here")")
build=${1:-$top/build-rel}
ustack=$build/ustack
peer=$build/bench/tcp/bench_tcp_peer
for f in "$ustack" "$peer"; do
	[ -x "$f" ] || { echo "tcp_tap: $f is missing (make -C $build ustack bench_tcp_peer)" >&2; exit 2; }
done
if [ "$(id -u)" != 0 ]; then
	echo "tcp_tap: needs root (network namespaces, TAP)" >&2
	exit 77
fi
for c in curl ab iperf3 taskset; do
	command -v "$c" >/dev/null || { echo "tcp_tap: $c is not installed" >&2; exit 2; }
done

tag=$$
nsu=ustcp-u-$tag
nsa=ustcp-a-$tag
nsb=ustcp-b-$tag
tmp=$(mktemp -d)
pids=()

cleanup() {
	set +e
	local p ns
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	for ns in "$nsu" "$nsa" "$nsb"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

inu() { ip netns exec "$nsu" "$@"; }
ina() { ip netns exec "$nsa" "$@"; }

for ns in "$nsu" "$nsa" "$nsb"; do
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done

# ---- ustack on a TAP (pinned to CPU 1) ----
ip netns exec "$nsu" taskset -c 1 "$ustack" run --tap ut0=10.77.1.2/24 \
	--serve discard:9,echo:7,http:80 >"$tmp/ustack.out" 2>&1 &
upid=$!
pids+=("$upid")
for _ in $(seq 100); do
	grep -q '^ready' "$tmp/ustack.out" 2>/dev/null && break
	kill -0 "$upid" 2>/dev/null || { cat "$tmp/ustack.out" >&2; exit 1; }
	sleep 0.1
done
grep -q '^ready' "$tmp/ustack.out" || { echo "tcp_tap: ustack not ready" >&2; exit 1; }
ip -n "$nsu" addr add 10.77.1.1/24 dev ut0
ip -n "$nsu" link set ut0 up
# A TAP for ustack fetch, with a Linux server behind it (pinned to CPU 0:
# the fetch runs on CPU 1).
ip -n "$nsu" tuntap add dev ft0 mode tap
ip -n "$nsu" addr add 10.77.2.1/24 dev ft0
ip -n "$nsu" link set ft0 up
ip netns exec "$nsu" taskset -c 0 "$peer" serve --http 8080 --bind 10.77.2.1 >/dev/null &
pids+=($!)

# ---- Linux on a veth pair ----
ip -n "$nsa" link add va type veth peer name vb netns "$nsb"
ip -n "$nsa" addr add 10.78.1.1/24 dev va
ip -n "$nsb" addr add 10.78.1.2/24 dev vb
ip -n "$nsa" link set va up
ip -n "$nsb" link set vb up
ip netns exec "$nsb" taskset -c 1 "$peer" serve --discard 9 --echo 7 --http 80 >/dev/null &
pids+=($!)
ip netns exec "$nsb" taskset -c 1 iperf3 -s -B 10.78.1.2 >/dev/null 2>&1 &
pids+=($!)

# Both paths answer before measuring.
for _ in $(seq 50); do
	inu curl -sf -o /dev/null http://10.77.1.2/bytes/1 && ina curl -sf -o /dev/null http://10.78.1.2/bytes/1 &&
		break
	sleep 0.1
done

best() { sort -g | tail -n1; }     # largest
least() { sort -g | head -n1; }    # smallest

# cpu_ticks PID: user + system ticks so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

echo "tcp_tap: $runs runs per figure (the best counts), bulk runs of $secs s, ab -n $conns -c 50"
echo "ustack: $ustack ($(cd "$top" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# ---- bulk ----
blast() { # NS-runner HOST: Gbit/s
	"$1" taskset -c 0 "$peer" blast "$2" 9 "$secs" | awk '{ print $4 }'
}
u=() l=() ucpu=()
for _ in $(seq "$runs"); do
	c0=$(cpu_ticks "$upid")
	t0=$(date +%s.%N)
	u+=("$(blast inu 10.77.1.2)")
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$upid")
	ucpu+=("$(awk -v c=$((c1 - c0)) -v hz="$hz" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 100 * c / hz / (b - a) }')")
	l+=("$(blast ina 10.78.1.2)")
done
ub=$(printf '%s\n' "${u[@]}" | best)
lb=$(printf '%s\n' "${l[@]}" | best)
iperf=$(ina taskset -c 0 iperf3 -c 10.78.1.2 -t "$secs" -f g 2>/dev/null | awk '/receiver/ { print $(NF-2) }' | tail -n1)
printf "%-44s %12s %12s %8s\n" "bulk goodput, Gbit/s" "ustack/TAP" "Linux/veth" "ratio"
printf "%-44s %12.2f %12.2f %8.2f   (ustack CPU %s%%)\n" "Linux -> ustack: blast to discard" "$ub" "$lb" \
	"$(awk -v a="$ub" -v b="$lb" 'BEGIN { print a / b }')" "$(printf '%s\n' "${ucpu[@]}" | best)"

# ustack fetch from Linux (ustack receives as a client) vs curl over veth.
n=$((1 << 30))
u=() l=()
for _ in $(seq "$runs"); do
	u+=("$(inu taskset -c 1 "$ustack" fetch --tap ft0=10.77.2.2/24 http://10.77.2.1:8080/bytes/$n |
		awk '/^fetched/ { for (i = 1; i <= NF; i++) if ($i ~ /^\(/) { v = substr($i, 2); print v / 1000 } }')")
	l+=("$(ina taskset -c 0 curl -s -o /dev/null -w '%{speed_download}' http://10.78.1.2/bytes/$n |
		awk '{ print $1 * 8 / 1e9 }')")
done
ub=$(printf '%s\n' "${u[@]}" | best)
lb=$(printf '%s\n' "${l[@]}" | best)
printf "%-44s %12.2f %12.2f %8.2f\n" "Linux -> ustack: ustack fetch of 1 GiB" "$ub" "$lb" \
	"$(awk -v a="$ub" -v b="$lb" 'BEGIN { print a / b }')"

# curl from ustack's HTTP server vs from bench_tcp_peer over veth.
u=() l=() ucpu=()
for _ in $(seq "$runs"); do
	c0=$(cpu_ticks "$upid")
	t0=$(date +%s.%N)
	u+=("$(inu taskset -c 0 curl -s -o /dev/null -w '%{speed_download}' http://10.77.1.2/bytes/$n | awk '{ print $1 * 8 / 1e9 }')")
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$upid")
	ucpu+=("$(awk -v c=$((c1 - c0)) -v hz="$hz" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 100 * c / hz / (b - a) }')")
	l+=("$(ina taskset -c 0 curl -s -o /dev/null -w '%{speed_download}' http://10.78.1.2/bytes/$n | awk '{ print $1 * 8 / 1e9 }')")
done
ub=$(printf '%s\n' "${u[@]}" | best)
lb=$(printf '%s\n' "${l[@]}" | best)
printf "%-44s %12.2f %12.2f %8.2f   (ustack CPU %s%%)\n" "ustack -> Linux: curl of 1 GiB" "$ub" "$lb" \
	"$(awk -v a="$ub" -v b="$lb" 'BEGIN { print a / b }')" "$(printf '%s\n' "${ucpu[@]}" | best)"
printf "%-44s %12s %12.2f\n" "iperf3 -c over the veth (reference)" "" "${iperf:-0}"
echo

# ---- connections per second ----
cps() { # runner URL: requests per second (fails unless all completed)
	local out
	out=$("$1" bash -c "ulimit -n 65536; exec taskset -c 0 ab -q -n $conns -c 50 $2" 2>&1)
	if ! grep -Eq "^Complete requests: +$conns$" <<<"$out" || ! grep -Eq '^Failed requests: +0$' <<<"$out"; then
		echo "tcp_tap: ab $2 did not complete cleanly:" >&2
		echo "$out" >&2
		echo 0
		return
	fi
	awk '/^Requests per second/ { print $4 }' <<<"$out"
}
u=() l=()
for _ in $(seq "$runs"); do
	u+=("$(cps inu http://10.77.1.2/bytes/64)")
	l+=("$(cps ina http://10.78.1.2/bytes/64)")
	sleep 1
done
ub=$(printf '%s\n' "${u[@]}" | best)
lb=$(printf '%s\n' "${l[@]}" | best)
printf "%-44s %12s %12s %8s\n" "connections per second (ab -c 50)" "ustack/TAP" "Linux/veth" "ratio"
printf "%-44s %12.0f %12.0f %8.2f\n" "connect, GET /bytes/64, response, close" "$ub" "$lb" \
	"$(awk -v a="$ub" -v b="$lb" 'BEGIN { print a / b }')"
echo

# ---- request/response latency ----
rr() { # runner HOST: "p50 p90 p99 mean"
	"$1" taskset -c 0 "$peer" rr "$2" 7 20000 64 | awk '{ print $4, $5, $6, $7 }'
}
ubest="" lbest=""
for _ in $(seq "$runs"); do
	x=$(rr inu 10.77.1.2)
	[ -z "$ubest" ] || [ "$(awk -v a="${x%% *}" -v b="${ubest%% *}" 'BEGIN { print (a < b) }')" = 1 ] && ubest=$x
	x=$(rr ina 10.78.1.2)
	[ -z "$lbest" ] || [ "$(awk -v a="${x%% *}" -v b="${lbest%% *}" 'BEGIN { print (a < b) }')" = 1 ] && lbest=$x
done
printf "%-44s %12s %12s\n" "64-byte request/response on echo, us" "ustack/TAP" "Linux/veth"
read -r u50 u90 u99 umean <<<"$ubest"
read -r l50 l90 l99 lmean <<<"$lbest"
printf "%-44s %12s %12s\n" "p50" "$u50" "$l50"
printf "%-44s %12s %12s\n" "p90" "$u90" "$l90"
printf "%-44s %12s %12s\n" "p99" "$u99" "$l99"
printf "%-44s %12s %12s\n" "mean" "$umean" "$lmean"
echo
echo "ratio = ustack / Linux (above 1: ustack moves more; for latency, lower is better)"
