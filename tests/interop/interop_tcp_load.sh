#!/bin/bash
# 1000 concurrent connections from Linux to ustack's HTTP server on a TAP in
# a private network namespace, bounded in count and time:
#  - a Python client opens 1000 connections at once and holds them until
#    all are established, then asks each for a different /bytes/K: all
#    1000 answers are right;
#  - ab -n 5000 -c 1000 (a new connection per request): 5000 complete, none
#    failed, every body of the right length;
#  - wrk -c 1000 for 5 s (keep-alive): 1000 connections established on
#    both sides at once, no socket error, no non-2xx answer;
#  - ustack's counters: exactly one passive open per connection of the
#    first two runs, no listen overflow, no buffer shortage; afterwards no
#    connection is left open;
#  - tshark: the capture of the first two runs has no malformed packet and
#    no bad checksum.
INTEROP_DEADLINE=${INTEROP_DEADLINE:-150}
source "$(dirname "$0")/lib.sh"
interop_init tcp_load "${1:-}"
need ab wrk python3 tcpdump tshark

ns_create NS host
start_ustack "$NS" --tap t0=10.0.0.2/24 --serve http:80 --ctl "$WORKDIR/ctl.sock"
link_up "$NS" t0 10.0.0.1/24
# Room for the SYN burst on the Linux side of the TAP.
ip -n "$NS" link set t0 txqueuelen 5000

# ctl_counter NAME: a counter of the running ustack.
ctl_counter() {
	timeout 10 "$USTACK" ctl "$WORKDIR/ctl.sock" nstat -a "$1" | awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }'
}

capture_start "$NS" t0

# ---- 1000 at once, held until all are established ----
out=$(nsx "$NS" timeout 120 python3 "$TCP_PEER" many 10.0.0.2 80 1000) || fail "$out"
log "$out"
[ "$(ctl_counter TcpPassiveOpens)" -eq 1000 ] || fail "TcpPassiveOpens is $(ctl_counter TcpPassiveOpens), want 1000"

# ---- ab: 5000 requests, 1000 concurrent, a connection each ----
out=$(nsx "$NS" bash -c 'ulimit -n 8192 && exec timeout 90 ab -q -r -n 5000 -c 1000 -s 30 http://10.0.0.2/bytes/1000' 2>&1) ||
	{ echo "$out" >&2; fail "ab failed"; }
grep -Eq '^Concurrency Level: +1000$' <<<"$out" || { echo "$out" >&2; fail "ab: concurrency is not 1000"; }
grep -Eq '^Complete requests: +5000$' <<<"$out" || { echo "$out" >&2; fail "ab: not 5000 complete requests"; }
grep -Eq '^Failed requests: +0$' <<<"$out" || { echo "$out" >&2; fail "ab: failed requests"; }
grep -q 'Non-2xx' <<<"$out" && { echo "$out" >&2; fail "ab: non-2xx responses"; }
grep -Eq '^HTML transferred: +5000000 bytes$' <<<"$out" || { echo "$out" >&2; fail "ab: not 5000 bodies of 1000 bytes"; }
log "ab -n 5000 -c 1000: $(grep -E '^(Complete|Failed) requests' <<<"$out" | tr -s ' ' | paste -sd, -), $(grep -E '^Requests per second' <<<"$out" | tr -s ' ')"
# One per request; ab also opens up to its concurrency in connections it
# closes unused when the last answers come in (how many depends on speed).
opens=$(ctl_counter TcpPassiveOpens)
[ "$opens" -ge 6000 ] && [ "$opens" -le 7000 ] || fail "TcpPassiveOpens is $opens, want 6000 to 7000"

capture_stop
capture_check "$CAPTURE_FILE" 10.0.0.2 12000

# ---- wrk: 1000 keep-alive connections for 5 s ----
nsx "$NS" bash -c 'ulimit -n 8192 && exec timeout 60 wrk -t 2 -c 1000 -d 5s --timeout 10s http://10.0.0.2/bytes/1000' \
	>"$WORKDIR/wrk.out" 2>&1 &
WRK=$!
# Both sides see the 1000 connections at once.
max_linux=0
max_ustack=0
for _ in $(seq 40); do
	kill -0 "$WRK" 2>/dev/null || break
	n=$(nsx "$NS" ss -Htn state established '( dport = :80 )' | wc -l)
	[ "$n" -gt "$max_linux" ] && max_linux=$n
	if [ "$n" -ge 1000 ]; then
		n=$(ss_count '^tcp +ESTAB .*10\.0\.0\.2:80 ')
		[ "$n" -gt "$max_ustack" ] && max_ustack=$n
		[ "$max_ustack" -ge 1000 ] && break
	fi
	sleep 0.1
done
wait "$WRK" || { cat "$WORKDIR/wrk.out" >&2; fail "wrk failed"; }
out=$(cat "$WORKDIR/wrk.out")
[ "$max_linux" -eq 1000 ] || fail "wrk: Linux had at most $max_linux connections established at once (want 1000)"
[ "$max_ustack" -eq 1000 ] || fail "wrk: ustack had at most $max_ustack connections established at once (want 1000)"
grep -q '1000 connections' <<<"$out" || { echo "$out" >&2; fail "wrk did not run 1000 connections"; }
grep -q 'Socket errors' <<<"$out" && { echo "$out" >&2; fail "wrk: socket errors"; }
grep -q 'Non-2xx' <<<"$out" && { echo "$out" >&2; fail "wrk: non-2xx responses"; }
reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
[ -n "$reqs" ] && [ "$reqs" -ge 1000 ] || { echo "$out" >&2; fail "wrk: only '$reqs' requests"; }
log "wrk -c 1000 -d 5s: 1000 connections on both sides at once, $reqs requests, no socket error, all 2xx"

ss_expect -eq 0 '10\.0\.0\.2:' "connections left after the load"
opens=$(ctl_counter TcpPassiveOpens)
[ "$opens" -ge 7000 ] || fail "TcpPassiveOpens is $opens after wrk, want >= 7000"

ustack_alive
stop_ustack INT
expect_counter TcpExtListenOverflows -eq 0
expect_counter TcpExtListenDrops -eq 0
expect_counter TcpAttemptFails -eq 0
expect_counter Drop:NOMEM -eq 0
log "interop_tcp_load passed"
