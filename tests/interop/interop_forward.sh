#!/bin/bash
# ustack as a router between two Linux hosts:
#
#   ns h1: tA 10.1.0.1/24 <-TAP-> ustack tA 10.1.0.2 | tB 10.2.0.2 <-TAP-> tB 10.2.0.1/24 :ns h2
#
# ustack creates both TAPs in the router namespace; their Linux sides are
# then moved into h1 and h2 while ustack keeps its file descriptors. The
# router runs with --mtu 1400 on both devices, below the hosts' 1500.
source "$(dirname "$0")/lib.sh"
interop_init forward "${1:-}"
command -v ping >/dev/null || fail "ping (iputils-ping) is not installed"
command -v traceroute >/dev/null || fail "traceroute is not installed"

ns_create R router
ns_create H1 h1
ns_create H2 h2
start_ustack "$R" --forward --mtu 1400 --tap tA=10.1.0.2/24 --tap tB=10.2.0.2/24
grep -q ' forwarding$' <<<"$READY" || fail "ready line does not say forwarding: $READY"

ip -n "$R" link set tA netns "$H1"
ip -n "$R" link set tB netns "$H2"
link_up "$H1" tA 10.1.0.1/24
link_up "$H2" tB 10.2.0.1/24
ip -n "$H1" route add default via 10.1.0.2
ip -n "$H2" route add default via 10.2.0.2
ip -n "$R" link show tA >/dev/null 2>&1 && fail "tA is still in the router namespace"

# Through the router, both ways; TTL 64 - 1 on arrival.
ping_ok "$H1" -c 3 -i 0.2 -W 2 -w 10 10.2.0.1
grep -q 'ttl=63' <<<"$PING_OUT" || fail "h1 -> h2: expected ttl=63"
ping_ok "$H2" -c 3 -i 0.2 -W 2 -w 10 10.1.0.1
grep -q 'ttl=63' <<<"$PING_OUT" || fail "h2 -> h1: expected ttl=63"
# The router's own far-side address answers directly (TTL 64).
ping_ok "$H1" -c 2 -i 0.2 -W 2 -w 10 10.2.0.2
grep -q 'ttl=64' <<<"$PING_OUT" || fail "h1 -> 10.2.0.2: expected ttl=64"

# traceroute with UDP probes: hop 1 is ustack (time exceeded), hop 2 the
# destination (port unreachable from Linux, forwarded back by ustack).
check_trace() {
	local out hop1 hop2 hops
	out=$(nsx "$H1" timeout 30 traceroute -n -q 1 -w 2 -m 5 "$@" 10.2.0.1 2>&1) ||
		{ echo "$out" >&2; fail "traceroute $* failed"; }
	hop1=$(awk '$1 == "1" { print $2 }' <<<"$out")
	hop2=$(awk '$1 == "2" { print $2 }' <<<"$out")
	hops=$(grep -cE '^ *[0-9]+ ' <<<"$out" || true)
	if [ "$hop1" != 10.1.0.2 ] || [ "$hop2" != 10.2.0.1 ] || [ "$hops" -ne 2 ]; then
		echo "$out" >&2
		fail "traceroute $*: hop 1 '$hop1' (want 10.1.0.2), hop 2 '$hop2' (want 10.2.0.1), $hops hops"
	fi
	log "traceroute $*: 1 $hop1, 2 $hop2"
}
check_trace
check_trace -I

# Larger than the router's 1400-byte MTU, DF clear: ustack fragments.
ping_ok "$H1" -c 3 -i 0.2 -W 2 -w 10 -M dont -s 1450 10.2.0.1
ping_ok "$H1" -c 3 -i 0.2 -W 2 -w 10 -s 4000 10.2.0.1

# DF set and too big for the next hop: ICMP fragmentation needed with
# mtu 1400 (ping shows it, or, once the kernel learned the path MTU,
# refuses locally with "message too long, mtu=1400").
out=$(nsx "$H1" ping -c 3 -i 0.3 -W 1 -w 5 -M do -s 1450 10.2.0.1 2>&1) && {
	echo "$out" >&2
	fail "a DF ping of 1478 bytes through a 1400-byte link succeeded"
}
grep -Eq 'From 10\.1\.0\.2 icmp_seq=[0-9]+ Frag needed and DF set \(mtu = 1400\)' <<<"$out" ||
	{ echo "$out" >&2; fail "no 'Frag needed ... (mtu = 1400)' from 10.1.0.2"; }
log "DF ping of 1450 bytes: Frag needed and DF set (mtu = 1400) from 10.1.0.2"
# The kernel keeps the learned path MTU: the next one is refused locally.
out=$(nsx "$H1" ping -c 1 -W 1 -w 3 -M do -s 1450 10.2.0.1 2>&1) && fail "second DF ping succeeded"
grep -Eq 'mtu ?= ?1400' <<<"$out" || { echo "$out" >&2; fail "PMTU 1400 not learned by Linux"; }
ip -n "$H1" route get 10.2.0.1 | grep -q 'mtu 1400' || fail "no cached mtu 1400 in h1's route"
# And a DF ping that fits goes through.
ping_ok "$H1" -c 2 -i 0.2 -W 2 -w 10 -M do -s 1372 10.2.0.1

ustack_alive
stop_ustack INT
expect_counter IpForwDatagrams -ge 30
expect_counter IcmpOutTimeExcds -ge 2   # one per traceroute
expect_counter IcmpOutDestUnreachs -ge 1
expect_counter IpFragFails -ge 1
expect_counter IpFragCreates -ge 6
expect_counter IpInAddrErrors -eq 0
log "interop_forward passed"
