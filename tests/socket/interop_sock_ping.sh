#!/bin/bash
# `ustack ping` (a raw ICMP socket of the public API) from a stack attached
# to a persistent TAP created and configured beforehand with `ip tuntap
# add`: replies from the Linux side, small and fragmented, and no reply
# from an address nobody has.
#
#   ns ustk-sockping-host-PID:  Linux t0 10.0.0.1/24  <-TAP->  ustack ping 10.0.0.2/24
source "$(dirname "$0")/../interop/lib.sh"
interop_init sockping "${1:-}"

ns_create NS host
nsx "$NS" ip tuntap add dev t0 mode tap || fail "ip tuntap add failed"
link_up "$NS" t0 10.0.0.1/24

# upings NAME ARGS...: ustack ping inside the namespace, output in $OUT.
uping() {
	local rc=0
	OUT=$(nsx "$NS" timeout 30 "$USTACK" ping --tap t0=10.0.0.2/24 "$@" 2>&1) || rc=$?
	RC=$rc
}

uping -c 3 -i 0.2 -W 2 10.0.0.1
[ "$RC" -eq 0 ] || { echo "$OUT" >&2; fail "ustack ping exited $RC"; }
grep -q '^3 packets transmitted, 3 received, 0% packet loss' <<<"$OUT" ||
	{ echo "$OUT" >&2; fail "ustack ping: not 3 of 3"; }
for seq in 1 2 3; do
	grep -Eq "^64 bytes from 10\.0\.0\.1: icmp_seq=$seq ttl=64 time=" <<<"$OUT" ||
		{ echo "$OUT" >&2; fail "no reply line for icmp_seq=$seq"; }
done
grep -q 'wrong data\|DUP' <<<"$OUT" && { echo "$OUT" >&2; fail "bad replies"; }
log "ustack ping: 3 of 3 from Linux"

# 3000 bytes: fragmented by ustack, reassembled by Linux, and back.
uping -c 2 -i 0.2 -W 2 -s 3000 10.0.0.1
[ "$RC" -eq 0 ] && grep -q '^2 packets transmitted, 2 received' <<<"$OUT" &&
	[ "$(grep -c '^3008 bytes from 10\.0\.0\.1: icmp_seq=' <<<"$OUT")" -eq 2 ] ||
	{ echo "$OUT" >&2; fail "ustack ping -s 3000"; }
log "ustack ping -s 3000: 2 of 2"

# Nobody at 10.0.0.9: no replies, exit status 1.
uping -c 2 -i 0.2 -W 1 10.0.0.9
[ "$RC" -eq 1 ] && grep -q '^2 packets transmitted, 0 received' <<<"$OUT" ||
	{ echo "$OUT" >&2; fail "ustack ping 10.0.0.9: expected no replies and status 1 (got $RC)"; }
log "ustack ping 10.0.0.9: no replies, status 1"

# The TAP is still there (ustack attached to it, did not own it).
nsx "$NS" ip link show t0 >/dev/null || fail "the persistent TAP is gone"
log "interop_sock_ping passed"
