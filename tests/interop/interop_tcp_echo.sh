#!/bin/bash
# Uploads from Linux to ustack's TCP services (`ustack run --serve
# echo:7,discard:9,chargen:19`) on a TAP in a private network namespace:
#  - echo (RFC 862): socat and nc send 0 B to 20 MiB of random data (and
#    8 uploads at once); what comes back is byte for byte what was sent,
#    then the server closes after the client's half-close;
#  - discard (RFC 863): socat, nc and a Python client send up to 50 MiB;
#    Linux's TCP_INFO says every byte was acknowledged, nothing comes back,
#    the server closes after the half-close;
#  - chargen (RFC 864): 1 MiB read from Linux is the RFC's rotating pattern;
#  - afterwards no connection is left open on the ustack side;
#  - tshark: the capture of all of it has no malformed packet and no bad
#    checksum.
INTEROP_DEADLINE=${INTEROP_DEADLINE:-150}
source "$(dirname "$0")/lib.sh"
interop_init tcp_echo "${1:-}"
need socat nc python3 tcpdump tshark cmp

ns_create NS host
start_ustack "$NS" --tap t0=10.0.0.2/24 --serve echo:7,discard:9,chargen:19 --ctl "$WORKDIR/ctl.sock"
link_up "$NS" t0 10.0.0.1/24
capture_start "$NS" t0

DATA="$WORKDIR/data"
mkdir "$DATA"
: >"$DATA/0"
for n in 1 1000 1448 65536 1048576 20971520; do
	head -c "$n" /dev/urandom >"$DATA/$n"
done
CONNS=0

# ---- echo ----
echo_socat() {
	local f=$1 out=$2
	nsx "$NS" timeout 60 socat -t 30 -T 30 - TCP:10.0.0.2:7 <"$f" >"$out" ||
		fail "socat to echo with $(basename "$f") bytes failed (exit $?)"
	cmp "$f" "$out" || fail "echo: $(basename "$f") bytes came back different"
}
for n in 0 1 1000 1448 65536 1048576 20971520; do
	echo_socat "$DATA/$n" "$WORKDIR/back"
	CONNS=$((CONNS + 1))
done
log "echo via socat: 0 B to 20 MiB, each came back identical"

nsx "$NS" timeout 60 nc -N -w 30 10.0.0.2 7 <"$DATA/1048576" >"$WORKDIR/back" || fail "nc to echo failed"
cmp "$DATA/1048576" "$WORKDIR/back" || fail "echo via nc: 1 MiB came back different"
CONNS=$((CONNS + 1))
log "echo via nc: 1 MiB came back identical"

# Eight at once, 2 MiB each, different data.
PIDS=()
for i in $(seq 8); do
	head -c 2097152 /dev/urandom >"$DATA/p$i"
	ip netns exec "$NS" timeout 60 socat -t 30 -T 30 - TCP:10.0.0.2:7 <"$DATA/p$i" >"$WORKDIR/pb$i" &
	PIDS+=($!)
done
for i in $(seq 8); do
	wait "${PIDS[$((i - 1))]}" || fail "parallel echo $i: socat failed"
	cmp "$DATA/p$i" "$WORKDIR/pb$i" || fail "parallel echo $i: came back different"
done
CONNS=$((CONNS + 8))
log "echo: 8 parallel uploads of 2 MiB, each came back identical"

# ---- discard ----
nsx "$NS" timeout 60 socat -u -T 30 FILE:"$DATA/20971520" TCP:10.0.0.2:9 || fail "socat to discard failed"
nsx "$NS" timeout 60 nc -N -w 30 10.0.0.2 9 <"$DATA/1048576" >"$WORKDIR/back" || fail "nc to discard failed"
[ ! -s "$WORKDIR/back" ] || fail "discard sent data back"
for n in 0 1 52428800; do
	out=$(nsx "$NS" timeout 60 python3 "$TCP_PEER" discard 10.0.0.2 9 "$n") || fail "discard of $n bytes: $out"
done
CONNS=$((CONNS + 5))
log "discard: 20 MiB (socat), 1 MiB (nc), 0 B, 1 B, 50 MiB all acknowledged, nothing back: $out"

# ---- chargen ----
out=$(nsx "$NS" timeout 60 python3 "$TCP_PEER" chargen 10.0.0.2 19 1048576) || fail "$out"
CONNS=$((CONNS + 1))
log "$out"

# Every connection is over on the ustack side (TIME-WAIT aside).
ss_expect -eq 0 '10\.0\.0\.2:' "connections left after the uploads"

ustack_alive
capture_stop
capture_check "$CAPTURE_FILE" 10.0.0.2 10000

stop_ustack INT
expect_counter TcpPassiveOpens -eq "$CONNS"
expect_counter TcpAttemptFails -eq 0
expect_counter TcpExtListenDrops -eq 0
expect_counter Drop:NOMEM -eq 0
log "interop_tcp_echo passed"
