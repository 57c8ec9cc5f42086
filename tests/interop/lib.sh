# Common helpers of the interop tests: sourced by each test script.
#
#   source "$(dirname "$0")/lib.sh"
#   interop_init NAME "$1"            # skips (exit 77) without root/tun/netns
#   ns_create NS NAME                 # sets $NS to a fresh namespace
#   start_ustack "$NS" run-args...    # waits for "ready"; $USTACK_PID, $READY
#   ... tests ...
#   stop_ustack INT                   # exit status 0 and counters checked
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

log() { echo "--- $*"; }

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
	mkfifo "$WORKDIR/watchdog"
	(
		read -r -t "$INTEROP_DEADLINE" <>"$WORKDIR/watchdog" || true
		echo "FAIL: $TEST_NAME still running after ${INTEROP_DEADLINE} s" >&2
		kill -TERM $$ 2>/dev/null
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
