#!/bin/bash
# Garbage from the Linux side of the TAP (an AF_PACKET raw socket sends
# random bytes, truncated and malformed Ethernet/IP/ICMP/ARP frames),
# interleaved with pings: every ping is answered, ustack keeps running, and
# its final counters account for every malformed frame.
source "$(dirname "$0")/lib.sh"
interop_init robust "${1:-}"
command -v ping >/dev/null || fail "ping (iputils-ping) is not installed"
command -v python3 >/dev/null || fail "python3 is not installed"
GARBAGE="$(dirname "$(readlink -f "$0")")/garbage.py"

ns_create NS host
start_ustack "$NS" --tap t0=10.0.0.2/24
MAC=$(ready_mac t0)
[ -n "$MAC" ] || fail "no MAC for t0 on the ready line: $READY"
link_up "$NS" t0 10.0.0.1/24
ping_ok "$NS" -c 2 -i 0.2 -W 2 -w 10 10.0.0.2

ROUNDS=5
PER_KIND=20
for round in $(seq "$ROUNDS"); do
	out=$(nsx "$NS" timeout 30 python3 "$GARBAGE" t0 "$MAC" "$PER_KIND" "$round" 2>&1) ||
		{ echo "$out" >&2; fail "garbage sender failed in round $round"; }
	kinds=$(wc -l <<<"$out")
	ustack_alive
	ping_ok "$NS" -c 3 -i 0.2 -W 2 -w 10 -s $((round * 300)) 10.0.0.2
	log "round $round: $kinds kinds x $PER_KIND malformed frames, then every ping answered"
done
ping_ok "$NS" -c 3 -i 0.2 -W 2 -w 10 -s 3000 10.0.0.2

ustack_alive
stop_ustack INT
N=$((ROUNDS * PER_KIND))
# Six header errors of their own kind, plus the bad checksums.
expect_counter IpInHdrErrors -eq $((7 * N))
expect_counter IpExtInCsumErrors -eq "$N"
expect_counter Drop:IP_CSUM -eq "$N"
expect_counter IpExtInTruncatedPkts -eq "$N"
expect_counter IcmpInErrors -eq $((2 * N))
expect_counter IcmpInCsumErrors -eq "$N"
expect_counter Drop:ARP_MALFORMED -eq $((2 * N))
expect_counter Drop:UNHANDLED_PROTO -ge $((3 * N))
expect_counter Drop:OTHERHOST -ge "$N"
# The malformed echo requests were never answered; the good ones all were.
expect_counter IcmpInEchos -eq $((2 + ROUNDS * 3 + 3))
expect_counter IcmpOutEchoReps -eq $((2 + ROUNDS * 3 + 3))
# The device table has t0; no frame was dropped for want of buffers.
grep -E '^ +t0:' "$USTACK_LOG" || fail "no device line for t0"
expect_counter Drop:NOMEM -eq 0
log "interop_robust passed"
