#!/bin/bash
# The command-line contract of `ustack run` and its life around the TAP:
#  - bad invocations: one line on stderr, nothing on stdout, non-zero exit;
#  - without CAP_NET_ADMIN: "needs root or CAP_NET_ADMIN", non-zero exit;
#  - the Linux side configured only after ustack is ready, then taken down
#    and up, readdressed, given a new MAC: ustack keeps running (without
#    spinning) and answers pings whenever the link is up;
#  - SIGTERM: exit 0 with counters.
source "$(dirname "$0")/lib.sh"
interop_init errors "${1:-}"
command -v ping >/dev/null || fail "ping (iputils-ping) is not installed"

ns_create NS host

# ---- bad invocations (inside the namespace, so that a parser letting one
# through could not create a device anywhere else) ----
bad_usage() {
	local want=$1 out err rc=0
	shift
	out=$(nsx "$NS" timeout 10 "$USTACK" "$@" 2>"$WORKDIR/err") || rc=$?
	err=$(cat "$WORKDIR/err")
	[ "$rc" -ne 0 ] || fail "ustack $* exited 0"
	[ "$rc" -ne 124 ] || fail "ustack $* did not exit (timeout)"
	[ -z "$out" ] || fail "ustack $*: unexpected stdout: $out"
	[ "$(wc -l <"$WORKDIR/err")" -eq 1 ] || { echo "$err" >&2; fail "ustack $*: expected one line on stderr"; }
	grep -q "AddressSanitizer\|runtime error" <<<"$err" && fail "ustack $*: sanitizer report"
	if [ -n "$want" ] && ! grep -qF -- "$want" <<<"$err"; then
		fail "ustack $*: stderr '$err' does not mention '$want'"
	fi
	log "ustack $* -> exit $rc: $err"
}
bad_usage "" run --bogus
bad_usage "" run --tap t0=10.0.0.2/24 --no-such-option
bad_usage "10.0.0.300" run --tap t0=10.0.0.300/24
bad_usage "10.0.0.2/33" run --tap t0=10.0.0.2/33
bad_usage "10.0.0.2/x" run --tap t0=10.0.0.2/x
bad_usage "t0=10.0.0.2" run --tap t0=10.0.0.2
bad_usage "" run --tap
bad_usage "" run --tap t0=10.0.0.2/24 --mtu
bad_usage "--mtu" run --tap t0=10.0.0.2/24 --mtu 20
bad_usage "--mtu" run --tap t0=10.0.0.2/24 --mtu lots
bad_usage "--route" run --tap t0=10.0.0.2/24 --route 10.9.0.0/16
bad_usage "bad gateway" run --tap t0=10.0.0.2/24 --route 10.9.0.0/16,10.0.0.999
bad_usage "given twice" run --tap t0=10.0.0.2/24 --tap t0=10.0.0.3/24
bad_usage "--impair" run --tap t0=10.0.0.2/24 --impair t0:loss=lots
bad_usage "" run
bad_usage "" run --tap t0=10.0.0.2/24 stray-argument
bad_usage "" no-such-command
bad_usage "" run --tap x=10.0.0.2/24 --tun x=10.0.0.3/24
[ -z "$(ip -n "$NS" -o link show | grep -v ' lo:')" ] || fail "a bad invocation left a device behind"

# ---- no permission ----
# An unprivileged user (the binary copied where nobody may run it).
mkdir -m 755 "$WORKDIR/bin"
chmod 755 "$WORKDIR"
cp "$USTACK" "$WORKDIR/bin/ustack"
chmod 755 "$WORKDIR/bin/ustack"
no_perm() {
	local what=$1 rc=0
	shift
	nsx "$NS" timeout 10 "$@" "$WORKDIR/bin/ustack" run --tap t0=10.0.0.2/24 \
		>"$WORKDIR/out" 2>"$WORKDIR/err" || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$what: ustack exited $rc"
	grep -q 'needs root or CAP_NET_ADMIN' "$WORKDIR/err" ||
		{ cat "$WORKDIR/err" >&2; fail "$what: no 'needs root or CAP_NET_ADMIN'"; }
	[ "$(wc -l <"$WORKDIR/err")" -eq 1 ] || { cat "$WORKDIR/err" >&2; fail "$what: more than one line"; }
	grep -q '^ready' "$WORKDIR/out" && fail "$what: ustack said ready"
	log "$what -> exit $rc: $(cat "$WORKDIR/err")"
}
if command -v setpriv >/dev/null; then
	no_perm "as nobody" setpriv --reuid=65534 --regid=65534 --clear-groups
	# root, but without CAP_NET_ADMIN
	no_perm "root without CAP_NET_ADMIN" setpriv --bounding-set=-net_admin --inh-caps=-net_admin
else
	no_perm "as nobody" su nobody -s /bin/sh -c '"$0" "$@"'
fi
[ -z "$(ip -n "$NS" -o link show | grep -v ' lo:')" ] || fail "an unprivileged run left a device behind"

# ---- the Linux side of the TAP comes and goes ----
start_ustack "$NS" --tap t0=10.0.0.2/24
# Only now is the Linux side configured.
ip -n "$NS" link show t0 | grep -q 'state DOWN' || fail "t0 should start down on the Linux side"
link_up "$NS" t0 10.0.0.1/24
ping_ok "$NS" -c 3 -i 0.2 -W 2 -w 10 10.0.0.2

ustack_alive
expect_idle 1

for cycle in 1 2 3; do
	ip -n "$NS" link set t0 down
	# Meanwhile ustack may try to send (its ARP timers run): EIO, counted.
	if nsx "$NS" ping -c 1 -W 1 -w 2 10.0.0.2 >/dev/null 2>&1; then
		fail "ping answered with t0 down"
	fi
	expect_idle 1
	ip -n "$NS" link set t0 up
	wait_until 10 nsx "$NS" ping -c 1 -W 1 10.0.0.2 || fail "no answer after t0 came back up (cycle $cycle)"
	ping_ok "$NS" -c 3 -i 0.2 -W 2 -w 10 10.0.0.2
	log "cycle $cycle: down (still running, idle), up, answering"
done

# Readdressed: the old Linux address goes, a new one in the same subnet comes.
ip -n "$NS" addr flush dev t0
ip -n "$NS" addr add 10.0.0.5/24 dev t0
ping_ok "$NS" -c 3 -i 0.2 -W 2 -w 10 10.0.0.2
grep -q 'from 10.0.0.2' <<<"$PING_OUT" || fail "no reply from 10.0.0.2 after readdressing"

# A new MAC on the Linux side: ustack learns it from the next ARP request.
ip -n "$NS" link set t0 address 02:00:00:00:aa:01
ip -n "$NS" neigh flush dev t0
ping_ok "$NS" -c 3 -i 0.2 -W 2 -w 10 10.0.0.2

ustack_alive
stop_ustack TERM
expect_counter IcmpInEchos -ge 15
expect_counter IcmpOutEchoReps -eq "$(counter IcmpInEchos)"
log "interop_errors passed"
