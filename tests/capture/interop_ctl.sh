#!/bin/bash
# `ustack ctl` against a running `ustack run --ctl`, with Linux on the other
# side of the TAP: every command in both outputs (JSON checked with
# python3 -m json.tool), counters that move as the traffic says (100 pings:
# IcmpInEchos and IcmpOutEchoReps +100 exactly; the link counters match
# Linux's own for the TAP), settings that take effect on the wire, and a
# socket that survives malformed requests and vanishing clients.
#
#   ns ustk-ctl-host-PID:  Linux t0 10.0.0.1/24  <-TAP->  ustack 10.0.0.2/24
source "$(dirname "$0")/../interop/lib.sh"
interop_init ctl "${1:-}"
for tool in python3 socat ping; do
	command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps.sh)"
done

# TCP (an echo service to hold a connection for ss -ti) when ustack has it.
TCP=0
SERVE=udp-echo:7
if "$USTACK" run --help 2>&1 | grep -Eq '[[ ,]echo:7'; then
	TCP=1
	SERVE=udp-echo:7,echo:7
fi

ns_create NS host
SOCK="$WORKDIR/ctl.sock"
start_ustack "$NS" --tap t0=10.0.0.2/24 --serve "$SERVE" --ctl "$SOCK"
link_up "$NS" t0 10.0.0.1/24
LINUX_MAC=$(nsx "$NS" cat /sys/class/net/t0/address)

C() { "$USTACK" ctl "$SOCK" "$@"; }
# J CMD...: the JSON reply, checked by python3 -m json.tool, on stdout.
J() {
	local out
	out=$("$USTACK" ctl --json "$SOCK" "$@") || fail "ctl --json $* failed"
	python3 -m json.tool <<<"$out" >/dev/null || fail "ctl --json $*: not JSON: $out"
	printf '%s' "$out"
}
# jq-like: JQ 'python expression over j' < json
JQ() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }
expect_text() { # expect_text PATTERN CMD...
	local pat=$1 out
	shift
	out=$(C "$@") || fail "ctl $* failed"
	grep -Eq -- "$pat" <<<"$out" || { echo "$out" >&2; fail "ctl $*: no line matching '$pat'"; }
}

[ "$(stat -c %a "$SOCK")" = 600 ] || fail "control socket mode $(stat -c %a "$SOCK"), expected 600"
[ -S "$SOCK" ] || fail "$SOCK is not a socket"
ping_ok "$NS" -c 1 -W 2 10.0.0.2

# ---- every command, both outputs ----
expect_text '^2: t0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 .*state UP' link
expect_text '^    RX: bytes packets errors dropped overrun mcast$' link show t0
[ "$(J link | JQ 'j[1]["ifname"]')" = t0 ] || fail "link --json: no t0"
expect_text '^    inet 10\.0\.0\.2/24 brd 10\.0\.0\.255 scope global t0$' addr
[ "$(J addr show t0 | JQ 'j[0]["addr_info"][0]["local"]')" = 10.0.0.2 ] || fail "addr --json"
expect_text '^10\.0\.0\.0/24 dev t0 proto kernel scope link src 10\.0\.0\.2$' route
[ "$(J route | JQ 'j[0]["prefsrc"]')" = 10.0.0.2 ] || fail "route --json"
expect_text "^10\.0\.0\.1 dev t0 lladdr $LINUX_MAC (REACHABLE|STALE|DELAY)$" neigh
[ "$(J neigh | JQ 'j[0]["lladdr"]')" = "$LINUX_MAC" ] || fail "neigh --json: Linux's MAC is $LINUX_MAC"
expect_text '^udp +UNCONN +0 +0 +0\.0\.0\.0:7 +0\.0\.0\.0:\*' ss
[ "$(J ss -u | JQ 'j[0]["lport"]')" = 7 ] || fail "ss --json"
if [ "$TCP" = 1 ]; then
	expect_text '^tcp +LISTEN +0 +[0-9]+ +0\.0\.0\.0:7 +0\.0\.0\.0:\*' ss -t
	# a connection held open from Linux: ESTAB with its TCP_INFO
	nsx "$NS" socat -u "EXEC:sleep 3" TCP:10.0.0.2:7 &
	HOLD=$!
	wait_until 3 sh -c "'$USTACK' ctl '$SOCK' ss -t | grep -q ESTAB" || fail "no ESTAB socket in ss -t"
	expect_text '^tcp +ESTAB +0 +0 +10\.0\.0\.2:7 +10\.0\.0\.1:[0-9]+' ss -t
	expect_text '^	 rto:[0-9.]+ rtt:[0-9.]+/[0-9.]+ ato:[0-9.]+ mss:[0-9]+ rcvmss:[0-9]+ cwnd:[0-9]+' ss -ti
	rto=$(J ss -ti | JQ '[s for s in j if s["state"] == "ESTAB"][0]["tcp_info"]["rto"]')
	python3 -c "import sys; sys.exit(0 if float('$rto') >= 200 else 1)" || fail "ss -ti: rto $rto"
	wait "$HOLD" || true
	log "ss -ti: an ESTAB connection with TCP_INFO (rto $rto ms)"
else
	echo "NOT RUN: ss -t with a TCP connection (\`ustack run --help\` lists no TCP echo service)"
fi
expect_text '^IcmpInEchos +1 ' nstat -a
J nstat -az >/dev/null
expect_text '^net\.ipv4\.ip_forward = 0$' sysctl net.ipv4.ip_forward
[ "$(J sysctl | JQ 'j["net.ipv4.ip_default_ttl"]')" = 64 ] || fail "sysctl --json"
expect_text '^ID ' capture
J capture >/dev/null
expect_text '^log level warning$' log
J log >/dev/null
expect_text '^nstat ' help
J help >/dev/null
out=$(C trace 10.0.0.2:80-10.0.0.1:4000 2>&1) && fail "trace succeeded?"
grep -q "not available" <<<"$out" || fail "trace: $out"
out=$("$USTACK" ctl --json "$SOCK" trace x 2>&1) && fail "trace --json succeeded?"
python3 -m json.tool <<<"$out" >/dev/null || fail "trace --json error is not JSON: $out"
log "every command answered in text and JSON"

# ---- counters: 100 pings, exactly ----
C nstat >/dev/null # the history nstat subtracts
rx0=$(J link show t0 | JQ 'j[0]["stats64"]["rx"]["packets"]')
tx0=$(J link show t0 | JQ 'j[0]["stats64"]["tx"]["packets"]')
ltx0=$(nsx "$NS" cat /sys/class/net/t0/statistics/tx_packets)
lrx0=$(nsx "$NS" cat /sys/class/net/t0/statistics/rx_packets)
ping_ok "$NS" -c 100 -i 0.01 -W 2 -w 20 10.0.0.2
sleep 0.2
delta=$(J nstat)
[ "$(JQ 'j["kernel"].get("IcmpInEchos", 0)' <<<"$delta")" = 100 ] || fail "IcmpInEchos moved by $(JQ 'j["kernel"].get("IcmpInEchos")' <<<"$delta"), expected 100"
[ "$(JQ 'j["kernel"].get("IcmpOutEchoReps", 0)' <<<"$delta")" = 100 ] || fail "IcmpOutEchoReps: $delta"
[ "$(JQ 'j["kernel"].get("IcmpInMsgs", 0)' <<<"$delta")" = 100 ] || fail "IcmpInMsgs: $delta"
rx1=$(J link show t0 | JQ 'j[0]["stats64"]["rx"]["packets"]')
tx1=$(J link show t0 | JQ 'j[0]["stats64"]["tx"]["packets"]')
ltx1=$(nsx "$NS" cat /sys/class/net/t0/statistics/tx_packets)
lrx1=$(nsx "$NS" cat /sys/class/net/t0/statistics/rx_packets)
[ $((rx1 - rx0)) -eq $((ltx1 - ltx0)) ] && [ $((rx1 - rx0)) -ge 100 ] ||
	fail "ustack received $((rx1 - rx0)) frames, Linux sent $((ltx1 - ltx0))"
[ $((tx1 - tx0)) -eq $((lrx1 - lrx0)) ] && [ $((tx1 - tx0)) -ge 100 ] ||
	fail "ustack sent $((tx1 - tx0)) frames, Linux received $((lrx1 - lrx0))"
log "100 pings: IcmpInEchos +100, IcmpOutEchoReps +100; link counters match Linux's ($((rx1 - rx0)) in, $((tx1 - tx0)) out)"
expect_text '^IcmpInEchos +101 ' nstat -a IcmpInEchos
out=$(C nstat)
grep -q IcmpInEchos <<<"$out" && fail "nstat after nstat: the history was not kept: $out"

# ---- settings take effect ----
C sysctl net.ipv4.icmp_echo_ignore_all=1 >/dev/null
nsx "$NS" ping -c 2 -i 0.2 -W 1 10.0.0.2 >/dev/null 2>&1 && fail "ping answered with icmp_echo_ignore_all=1"
C sysctl net.ipv4.icmp_echo_ignore_all=0 >/dev/null
ping_ok "$NS" -c 2 -i 0.2 -W 2 10.0.0.2
out=$(C sysctl net.ipv4.ip_default_ttl=300 2>&1) && fail "ttl 300 accepted"
grep -q "1..255" <<<"$out" || fail "sysctl error: $out"
C sysctl net.ipv4.ip_default_ttl=33 >/dev/null
ping_ok "$NS" -c 1 -W 2 10.0.0.2
grep -q "ttl=33" <<<"$PING_OUT" || fail "the reply's TTL is not 33: $PING_OUT"
C sysctl net.ipv4.ip_default_ttl=64 >/dev/null
log "sysctl: icmp_echo_ignore_all and ip_default_ttl take effect"

C link set t0 down
expect_text 'state DOWN' link show t0
nsx "$NS" ping -c 1 -W 1 10.0.0.2 >/dev/null 2>&1 && fail "ping answered with t0 down"
C link set t0 up mtu 1400
expect_text 'mtu 1400 .*state UP' link show t0
ping_ok "$NS" -c 1 -W 2 10.0.0.2
C link set t0 mtu 1500
out=$(C link set t0 mtu 20 2>&1) && fail "mtu 20 accepted"
grep -q "out of range" <<<"$out" || fail "link set error: $out"
log "link set: down, up, mtu"

C addr add t0 10.0.0.3/24
expect_text '^    inet 10\.0\.0\.3/24 ' addr show t0
ping_ok "$NS" -c 1 -W 2 10.0.0.3
C addr del t0 10.0.0.3/24
nsx "$NS" ping -c 1 -W 1 10.0.0.3 >/dev/null 2>&1 && fail "10.0.0.3 answered after addr del"
log "addr add/del"

C route add 10.9.0.0/24 via 10.0.0.1
expect_text '^10\.9\.0\.0/24 via 10\.0\.0\.1 dev t0$' route
expect_text '^10\.9\.0\.5 via 10\.0\.0\.1 dev t0 src 10\.0\.0\.2$' route get 10.9.0.5
# ustack answers a ping from an address behind that route (Linux owns it)
nsx "$NS" ip addr add 10.9.0.5/32 dev lo
ping_ok "$NS" -c 1 -W 2 -I 10.9.0.5 10.0.0.2
C route del 10.9.0.0/24
nsx "$NS" ping -c 1 -W 1 -I 10.9.0.5 10.0.0.2 >/dev/null 2>&1 && fail "answered without a route back"
log "route add/get/del"

C neigh flush all
out=$(C neigh)
[ -z "$out" ] || fail "neigh after flush: $out"
ping_ok "$NS" -c 1 -W 2 10.0.0.2
expect_text "^10\.0\.0\.1 dev t0 lladdr $LINUX_MAC " neigh
log "neigh flush, then learned again"

C capture start -w "$WORKDIR/c.pcap" icmp >/dev/null
ping_ok "$NS" -c 3 -i 0.2 -W 2 10.0.0.2
expect_text '^6 packets captured$' capture stop
if command -v tcpdump >/dev/null; then
	[ "$(tcpdump -r "$WORKDIR/c.pcap" -n 2>/dev/null | grep -c ICMP)" = 6 ] || fail "c.pcap: not 6 ICMP frames"
fi
log "capture start/stop"

C log debug >/dev/null
[ "$(J log | JQ 'j["level"]')" = debug ] || fail "log level not set"
C log warning >/dev/null

# ---- the socket under bad clients ----
reply=$(printf '["link"\n' | socat -t 2 - "UNIX-CONNECT:$SOCK")
grep -q '^error ' <<<"$reply" || fail "malformed JSON got: $reply"
reply=$(printf 'frobnicate\n' | socat -t 2 - "UNIX-CONNECT:$SOCK")
grep -q "^error " <<<"$reply" && grep -q "unknown command" <<<"$reply" || fail "unknown command got: $reply"
reply=$(head -c 20000 /dev/zero | tr '\0' 'a' | socat -t 2 - "UNIX-CONNECT:$SOCK")
grep -q "too long" <<<"$reply" || fail "oversize request got: $reply"
reply=$(printf 'log' | socat -t 2 - "UNIX-CONNECT:$SOCK")
grep -q "^ok " <<<"$reply" || fail "request without newline got: $reply"
# Half a request, then gone; and a client that holds a connection open
# without a word: neither stalls the stack or the other clients.
printf '["nst' | socat -t 0 - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1 || true
socat -u "EXEC:sleep 4" "UNIX-CONNECT:$SOCK" &
SILENT=$!
sleep 0.3
ping_ok "$NS" -c 5 -i 0.1 -W 2 10.0.0.2
expect_text '^log level warning$' log
wait "$SILENT" || true
log "malformed, oversize, partial and silent clients: the stack keeps serving"

ustack_alive
stop_ustack INT
[ ! -e "$SOCK" ] || fail "the control socket was left behind"
log "interop_ctl passed"
