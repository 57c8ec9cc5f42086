# Common helpers of the interop tests: sourced by each test script.
#
#   source "$(dirname "$0")/lib.sh"
#   interop_init NAME "$1"            # skips (exit 77) without root/tun/netns
#   ns_create NS NAME                 # sets $NS to a fresh namespace
#   start_ustack "$NS" run-args...    # waits for "ready"; $USTACK_PID, $READY
#   ... tests ...
#   stop_ustack INT                   # exit status 0 and counters checked
#
# For the TCP tests: need CMD... (a missing peer fails), pattern_sha256 N,
# ctl_ss / ss_count / ss_expect (ustack's sockets through `--ctl
# $WORKDIR/ctl.sock`), capture_start NS DEV [NAME [FILTER]] / capture_stop /
# capture_check FILE SRC MIN (tcpdump on the Linux side, then tshark: no
# malformed packet, no bad checksum), and tcp_peer.py (Linux-side clients).
#
# Network safety: every namespace and TAP is created here and deleted by the
# EXIT trap (on failure too); tests only talk to addresses inside them.
set -euo pipefail

USTACK=""
TEST_NAME=""
WORKDIR=""
NAMESPACES=()
USTACK_PIDS=()
WATCHDOG_PID=""
# Seconds a test may run before it fails (and cleans up) on its own, well
# before ctest's TIMEOUT would kill it without running the EXIT trap.
INTEROP_DEADLINE=${INTEROP_DEADLINE:-100}
USTACK_PID=""
USTACK_LOG=""
USTACK_ERR=""
READY=""

# Each line shows the seconds since the test started.
log() { echo "--- [${SECONDS}s] $*"; }

SKIPPING=0
skip() {
	echo "SKIP: $*"
	SKIPPING=1
	exit 77
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Stops whatever is still running (our own processes only) and deletes the
# namespaces. Runs on every exit; keeps the exit status.
interop_cleanup() {
	local rc=$?
	set +e
	# 77 means "skipped" to ctest: only skip() may say so, never a command
	# that happened to fail with that status.
	if [ "$rc" -eq 77 ] && [ "$SKIPPING" -ne 1 ]; then
		echo "FAIL: a command exited with status 77" >&2
		rc=1
	fi
	local pid
	[ -n "$WATCHDOG_PID" ] && kill "$WATCHDOG_PID" 2>/dev/null
	for pid in "${USTACK_PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		fi
	done
	local ns
	for ns in "${NAMESPACES[@]}"; do
		# Anything still inside was started by this test (pings, python).
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null || echo "warning: could not delete namespace $ns" >&2
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "$WORKDIR" ]; then
		local f
		for f in "$WORKDIR"/ustack*.log "$WORKDIR"/ustack*.err; do
			[ -s "$f" ] || continue
			echo "==== $f (last 60 lines)" >&2
			tail -n 60 "$f" >&2
		done
	fi
	[ -n "$WORKDIR" ] && rm -rf "$WORKDIR"
	exit "$rc"
}

# interop_init NAME USTACK_BINARY
interop_init() {
	TEST_NAME=$1
	USTACK=${2:-}
	[ -n "$USTACK" ] && [ -x "$USTACK" ] || fail "usage: $0 PATH_TO_USTACK (got '${USTACK}')"
	USTACK=$(readlink -f "$USTACK")
	[ "$(id -u)" -eq 0 ] || skip "needs root (TAP devices and network namespaces)"
	[ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
	( exec 3<>/dev/net/tun ) 2>/dev/null || skip "/dev/net/tun cannot be opened (no tun module?)"
	command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"
	trap interop_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	WORKDIR=$(mktemp -d "/tmp/ustk-$TEST_NAME.XXXXXX")
	# The watchdog: a subshell waiting on a fifo nobody writes (no child
	# process to leave behind), then SIGTERM to us, which runs the cleanup.
	# Bash runs the trap only when its foreground command returns, so the
	# processes this test started (all descendants of this shell but the
	# watchdog) get SIGTERM as well.
	mkfifo "$WORKDIR/watchdog"
	(
		read -r -t "$INTEROP_DEADLINE" <>"$WORKDIR/watchdog" || true
		echo "FAIL: $TEST_NAME still running after ${INTEROP_DEADLINE} s" >&2
		kill -TERM $$ 2>/dev/null
		# shellcheck disable=SC2046
		kill -TERM $(ps -e -o pid=,ppid= | awk -v top=$$ -v me="$BASHPID" '
			{ parent[$1] = $2 }
			END {
				for (p in parent) {
					if (p == top) continue
					for (q = p; q > 1 && q != top && q != me; q = parent[q]) {}
					if (q == top) print p
				}
			}') 2>/dev/null
	) &
	WATCHDOG_PID=$!
	local probe="ustk-$TEST_NAME-probe-$$"
	ip netns add "$probe" 2>/dev/null || skip "ip netns is not available"
	ip netns del "$probe"
}

# ns_create VAR NAME: a new namespace ustk-TEST-NAME-PID, lo up, IPv6 off
# (so that only our traffic reaches the TAPs); its name goes into VAR.
ns_create() {
	local var=$1 name="ustk-$TEST_NAME-$2-$$"
	ip netns add "$name" || fail "cannot create namespace $name"
	NAMESPACES+=("$name")
	ip -n "$name" link set lo up
	ip netns exec "$name" sh -c 'for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 \
		/proc/sys/net/ipv6/conf/default/disable_ipv6; do [ -w "$f" ] && echo 1 > "$f"; done; true'
	printf -v "$var" '%s' "$name"
}

# nsx NS cmd...: runs a command inside a namespace.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# start_ustack NS args...: starts `ustack run args...` inside NS in the
# background, stdout to a log, and waits (10 s at most) for its "ready"
# line, which is left in $READY.
start_ustack() {
	local ns=$1
	shift
	local n=${#USTACK_PIDS[@]}
	USTACK_LOG="$WORKDIR/ustack$n.log"
	USTACK_ERR="$WORKDIR/ustack$n.err"
	ip netns exec "$ns" "$USTACK" run "$@" >"$USTACK_LOG" 2>"$USTACK_ERR" &
	USTACK_PID=$!
	USTACK_PIDS+=("$USTACK_PID")
	local i
	for i in $(seq 100); do
		if grep -q '^ready' "$USTACK_LOG"; then
			READY=$(grep -m1 '^ready' "$USTACK_LOG")
			log "ustack (pid $USTACK_PID): $READY"
			return 0
		fi
		if ! kill -0 "$USTACK_PID" 2>/dev/null; then
			cat "$USTACK_ERR" >&2
			fail "ustack exited before it was ready"
		fi
		sleep 0.1
	done
	fail "ustack did not print 'ready' within 10 s"
}

# ready_mac DEV: the MAC ustack printed for DEV on its ready line.
ready_mac() {
	echo "$READY" | tr ' ' '\n' | sed -n "s/^$1=[^,]*,\([0-9a-f:]*\)$/\1/p"
}

# ustack_alive: fails unless the current ustack still runs.
ustack_alive() {
	kill -0 "$USTACK_PID" 2>/dev/null || fail "ustack is no longer running"
}

# ustack_cpu_ticks: user + system CPU time ustack used so far (clock ticks).
ustack_cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$USTACK_PID/stat"
}

# expect_idle SECONDS: with no traffic, ustack must sleep (in epoll), not
# spin: under a fifth of the CPU over that time.
expect_idle() {
	local secs=$1 before used hz
	hz=$(getconf CLK_TCK)
	before=$(ustack_cpu_ticks)
	sleep "$secs"
	ustack_alive
	used=$(($(ustack_cpu_ticks) - before))
	[ "$used" -lt $((secs * hz / 5)) ] ||
		fail "ustack used $used of $((secs * hz)) CPU ticks while idle (a busy loop?)"
	log "idle for $secs s: $used CPU ticks"
}

# stop_ustack [SIGNAL]: signals ustack (INT by default), waits 10 s at most
# and checks that it exited 0 after printing its counters.
stop_ustack() {
	local sig=${1:-INT} i rc=0
	ustack_alive
	kill "-$sig" "$USTACK_PID"
	for i in $(seq 100); do
		kill -0 "$USTACK_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$USTACK_PID" 2>/dev/null && fail "ustack still running 10 s after SIG$sig"
	wait "$USTACK_PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "ustack exited with status $rc after SIG$sig"
	grep -q '^Inter-|' "$USTACK_LOG" || fail "ustack printed no device counters on SIG$sig"
	grep -Eq '^IpInReceives +[0-9]+$' "$USTACK_LOG" || fail "ustack printed no stack counters on SIG$sig"
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$USTACK_ERR"; then
		cat "$USTACK_ERR" >&2
		fail "sanitizer report from ustack"
	fi
	log "ustack exited 0 on SIG$sig"
}

# counter NAME: a counter from the stopped ustack's output (0 if absent).
counter() {
	awk -v n="$1" '$1 == n { v = $2 } END { print v + 0 }' "$USTACK_LOG"
}

# expect_counter NAME OP VALUE: e.g. expect_counter IcmpInEchos -ge 10
expect_counter() {
	local v
	v=$(counter "$1")
	[ "$v" "$2" "$3" ] || fail "counter $1 is $v, expected $2 $3"
	log "counter $1 = $v ($2 $3)"
}

# link_up NS DEV ADDR/PREFIX: configures the Linux side of a TAP.
link_up() {
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$1" link set "$2" up
}

# wait_until SECONDS cmd...: polls every 0.1 s until cmd succeeds.
wait_until() {
	local limit=$1 i
	shift
	for i in $(seq $((limit * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ping_ok NS ARGS...: runs ping (bounded by -w) and fails the test unless
# every echo was answered with the right data.
ping_ok() {
	local ns=$1 out rc=0
	shift
	out=$(ip netns exec "$ns" ping "$@" 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q ' 0% packet loss' <<<"$out" || grep -q 'wrong data' <<<"$out" ||
		grep -q 'DUP!' <<<"$out"; then
		echo "$out" | tail -n 20 >&2
		fail "ping $* (exit $rc)"
	fi
	PING_OUT=$out
	log "ping $*: $(grep -E 'packets transmitted' <<<"$out")"
}

# ---- TCP tests (interop_tcp_*.sh) ----

# tcp_peer ARGS...: tests/interop/tcp_peer.py (Linux-side peers and checks).
TCP_PEER="$(dirname "${BASH_SOURCE[0]}")/tcp_peer.py"
TCP_PEER=$(readlink -f "$TCP_PEER")

# need CMD...: fails (a missing peer is a broken test machine, not a skip).
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || fail "$c is not installed (scripts/install-deps.sh)"
	done
}

# pattern_sha256 N: the sha256 of /bytes/N's body (byte i is i % 251).
pattern_sha256() {
	python3 "$TCP_PEER" pattern "$1" | sha256sum | cut -d' ' -f1
}

# ctl_ss: `ss -t -n` of the running ustack (needs --ctl $WORKDIR/ctl.sock).
ctl_ss() {
	timeout 10 "$USTACK" ctl "$WORKDIR/ctl.sock" ss -t -n "$@"
}

# ss_count PATTERN: connections of the running ustack, listeners and
# TIME-WAIT left out, whose ss line matches the extended regular expression
# PATTERN (-1 if ustack could not be asked).
ss_count() {
	local out
	out=$(ctl_ss) || { echo -1; return 0; }
	grep -E '^tcp ' <<<"$out" | grep -vE '^tcp +(LISTEN|TIME.WAIT) ' | grep -cE -- "$1" || true
}

# ss_expect OP N PATTERN WHAT: waits (10 s at most) until ss_count PATTERN
# compares to N with OP (-eq, -ge...); fails with WHAT otherwise.
ss_expect() {
	local op=$1 n=$2 pat=$3 what=$4 c i
	for i in $(seq 100); do
		c=$(ss_count "$pat")
		[ "$c" "$op" "$n" ] && return 0
		sleep 0.1
	done
	ctl_ss >&2 || true
	fail "$what: $c connections match '$pat' (want $op $n)"
}

# Packet capture on the Linux side, full frames (so that tshark can verify
# every checksum), bounded in packets; one capture at a time.
CAPTURE_MAX=${CAPTURE_MAX:-300000}
CAPTURE_PID=""
CAPTURE_FILE=""

# capture_start NS DEV [NAME [FILTER...]]: tcpdump on DEV in NS into
# $WORKDIR/NAME.pcap, of the packets FILTER (a tcpdump expression) selects.
# Transmit checksum offload is turned off on the Linux side of the TAP (it
# is off by default on a TAP), so that Linux's own segments are captured
# with their final checksums as well.
capture_start() {
	local ns=$1 dev=$2 name=${3:-$2} i
	shift $(($# < 3 ? $# : 3))
	[ -z "$CAPTURE_PID" ] || fail "capture_start: a capture is already running"
	if command -v ethtool >/dev/null 2>&1; then
		nsx "$ns" ethtool -K "$dev" tx off >/dev/null 2>&1 || true
	fi
	CAPTURE_FILE="$WORKDIR/$name.pcap"
	ip netns exec "$ns" tcpdump -i "$dev" -n -s 0 --immediate-mode -B 131072 -Z root -c "$CAPTURE_MAX" \
		-w "$CAPTURE_FILE" "$@" 2>"$WORKDIR/$name.tcpdump" &
	CAPTURE_PID=$!
	for i in $(seq 100); do
		grep -q 'listening on' "$WORKDIR/$name.tcpdump" && return 0
		kill -0 "$CAPTURE_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORKDIR/$name.tcpdump" >&2
	fail "tcpdump did not start on $dev"
}

# capture_stop: stops tcpdump; fails if it lost packets or hit CAPTURE_MAX
# (the analysis must see every packet of the runs).
capture_stop() {
	local err=${CAPTURE_FILE%.pcap}.tcpdump captured dropped i
	[ -n "$CAPTURE_PID" ] || fail "capture_stop: no capture running"
	sleep 0.3 # the last frames
	kill -INT "$CAPTURE_PID" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$CAPTURE_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$CAPTURE_PID" 2>/dev/null || true
	CAPTURE_PID=""
	captured=$(awk '/packets captured/ { print $1 }' "$err")
	dropped=$(awk '/packets dropped by kernel/ { print $1 }' "$err")
	[ -n "$captured" ] && [ -n "$dropped" ] || { cat "$err" >&2; fail "tcpdump printed no statistics"; }
	[ "$dropped" -eq 0 ] || fail "tcpdump: $dropped packets dropped by the kernel (capture incomplete)"
	[ "$captured" -lt "$CAPTURE_MAX" ] || fail "capture reached its bound of $CAPTURE_MAX packets"
	log "capture: $captured packets in $(basename "$CAPTURE_FILE")"
	# For a look afterwards: INTEROP_KEEP=DIR keeps every capture.
	if [ -n "${INTEROP_KEEP:-}" ]; then
		cp "$CAPTURE_FILE" "$INTEROP_KEEP/$TEST_NAME-$(basename "$CAPTURE_FILE")" || true
	fi
}

# capture_analyze FILE SRC: one tshark pass over FILE with every checksum
# verified (IP, TCP, UDP, ICMP) and its expert analysis; prints "malformed
# bad src_tcp src_tcp_good minus0": expert entries of the Malformed group,
# packets malformed or with a bad checksum, TCP segments from SRC, and of
# those the ones whose checksum was verified good, and the TCP checksums
# sent as 0xffff where tshark computes 0x0000. Those are the same number in
# one's complement arithmetic (-0 and +0; RFC 1624 3, the receiver's sum
# is 0xffff either way, and Linux sends them) and count as good, though
# tshark calls them bad. TCP reassembly is off and payloads are decoded as
# plain data: every segment is checked on its own (application dissectors
# guessing from random ports, EtherCAT or IRC on an ephemeral port, would
# report their own "malformed" payloads), and the analysis of a few
# hundred thousand frames stays within seconds (reassembling large HTTP
# bodies takes tshark minutes).
capture_analyze() {
	local file=$1 src=$2 out
	out=$(tshark -r "$file" -n -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
		-o udp.check_checksum:TRUE -o tcp.desegment_tcp_streams:FALSE -d 'tcp.port==1-65535,data' -d 'udp.port==1-65535,data' -z expert \
		-T fields -E separator=/t -e ip.src -e ip.checksum.status -e tcp.checksum.status \
		-e udp.checksum.status -e icmp.checksum.status -e _ws.malformed -e tcp.checksum \
		-e tcp.checksum_calculated 2>/dev/null) ||
		fail "tshark could not read $file"
	sed -n '/^$/,$p' <<<"$out" >"$WORKDIR/expert.txt"
	awk -F'\t' -v src="$src" '
		/^$/ { stats = 1 }
		stats { if ($0 ~ /^ +[0-9]+ +Malformed /) m++; next }
		{
			tcp = $3
			if (tcp == "0" && $7 == "0xffff" && $8 == "0x0000") { tcp = "1"; z++ }
			if ($2 == "0" || tcp == "0" || $4 == "0" || $5 == "0" || $6 != "") bad++
			if ($1 == src && tcp != "") { t++; if (tcp == "1") g++ }
		}
		END { print m + 0, bad + 0, t + 0, g + 0, z + 0 }' <<<"$out"
}

CAPTURE_SELFTESTED=0
# capture_check FILE SRC MIN: tshark's expert analysis of FILE shows no
# malformed packet and no bad checksum (IP, TCP, UDP, ICMP); every TCP
# segment from SRC (ustack) has a verified good checksum, and there are at
# least MIN of them. Once per test, a crafted capture with one bad checksum
# and one malformed frame must fail the same check.
capture_check() {
	local file=$1 src=$2 min=$3 malformed bad total good minus0
	if [ "$CAPTURE_SELFTESTED" -eq 0 ]; then
		python3 "$TCP_PEER" badpcap "$WORKDIR/bad.pcap" >/dev/null || fail "cannot write bad.pcap"
		read -r malformed bad total good minus0 < <(capture_analyze "$WORKDIR/bad.pcap" 10.0.0.1)
		[ "$malformed $bad $total $good" = "1 2 1 0" ] ||
			fail "the capture check missed crafted bad packets (got '$malformed $bad $total $good', want '1 2 1 0')"
		CAPTURE_SELFTESTED=1
	fi
	read -r malformed bad total good minus0 < <(capture_analyze "$file" "$src")
	if [ "$malformed" -ne 0 ] || [ "$bad" -ne 0 ]; then
		cat "$WORKDIR/expert.txt" >&2
		# The offending frames, in full (the first few).
		tshark -r "$file" -n -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE \
			-o udp.check_checksum:TRUE -o tcp.desegment_tcp_streams:FALSE \
			-d 'tcp.port==1-65535,data' -d 'udp.port==1-65535,data' -Y '_ws.malformed || ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0' \
			-c 3 -V -x 2>/dev/null | head -n 300 >&2
		fail "$(basename "$file"): $malformed malformed expert entries, $bad malformed or bad-checksum packets"
	fi
	[ "$total" -eq "$good" ] || fail "$(basename "$file"): $((total - good)) of $total TCP segments from $src not verified good"
	[ "$total" -ge "$min" ] || fail "$(basename "$file"): only $total TCP segments from $src (want >= $min)"
	local note=""
	[ "$minus0" -gt 0 ] && note=" ($minus0 TCP checksums sent as 0xffff for 0x0000, equal in one's complement)"
	log "tshark: $(basename "$file"): no malformed packet, no bad checksum; $good TCP segments from $src verified good$note"
}
