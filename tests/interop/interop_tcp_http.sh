#!/bin/bash
# ustack's HTTP/1.1 server (`ustack run --serve http:80 --root DIR`) against
# Linux clients on a TAP in a private network namespace:
#  - curl downloads /bytes/N (byte i = i % 251) for sizes around segment and
#    buffer boundaries and files of 0 B, 1 B, 1 MiB and 1 GiB from --root,
#    each checked with sha256; HEAD gives the length and no body;
#  - keep-alive: curl reuses one connection for several requests; pipelined
#    requests are answered in order on one connection;
#  - 404 for missing paths (the connection stays open), 400 for malformed
#    requests (and the connection is closed), 431, 501, 505;
#  - clients that vanish: half a request then close, or reset; clients that
#    hold half a request; a client killed in the middle of a download; a
#    reader that stops reading; a client whose link goes away silently. The
#    server keeps serving everyone else, and lets go of every connection
#    whose client closed or reset;
#  - tshark: the capture of all of the above (but the 1 GiB) has no
#    malformed packet and no bad checksum.
#
#   ns host: t0 10.0.0.1/24 <-TAP-> ustack t0 10.0.0.2 (http:80)
#            t1 10.0.9.1/24 <-TAP-> ustack t1 10.0.9.2 (the silent client)
INTEROP_DEADLINE=${INTEROP_DEADLINE:-200}
source "$(dirname "$0")/lib.sh"
interop_init tcp_http "${1:-}"
need curl python3 tcpdump tshark sha256sum

ns_create NS host
ROOT="$WORKDIR/root"
mkdir -p "$ROOT/sub"
: >"$ROOT/empty"
head -c 1 /dev/urandom >"$ROOT/one"
head -c 1048576 /dev/urandom >"$ROOT/mib"
printf 'index of sub\n' >"$ROOT/sub/index.html"
printf 'spaced\n' >"$ROOT/a b"

start_ustack "$NS" --tap t0=10.0.0.2/24 --tap t1=10.0.9.2/24 --serve http:80 --root "$ROOT" \
	--ctl "$WORKDIR/ctl.sock"
link_up "$NS" t0 10.0.0.1/24
link_up "$NS" t1 10.0.9.1/24
capture_start "$NS" t0
URL=http://10.0.0.2

# get URL EXPECT_CODE EXPECT_SIZE EXPECT_SHA256: one curl, checked.
get() {
	local url=$1 code=$2 size=$3 sha=$4 out got
	out=$(nsx "$NS" curl -sS --max-time 60 -o "$WORKDIR/body" \
		-w '%{http_code} %{size_download}' "$url") || fail "curl $url failed (exit $?)"
	[ "$out" = "$code $size" ] || fail "curl $url: got '$out', want '$code $size'"
	if [ -n "$sha" ]; then
		got=$(sha256sum <"$WORKDIR/body" | cut -d' ' -f1)
		[ "$got" = "$sha" ] || fail "curl $url: sha256 $got, want $sha"
	fi
}

# ---- /bytes/N: sizes around MSS, 64 KiB, buffer sizes, a prime ----
for n in 0 1 1448 1449 1460 1461 65535 65536 65537 1048576 10000019; do
	get "$URL/bytes/$n" 200 "$n" "$(pattern_sha256 "$n")"
done
log "/bytes/N: 11 sizes from 0 to 10000019, sha256 equal"

# ---- files under --root ----
for f in empty one mib; do
	get "$URL/$f" 200 "$(stat -c %s "$ROOT/$f")" "$(sha256sum <"$ROOT/$f" | cut -d' ' -f1)"
done
get "$URL/sub/" 200 13 "$(sha256sum <"$ROOT/sub/index.html" | cut -d' ' -f1)"
get "$URL/a%20b" 200 7 "$(sha256sum <"$ROOT/a b" | cut -d' ' -f1)"
log "files of 0 B, 1 B, 1 MiB (and an index.html, a percent-encoded name): sha256 equal"

# ---- HEAD: the length, no body ----
hdr=$(nsx "$NS" curl -sS --max-time 10 -I "$URL/mib" | tr -d '\r')
grep -qx 'HTTP/1.1 200 OK' <<<"$hdr" || fail "HEAD /mib: $hdr"
grep -qx 'Content-Length: 1048576' <<<"$hdr" || fail "HEAD /mib: no Content-Length 1048576: $hdr"
hdr=$(nsx "$NS" curl -sS --max-time 10 -I "$URL/bytes/12345" | tr -d '\r')
grep -qx 'Content-Length: 12345' <<<"$hdr" || fail "HEAD /bytes/12345: $hdr"
log "HEAD: Content-Length of the file and of /bytes/N"

# ---- keep-alive: one connection for four requests ----
out=$(nsx "$NS" curl -sS --max-time 30 -w '%{num_connects} %{http_code} %{size_download}\n' \
	"$URL/bytes/100000" -o "$WORKDIR/k1" "$URL/mib" -o "$WORKDIR/k2" \
	"$URL/nope" -o "$WORKDIR/k3" "$URL/bytes/7" -o "$WORKDIR/k4")
want=$'1 200 100000\n0 200 1048576\n0 404 14\n0 200 7'
[ "$out" = "$want" ] || fail "keep-alive: got '$out', want '$want' (num_connects code size)"
cmp -s "$WORKDIR/k2" "$ROOT/mib" || fail "keep-alive: /mib differs"
[ "$(sha256sum <"$WORKDIR/k1" | cut -d' ' -f1)" = "$(pattern_sha256 100000)" ] || fail "keep-alive: /bytes/100000 differs"
log "keep-alive: 4 requests (a 404 among them) on one connection"

# ---- pipelining: five requests in one write, answered in order ----
peer_http() {
	nsx "$NS" timeout 30 python3 "$TCP_PEER" http 10.0.0.2 80 "$1"
}
out=$(peer_http 'GET /bytes/5 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /bytes/7 HTTP/1.1\r\nHost: x\r\n\r\nGET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\nGET /bytes/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
want='HTTP/1.1 200 OK|len=5|conn=keep-alive|body=5 pattern
HTTP/1.1 200 OK|len=7|conn=keep-alive|body=0
HTTP/1.1 200 OK|len=1|conn=keep-alive|body=1
HTTP/1.1 404 Not Found|len=14|conn=keep-alive|body=14
HTTP/1.1 200 OK|len=3|conn=close|body=3 pattern
EOF'
[ "$out" = "$want" ] || fail "pipelining: got
$out
want
$want"
# HTTP/1.0 closes by default, keeps the connection when asked.
out=$(peer_http 'GET /bytes/2 HTTP/1.0\r\n\r\n')
[ "$out" = $'HTTP/1.1 200 OK|len=2|conn=close|body=2 pattern\nEOF' ] || fail "HTTP/1.0: $out"
out=$(peer_http 'GET /bytes/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
[ "$out" = $'HTTP/1.1 200 OK|len=2|conn=keep-alive|body=2 pattern\nOPEN' ] || fail "HTTP/1.0 keep-alive: $out"
log "pipelining: 5 requests answered in order (HEAD without body), closed after Connection: close"

# ---- 404 ----
for p in /nope /bytes/abc /bytes/ /bytes/12x /sub/missing /empty/x; do
	get "$URL$p" 404 14 ""
done
log "404 for 6 missing paths"

# ---- 400 and friends: answered, then the connection is closed ----
# expect_error REQUEST STATUS [END]: one response with STATUS and
# "Connection: close", then the connection ends with END (an extended
# regular expression; default EOF).
expect_error() {
	local req=$1 status=$2 end=${3:-EOF} out
	out=$(peer_http "$req")
	if ! grep -qx "HTTP/1.1 $status|len=[0-9]*|conn=close|body=[0-9]*" <<<"$(head -n1 <<<"$out")" ||
		! grep -qxE "$end" <<<"$(tail -n1 <<<"$out")" || [ "$(wc -l <<<"$out")" -ne 2 ]; then
		fail "request '${req:0:80}': got '$out', want '$status' and the connection closed ($end)"
	fi
}
expect_error 'GARBAGE\r\n\r\n' '400 Bad Request'
expect_error 'GET / HTTP/1.1\r\n\r\n' '400 Bad Request'                       # no Host
expect_error 'GET  HTTP/1.1\r\nHost: x\r\n\r\n' '400 Bad Request'            # no target
expect_error 'GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n' '400 Bad Request'
expect_error 'GET /../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n' '400 Bad Request'
expect_error 'GET /bytes/5 HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n' '400 Bad Request'
expect_error 'GET /bytes/5 HTTX/1.1\r\nHost: x\r\n\r\n' '400 Bad Request'
expect_error 'GET /bytes/5 HTTP/1.1\r\nHost: x\r\nX: '"$(printf 'a%.0s' $(seq 9000))"'\r\n\r\n' \
	'431 Request Header Fields Too Large' 'EOF|RESET' # unread bytes: Linux's close resets too
expect_error 'GET /bytes/5 HTTP/2.0\r\nHost: x\r\n\r\n' '505 HTTP Version Not Supported'
expect_error 'GET /bytes/5 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' '501 Not Implemented'
out=$(peer_http 'POST /bytes/5 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcdGET /bytes/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
[ "$out" = $'HTTP/1.1 501 Not Implemented|len=20|conn=keep-alive|body=20\nHTTP/1.1 200 OK|len=4|conn=close|body=4 pattern\nEOF' ] ||
	fail "POST with a body, then GET: $out"
get "$URL/bytes/1000" 200 1000 "$(pattern_sha256 1000)"
log "400 (7 kinds), 431, 505, 501: answered and closed; a POST body skipped; still serving"

# ---- clients that vanish ----
# Half a request, then close (FIN) or reset (RST): 20 of each.
for mode in fin rst; do
	for _ in $(seq 20); do
		out=$(nsx "$NS" timeout 10 python3 "$TCP_PEER" half 10.0.0.2 80 "$mode") ||
			fail "half-request client ($mode) failed: $out"
	done
done
ss_expect -eq 0 ':80 ' "clients that closed or reset after half a request"
get "$URL/bytes/1000" 200 1000 "$(pattern_sha256 1000)"
log "20 clients closed and 20 reset after half a request: all let go, still serving"

# 50 clients hold half a request; meanwhile others are served.
HOLDERS=()
for i in $(seq 50); do
	ip netns exec "$NS" python3 "$TCP_PEER" half 10.0.0.2 80 hold >"$WORKDIR/hold$i" 2>&1 &
	HOLDERS+=($!)
done
ss_expect -eq 50 'ESTAB .*10\.0\.0\.2:80 ' "50 clients holding half a request"
get "$URL/mib" 200 1048576 "$(sha256sum <"$ROOT/mib" | cut -d' ' -f1)"
get "$URL/bytes/3000000" 200 3000000 "$(pattern_sha256 3000000)"
kill "${HOLDERS[@]}"
wait "${HOLDERS[@]}" 2>/dev/null || true
ss_expect -eq 0 ':80 ' "holding clients after they died"
log "50 clients holding half a request: others served meanwhile; all let go when they died"

# A reader that stops reading (a full window) and a client killed in the
# middle of a download (Linux resets: unread data).
ip netns exec "$NS" python3 -c '
import socket, time
s = socket.create_connection(("10.0.0.2", 80))
s.sendall(b"GET /bytes/100000000 HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(3600)' &
STALLED=$!
ip netns exec "$NS" curl -sS --max-time 60 --limit-rate 1M -o /dev/null "$URL/bytes/1000000000" 2>/dev/null &
KILLED=$!
ss_expect -ge 2 'ESTAB +0 +[1-9][0-9]{4,} .*10\.0\.0\.2:80 ' "a stalled reader and a download with data queued"
get "$URL/mib" 200 1048576 "$(sha256sum <"$ROOT/mib" | cut -d' ' -f1)"
kill -KILL "$KILLED"
wait "$KILLED" 2>/dev/null || true
ss_expect -eq 1 ':80 ' "the download killed midway"
get "$URL/bytes/1000" 200 1000 "$(pattern_sha256 1000)"
kill -KILL "$STALLED"
wait "$STALLED" 2>/dev/null || true
ss_expect -eq 0 ':80 ' "the stalled reader after it died"
log "a stalled reader and a download killed midway (reset): let go, others served"

# A client whose link vanishes silently (no FIN, no RST reaches ustack):
# the server keeps its connection (until its idle timeout) and serves the
# others.
ip netns exec "$NS" python3 "$TCP_PEER" half 10.0.9.2 80 hold 10.0.9.1 >"$WORKDIR/silent" 2>&1 &
SILENT=$!
ss_expect -eq 1 'ESTAB .*10\.0\.9\.1:' "the client on t1"
ip -n "$NS" link set t1 down
kill -KILL "$SILENT"
wait "$SILENT" 2>/dev/null || true
for _ in 1 2 3; do
	get "$URL/bytes/65537" 200 65537 "$(pattern_sha256 65537)"
done
[ "$(ss_count 'ESTAB .*10\.0\.9\.1:')" -eq 1 ] || fail "the silent client's connection is gone already"
log "a client whose link went down silently: connection kept, others served"

ustack_alive
capture_stop
capture_check "$CAPTURE_FILE" 10.0.0.2 5000

# ---- 1 GiB from --root (not captured) ----
t0=$(date +%s.%N)
head -c 1073741824 /dev/urandom >"$ROOT/gib"
sha256sum <"$ROOT/gib" | cut -d' ' -f1 >"$WORKDIR/gib.sha" &
SHAPID=$!
t1=$(date +%s.%N)
got=$(set -o pipefail; nsx "$NS" curl -sS --max-time 150 "$URL/gib" | sha256sum | cut -d' ' -f1) ||
	fail "curl /gib failed"
t2=$(date +%s.%N)
wait "$SHAPID"
[ "$got" = "$(cat "$WORKDIR/gib.sha")" ] || fail "1 GiB: sha256 $got, want $(cat "$WORKDIR/gib.sha")"
log "$(awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "1 GiB file: sha256 equal; made in %.1f s, downloaded in %.1f s (%.0f Mbit/s)", b - a, c - b, 8589.934592 / (c - b) }')"
rm -f "$ROOT/gib"

ustack_alive
stop_ustack INT
expect_counter TcpPassiveOpens -eq 142   # every connection this script opened
expect_counter TcpEstabResets -ge 21   # 20 resetting clients and the killed download
expect_counter TcpExtListenOverflows -eq 0
expect_counter TcpExtListenDrops -eq 0
expect_counter Drop:NOMEM -eq 0
log "interop_tcp_http passed"
