#!/bin/bash
# Connections to closed ports, both ways, on TAPs in a private network
# namespace:
#  - Linux -> ustack (`ustack run --serve http:80`): a Python connect(),
#    nc and curl to ports nobody listens on get "Connection refused" at
#    once; ustack answers each SYN with RST+ACK, seq 0, ack = ISN + 1
#    (RFC 9293 3.10.7.1), checked in the capture; the open port still
#    serves;
#  - ustack -> Linux (`ustack fetch` on a TAP made with `ip tuntap add`):
#    a closed port gives a one-line "Connection refused" error, nothing on
#    stdout and a non-zero exit, quickly; an address nobody answers ARP for
#    gives "No route to host", non-zero, within the ARP timeout;
#  - tshark: both captures have no malformed packet and no bad checksum.
INTEROP_DEADLINE=${INTEROP_DEADLINE:-120}
source "$(dirname "$0")/lib.sh"
interop_init tcp_refused "${1:-}"
need curl nc python3 tcpdump tshark

ns_create NS host
start_ustack "$NS" --tap t0=10.0.0.2/24 --serve http:80
link_up "$NS" t0 10.0.0.1/24
capture_start "$NS" t0

# ---- Linux -> ustack ----
PORTS="1 81 443 8080 65535"
for p in $PORTS; do
	out=$(nsx "$NS" timeout 10 python3 "$TCP_PEER" refused 10.0.0.2 "$p") || fail "port $p: $out"
done
log "python connect() to ports $PORTS: $out"
rc=0
out=$(nsx "$NS" timeout 10 nc -v -z -w 3 10.0.0.2 81 2>&1) || rc=$?
[ "$rc" -ne 0 ] && grep -q 'Connection refused' <<<"$out" || fail "nc to port 81: exit $rc, '$out'"
log "nc: $out"
rc=0
out=$(nsx "$NS" timeout 10 curl -sS --max-time 5 http://10.0.0.2:8080/ 2>&1) || rc=$?
[ "$rc" -eq 7 ] || fail "curl to port 8080: exit $rc (want 7, could not connect): $out"
log "curl: exit 7, $out"
# The listening port is not affected.
out=$(nsx "$NS" curl -sS --max-time 10 -o /dev/null -w '%{http_code}' http://10.0.0.2/bytes/10) || fail "curl to port 80 failed"
[ "$out" = 200 ] || fail "curl to port 80: $out"

capture_stop
capture_check "$CAPTURE_FILE" 10.0.0.2 7
# Every SYN to a closed port got RST+ACK, seq 0, ack = its ISN + 1.
read -r syns good bad < <(tshark -r "$CAPTURE_FILE" -n -Y 'tcp.port != 80' -T fields -e ip.src \
	-e tcp.srcport -e tcp.dstport -e tcp.flags.str -e tcp.seq_raw -e tcp.ack_raw 2>/dev/null | awk -F'\t' '
	$1 == "10.0.0.1" && $4 ~ /S/ && $4 !~ /A/ { syn[$2 "/" $3] = $5; n++ }
	$1 == "10.0.0.2" {
		k = $3 "/" $2
		if ($4 ~ /R/ && $4 ~ /A/ && $5 == 0 && (k in syn) && $6 == (syn[k] + 1) % 4294967296) g++
		else b++
	}
	END { print n + 0, g + 0, b + 0 }')
[ "$syns" -ge 7 ] && [ "$good" -eq "$syns" ] && [ "$bad" -eq 0 ] ||
	fail "SYNs to closed ports: $syns, proper RST+ACK answers: $good, other segments from ustack: $bad"
log "capture: $syns SYNs to closed ports, each answered by RST+ACK (seq 0, ack ISN+1)"

ustack_alive
stop_ustack INT
expect_counter TcpOutRsts -eq "$syns"
expect_counter Drop:TCP_NO_SOCKET -eq "$syns"

# ---- ustack -> Linux ----
ip -n "$NS" tuntap add dev f0 mode tap
link_up "$NS" f0 10.0.1.1/24
capture_start "$NS" f0

fetch_fail() {
	local url=$1 want=$2 limit=$3 rc=0 t0 t1 out
	t0=$(date +%s.%N)
	out=$(nsx "$NS" timeout 30 "$USTACK" fetch --tap f0=10.0.1.2/24 --timeout 20 "$url" 2>"$WORKDIR/fetch.err") || rc=$?
	t1=$(date +%s.%N)
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "ustack fetch $url: exit $rc"
	[ -z "$out" ] || fail "ustack fetch $url: unexpected stdout '$out'"
	[ "$(wc -l <"$WORKDIR/fetch.err")" -eq 1 ] && grep -qF "$want" "$WORKDIR/fetch.err" ||
		{ cat "$WORKDIR/fetch.err" >&2; fail "ustack fetch $url: stderr should be one line with '$want'"; }
	awk -v a="$t0" -v b="$t1" -v l="$limit" 'BEGIN { exit !(b - a < l) }' ||
		fail "ustack fetch $url took more than $limit s"
	log "ustack fetch $url -> exit $rc in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s: $(cat "$WORKDIR/fetch.err")"
}
fetch_fail http://10.0.1.1:8081/x "connect to 10.0.1.1:8081: Connection refused" 5
fetch_fail http://10.0.1.1:1/ "connect to 10.0.1.1:1: Connection refused" 5
fetch_fail http://10.0.1.9/x "connect to 10.0.1.9: No route to host" 15

capture_stop
capture_check "$CAPTURE_FILE" 10.0.1.2 2
log "interop_tcp_refused passed"
