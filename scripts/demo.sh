#!/usr/bin/env bash
# The main job: build ustack, run it on a TAP device inside a private network
# namespace and let Linux ping it and fetch a page from its HTTP server with
# curl. Where TAP or namespaces are not available, two in-process stacks ping
# each other instead.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target ustack -j"$(nproc)" >/dev/null
USTACK=$PWD/build/ustack

can_tap() {
  [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] || return 1
  local probe="ustack-probe-$$"
  ip netns add "$probe" 2>/dev/null || return 1
  ip netns exec "$probe" ip tuntap add dev tprobe mode tap 2>/dev/null
  local ok=$?
  ip netns del "$probe"
  return $ok
}

if ! can_tap; then
  echo "TAP devices or network namespaces are not available here (needs root and /dev/net/tun):"
  echo "running the in-process fallback."
  exec "$USTACK" demo
fi

NS="ustack-demo-$$"
LOG=$(mktemp)
cleanup() {
  [ -n "${PID:-}" ] && kill -INT "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -f "$LOG"
}
trap cleanup EXIT

ip netns add "$NS"
echo "+ ip netns exec $NS ustack run --tap tap0=10.20.0.2/24 --serve echo,discard,chargen,http"
ip netns exec "$NS" "$USTACK" run --tap tap0=10.20.0.2/24 --serve echo,discard,chargen,http >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 100); do grep -q '^ready' "$LOG" && break; sleep 0.05; done
grep '^ready' "$LOG" || { cat "$LOG"; exit 1; }

# The Linux side of the TAP, inside the namespace only.
ip netns exec "$NS" ip addr add 10.20.0.1/24 dev tap0
ip netns exec "$NS" ip link set tap0 up
echo "+ ping -c 5 10.20.0.2 (Linux -> ustack)"
ip netns exec "$NS" ping -c 5 -i 0.2 10.20.0.2
echo "+ ping -c 3 -s 65000 10.20.0.2 (fragmented both ways)"
ip netns exec "$NS" ping -c 3 -i 0.2 -s 65000 10.20.0.2 | tail -2

echo "+ curl http://10.20.0.2/bytes/10000000 (Linux -> ustack's HTTP server)"
ip netns exec "$NS" curl -sS -o /dev/null -w '  HTTP %{http_code}, %{size_download} bytes in %{time_total} s\n' \
  http://10.20.0.2/bytes/10000000
echo "+ echo hello | nc 10.20.0.2 7 (TCP echo)"
echo hello | ip netns exec "$NS" nc -q 1 10.20.0.2 7

kill -INT "$PID"
wait "$PID"
PID=
echo "+ ustack's counters on exit:"
sed -n '/^Inter-/,$p' "$LOG"
