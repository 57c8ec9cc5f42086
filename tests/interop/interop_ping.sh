#!/bin/bash
# Linux pings ustack over a TAP: payload sizes from 0 to 65000 (fragmented
# both ways), a flood of 10000, and arping.
#
#   ns ustk-ping-PID:  Linux t0 10.0.0.1/24  <-TAP->  ustack 10.0.0.2/24
source "$(dirname "$0")/lib.sh"
interop_init ping "${1:-}"
command -v ping >/dev/null || fail "ping (iputils-ping) is not installed"
command -v arping >/dev/null || fail "arping is not installed"

ns_create NS host
start_ustack "$NS" --tap t0=10.0.0.2/24
MAC=$(ready_mac t0)
[ -n "$MAC" ] || fail "no MAC for t0 on the ready line: $READY"
link_up "$NS" t0 10.0.0.1/24

# iputils ping checks the echoed data pattern ("wrong data byte") and the
# reply size; 1473 and up leave Linux in fragments, and come back in
# fragments from ustack.
for size in 0 56 1472 1473 8972 65000; do
	ping_ok "$NS" -c 3 -i 0.2 -W 2 -w 10 -s "$size" 10.0.0.2
	replies=$(grep -c "^$((size + 8)) bytes from 10.0.0.2: icmp_seq=" <<<"$PING_OUT" || true)
	[ "$replies" -eq 3 ] || fail "expected 3 replies of $((size + 8)) bytes for -s $size, got $replies"
done

# A flood: every one answered.
ping_ok "$NS" -f -c 10000 -w 60 -s 56 10.0.0.2
grep -q '^10000 packets transmitted, 10000 received' <<<"$PING_OUT" || fail "flood: $(tail -n 3 <<<"$PING_OUT")"

# arping: three requests, three replies from ustack's MAC. Two arpings
# exist: Habets' (package arping) and iputils'; both are understood.
if arping -V 2>&1 | grep -qi iputils; then
	ARPING_IF=-I
	arping_replies() { grep -ciE "^Unicast reply from 10\.0\.0\.2 \[$MAC\]" <<<"$1" || true; }
	arping_none() { grep -q 'Received 0 response' <<<"$1"; }
else
	ARPING_IF=-i
	arping_replies() { grep -ciE "bytes from $MAC \(10\.0\.0\.2\): index=" <<<"$1" || true; }
	arping_none() { grep -q '2 packets transmitted, 0 packets received' <<<"$1"; }
fi
out=$(nsx "$NS" arping -c 3 -w 10 "$ARPING_IF" t0 10.0.0.2 2>&1) || { echo "$out" >&2; fail "arping 10.0.0.2 failed"; }
got=$(arping_replies "$out")
[ "$got" -eq 3 ] || { echo "$out" >&2; fail "arping: $got replies from $MAC, expected 3"; }
log "arping: 3 replies from $MAC"
# ...and no answer for an address that is not ustack's.
out=$(nsx "$NS" arping -c 2 -w 3 "$ARPING_IF" t0 10.0.0.99 2>&1) && { echo "$out" >&2; fail "arping 10.0.0.99 was answered"; }
arping_none "$out" || { echo "$out" >&2; fail "arping 10.0.0.99: unexpected output"; }
log "arping 10.0.0.99: no answer"

ustack_alive
stop_ustack INT
# 18 sized pings + 10000 flood pings, all counted both ways.
expect_counter IcmpInEchos -ge 10018
expect_counter IcmpOutEchoReps -eq "$(counter IcmpInEchos)"
expect_counter IpReasmOKs -ge 9   # 1473, 8972 and 65000 bytes, 3 each
expect_counter IpFragOKs -ge 9
expect_counter ArpOutReplies -ge 3
expect_counter IcmpInErrors -eq 0
expect_counter IpInHdrErrors -eq 0
log "interop_ping passed"
