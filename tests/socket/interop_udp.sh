#!/bin/bash
# Linux UDP tools against `ustack run --serve udp-echo:7,udp-discard:9` over
# a TAP: socat exchanges datagrams of 1, 1472, 8000 and 65000 bytes with
# the echo service (the last two fragmented both ways; content compared),
# nc -u feeds the discard service (nothing comes back), and a connected
# Linux UDP socket sending to a closed ustack port gets ECONNREFUSED from
# the ICMP port unreachable ustack answers with.
#
#   ns ustk-sockudp-host-PID:  Linux t0 10.0.0.1/24  <-TAP->  ustack 10.0.0.2/24
source "$(dirname "$0")/../interop/lib.sh"
interop_init sockudp "${1:-}"
for tool in socat nc python3 cmp; do
	command -v "$tool" >/dev/null || fail "$tool is not installed"
done

ns_create NS host
start_ustack "$NS" --tap t0=10.0.0.2/24 --serve udp-echo:7,udp-discard:9
link_up "$NS" t0 10.0.0.1/24

# Echo: one datagram each way per size (socat reads the whole file in one
# read with -b 65536, so it is one datagram), compared byte for byte.
sizes=(1 1472 8000 65000)
tries=0
for size in "${sizes[@]}"; do
	head -c "$size" /dev/urandom >"$WORKDIR/in.$size"
	ok=0
	# A datagram may be lost only to a first ARP exchange race; retry once.
	for try in 1 2; do
		tries=$((tries + 1))
		nsx "$NS" socat -b 65536 -t 1 -T 2 STDIO UDP4:10.0.0.2:7 \
			<"$WORKDIR/in.$size" >"$WORKDIR/out.$size" 2>"$WORKDIR/socat.err" || true
		if cmp -s "$WORKDIR/in.$size" "$WORKDIR/out.$size"; then
			ok=1
			break
		fi
		log "size $size, try $try: got $(stat -c %s "$WORKDIR/out.$size") bytes back"
	done
	[ "$ok" -eq 1 ] || { cat "$WORKDIR/socat.err" >&2; fail "udp-echo: $size bytes did not come back intact"; }
	log "udp-echo: $size bytes back intact"
done

# Discard: three datagrams with nc -u, nothing comes back.
for size in 1 512 1472; do
	head -c "$size" /dev/urandom >"$WORKDIR/d.$size"
	out=$(nsx "$NS" nc -u -w 1 10.0.0.2 9 <"$WORKDIR/d.$size" 2>&1 || true)
	[ -z "$out" ] || fail "udp-discard answered: $out"
done
log "udp-discard: 3 datagrams sent, nothing back"

# A closed port: ICMP port unreachable, ECONNREFUSED on the connected
# socket's next call (Linux's semantics, on the Linux side).
nsx "$NS" python3 - <<'PY' || fail "no ECONNREFUSED from a closed ustack port"
import errno, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(("10.0.0.2", 5999))
s.send(b"anyone?")
try:
    s.recv(100)
except ConnectionRefusedError:
    print("--- closed port: ECONNREFUSED")
    sys.exit(0)
except socket.timeout:
    print("timeout: no ICMP error reported", file=sys.stderr)
sys.exit(1)
PY

ustack_alive
stop_ustack INT
# Every datagram sent to the services was read; each echo one answered.
expect_counter UdpInDatagrams -eq $((tries + 3))
expect_counter UdpOutDatagrams -eq "$tries"
expect_counter UdpNoPorts -eq 1
expect_counter IcmpOutDestUnreachs -eq 1
expect_counter IpReasmOKs -ge 2      # 8000 and 65000 bytes from Linux
expect_counter IpFragOKs -ge 2       # and back from ustack
expect_counter UdpInErrors -eq 0
expect_counter UdpInCsumErrors -eq 0
expect_counter IpInHdrErrors -eq 0
log "interop_udp passed"
