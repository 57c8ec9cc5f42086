#!/bin/bash
# A packet socket on the ustack side sees the frames tcpdump sees on the
# Linux side of the TAP: sock_packet_count (an AF_PACKET ETH_P_ALL socket
# bound to the TAP in a stack that answers ARP and pings) counts frames
# while Linux pings it; the counts must equal tcpdump's, frame for frame
# and class by class (ARP, echo requests, echo replies, the rest), and the
# frames it marks PACKET_OUTGOING are the ones tcpdump saw from ustack's MAC.
#
#   ns ustk-sockpkt-host-PID:  Linux t0 10.0.0.1/24  <-TAP->  ustack 10.0.0.2/24
source "$(dirname "$0")/../interop/lib.sh"
interop_init sockpkt "${1:-}"
COUNTER=${2:-}
[ -n "$COUNTER" ] && [ -x "$COUNTER" ] || fail "usage: $0 USTACK SOCK_PACKET_COUNT"
command -v tcpdump >/dev/null || fail "tcpdump is not installed"

ns_create NS host
nsx "$NS" ip tuntap add dev t0 mode tap || fail "ip tuntap add failed"
link_up "$NS" t0 10.0.0.1/24

# Started with `ip netns exec` directly (not through a shell function) so
# that $! is the program itself, to be signalled.
ip netns exec "$NS" tcpdump -i t0 -n --immediate-mode -U -w "$WORKDIR/cap.pcap" 2>"$WORKDIR/tcpdump.err" &
TCPDUMP_PID=$!
wait_until 10 grep -q 'listening on' "$WORKDIR/tcpdump.err" ||
	{ cat "$WORKDIR/tcpdump.err" >&2; fail "tcpdump did not start"; }

ip netns exec "$NS" "$COUNTER" t0 10.0.0.2/24 40 >"$WORKDIR/count.out" 2>"$WORKDIR/count.err" &
COUNT_PID=$!
wait_until 10 grep -q '^ready' "$WORKDIR/count.out" ||
	{ cat "$WORKDIR/count.err" >&2; fail "sock_packet_count did not start"; }
MAC=$(awk '/^ready/ { print $2 }' "$WORKDIR/count.out")
log "ustack MAC $MAC"

ping_ok "$NS" -c 5 -i 0.2 -W 2 -w 10 10.0.0.2
ping_ok "$NS" -c 2 -i 0.2 -W 2 -w 10 -s 3000 10.0.0.2 # fragments both ways
sleep 0.3

kill -TERM "$COUNT_PID"
wait "$COUNT_PID" || fail "sock_packet_count exited $?"
sleep 1
kill -TERM "$TCPDUMP_PID"
wait "$TCPDUMP_PID" || true
tcpdump -r "$WORKDIR/cap.pcap" -n -e >"$WORKDIR/cap.txt" 2>/dev/null || fail "cannot read the capture"

read -r _ frames _ in _ out _ arp _ req _ rep _ other < <(grep '^frames' "$WORKDIR/count.out")
t_frames=$(wc -l <"$WORKDIR/cap.txt")
t_arp=$(grep -c 'ethertype ARP' "$WORKDIR/cap.txt" || true)
t_req=$(grep -c 'ICMP echo request' "$WORKDIR/cap.txt" || true)
t_rep=$(grep -c 'ICMP echo reply' "$WORKDIR/cap.txt" || true)
t_other=$((t_frames - t_arp - t_req - t_rep))
t_from_ustack=$(awk -v m="$MAC" '$2 == m' "$WORKDIR/cap.txt" | wc -l)
log "packet socket: frames $frames (in $in, out $out) arp $arp echo_req $req echo_rep $rep other $other"
log "tcpdump:       frames $t_frames (from ustack $t_from_ustack) arp $t_arp echo_req $t_req echo_rep $t_rep other $t_other"
if [ "$frames" -ne "$t_frames" ] || [ "$arp" -ne "$t_arp" ] || [ "$req" -ne "$t_req" ] ||
	[ "$rep" -ne "$t_rep" ] || [ "$other" -ne "$t_other" ] || [ "$out" -ne "$t_from_ustack" ]; then
	cat "$WORKDIR/cap.txt" >&2
	fail "the packet socket and tcpdump disagree"
fi
# 7 echo requests (5 + 2 first fragments) and as many replies.
[ "$req" -eq 7 ] && [ "$rep" -eq 7 ] || fail "expected 7 echo requests and replies"
[ "$other" -ge 4 ] || fail "expected the fragments of the 3000-byte pings"
log "interop_packet passed"
