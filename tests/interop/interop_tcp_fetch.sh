#!/bin/bash
# ustack as the TCP client and as the sender under loss, against Linux on
# TAPs in a private network namespace:
#  - `ustack fetch` (a fresh stack on a TAP made beforehand with `ip tuntap
#    add`) downloads files of 0 B, 1 B, 1 MiB and 20 MiB from Linux's
#    `python3 -m http.server`: byte for byte the files, exit 0; a missing
#    file is a 404 and a non-zero exit;
#  - the same downloads with --impair f0:loss=2% on ustack's device: still
#    intact; the capture shows the loss (gaps in the IP IDs of ustack's
#    packets, which count up by one per packet of a flow) while the run
#    without impairment has none;
#  - the other direction under loss: `ustack run --impair t0:loss=2%`
#    serves 5 MiB to curl: intact, and ustack had to retransmit;
#  - tshark: every capture has no malformed packet and no bad checksum.
INTEROP_DEADLINE=${INTEROP_DEADLINE:-150}
source "$(dirname "$0")/lib.sh"
interop_init tcp_fetch "${1:-}"
need curl python3 tcpdump tshark cmp

ns_create NS host
WWW="$WORKDIR/www"
mkdir "$WWW"
: >"$WWW/empty"
head -c 1 /dev/urandom >"$WWW/one"
head -c 1048576 /dev/urandom >"$WWW/mib"
head -c 20971520 /dev/urandom >"$WWW/big"

ip -n "$NS" tuntap add dev f0 mode tap
link_up "$NS" f0 10.0.1.1/24
ip netns exec "$NS" python3 -m http.server --bind 10.0.1.1 --directory "$WWW" 8000 \
	>"$WORKDIR/http.log" 2>&1 &
wait_until 10 nsx "$NS" curl -sf -o /dev/null http://10.0.1.1:8000/one || fail "python3 -m http.server did not start"

# fetch FILE [IMPAIR]: ustack fetch of FILE, compared with the original.
fetch() {
	local f=$1 imp=${2:-} out args=()
	[ -n "$imp" ] && args=(--impair "f0:$imp")
	out=$(nsx "$NS" timeout 60 "$USTACK" fetch --tap f0=10.0.1.2/24 "${args[@]}" --timeout 30 \
		-o "$WORKDIR/got" "http://10.0.1.1:8000/$f" 2>"$WORKDIR/fetch.err") ||
		{ cat "$WORKDIR/fetch.err" >&2; fail "ustack fetch $f ${imp:+($imp)} failed: $out"; }
	grep -Eq "^fetched $(stat -c %s "$WWW/$f") bytes in .*HTTP status 200$" <<<"$out" ||
		fail "ustack fetch $f: '$out'"
	cmp "$WWW/$f" "$WORKDIR/got" || fail "ustack fetch $f ${imp:+($imp)}: content differs"
	grep -Eq 'AddressSanitizer|runtime error' "$WORKDIR/fetch.err" && { cat "$WORKDIR/fetch.err" >&2; fail "sanitizer report"; }
	log "ustack fetch /$f ${imp:+with $imp }: identical; $out"
}

# ipid_gaps FILE SRC: IP IDs missing between consecutive TCP packets from
# SRC, and the packets seen ("gaps packets"). Each stack (one per fetch,
# told apart by its MAC address) counts the IDs of its TCP packets to one
# peer up by one (ip_select_ident: a counter per hash bucket of saddr,
# daddr, protocol), whatever the connection.
ipid_gaps() {
	tshark -r "$1" -n -Y "tcp && ip.src == $2" -T fields -e eth.src -e ip.id 2>/dev/null | awk '
		function hex(s,  i, v) {
			s = tolower(s); sub(/^0x/, "", s)
			for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v
		}
		{ id = hex($2); n++
		  if ($1 in last) { d = (id - last[$1] + 65536) % 65536; if (d > 1) gaps += d - 1 }
		  last[$1] = id }
		END { print gaps + 0, n + 0 }'
}

# ---- downloads without impairment ----
capture_start "$NS" f0 clean
for f in empty one mib big; do
	fetch "$f"
done
rc=0
out=$(nsx "$NS" timeout 60 "$USTACK" fetch --tap f0=10.0.1.2/24 --timeout 30 -o "$WORKDIR/got" \
	http://10.0.1.1:8000/missing 2>"$WORKDIR/fetch.err") || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "ustack fetch of a missing file: exit $rc"
grep -q 'HTTP status 404' <<<"$out" || fail "ustack fetch of a missing file: '$out'"
log "ustack fetch /missing: exit $rc, $out"
capture_stop
capture_check "$CAPTURE_FILE" 10.0.1.2 100
read -r gaps pkts < <(ipid_gaps "$CAPTURE_FILE" 10.0.1.2)
[ "$gaps" -eq 0 ] || fail "without impairment: $gaps IP IDs missing among $pkts packets from ustack"
log "without impairment: no IP ID missing among $pkts TCP packets from ustack"
# Every connection closed cleanly: each FIN of the server was acknowledged
# by ustack (else Linux retransmits it to a stack that is gone, and the
# server's socket lingers in LAST_ACK), and nobody reset anything.
read -r fins acked rsts < <(tshark -r "$CAPTURE_FILE" -n -T fields -e tcp.stream -e ip.src \
	-e tcp.flags.fin -e tcp.flags.reset -e tcp.seq_raw -e tcp.len -e tcp.ack_raw 2>/dev/null | awk -F'\t' '
	$4 == "1" || $4 == "True" { r++ }
	$2 == "10.0.1.1" && ($3 == "1" || $3 == "True") && !($1 in want) { want[$1] = ($5 + $6 + 1) % 4294967296; f++ }
	$2 == "10.0.1.2" && ($1 in want) && !($1 in ok) {
		d = ($7 - want[$1] + 4294967296) % 4294967296
		if (d < 2147483648) ok[$1] = 1
	}
	END { n = 0; for (k in ok) n++; print f + 0, n, r + 0 }')
[ "$fins" -ge 5 ] && [ "$acked" -eq "$fins" ] && [ "$rsts" -eq 0 ] ||
	fail "closing: $fins connections closed by the server, $acked of its FINs acknowledged by ustack, $rsts resets (want all acknowledged, no reset)"
log "closing: the FINs of all $fins connections acknowledged by ustack, no reset"

# ---- the same with 2% loss on ustack's device ----
# (Only ustack's packets are captured: the loss shows in them, and Linux's
# 45000 data segments were checked above already.)
capture_start "$NS" f0 lossy src host 10.0.1.2
for f in one mib big big big; do
	fetch "$f" loss=2%,seed=$((RANDOM + 1))
done
capture_stop
capture_check "$CAPTURE_FILE" 10.0.1.2 100
read -r gaps pkts < <(ipid_gaps "$CAPTURE_FILE" 10.0.1.2)
[ "$gaps" -gt 0 ] && [ $((gaps * 100)) -le $((pkts * 6)) ] ||
	fail "with loss=2%: $gaps IP IDs missing among $pkts packets seen (want some, at most ~6%)"
log "with loss=2%: $gaps of $((gaps + pkts)) packets from ustack lost on the way, downloads intact"

# ---- ustack sending under loss: curl from `ustack run --impair` ----
seed=$((RANDOM + 1))
log "ustack run --impair t0:loss=2%,seed=$seed"
start_ustack "$NS" --tap t0=10.0.0.2/24 --serve http:80 --impair "t0:loss=2%,seed=$seed"
link_up "$NS" t0 10.0.0.1/24
capture_start "$NS" t0 send
# 5 MiB: with NewReno recovery and RTOs, 20 MiB under 2% loss takes
# from 4 to 30 s depending on where the losses fall.
n=5242880
got=$(set -o pipefail; nsx "$NS" curl -sS --max-time 60 http://10.0.0.2/bytes/$n | sha256sum | cut -d' ' -f1) ||
	fail "curl from ustack with loss failed"
[ "$got" = "$(pattern_sha256 $n)" ] || fail "curl /bytes/$n from ustack with loss=2%: sha256 differs"
capture_stop
capture_check "$CAPTURE_FILE" 10.0.0.2 3600
read -r gaps pkts < <(ipid_gaps "$CAPTURE_FILE" 10.0.0.2)
[ "$gaps" -gt 0 ] || fail "ustack with loss=2%: no IP ID missing among $pkts packets"
stop_ustack INT
expect_counter TcpRetransSegs -gt 0
log "curl /bytes/$n from ustack with loss=2%: intact; $gaps segments lost, $(counter TcpRetransSegs) retransmitted"
log "interop_tcp_fetch passed"
