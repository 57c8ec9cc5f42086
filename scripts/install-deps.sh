#!/usr/bin/env bash
# Installs, from Debian's packages, whatever ustack's build, tests, demo and
# benchmarks need and this machine lacks. Does nothing when all is there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # the build
  clang libclang-rt-14-dev           # ASan/UBSan/TSan builds and libFuzzer
  libpcap-dev                        # tcpdump filter compilation (capture)
  iproute2                           # ip netns, ip tuntap: test networks
  iputils-ping arping traceroute     # Linux peers for ICMP/ARP/forwarding tests
  tcpdump tshark                     # capture cross-checks
  curl socat netcat-openbsd          # TCP/UDP peers
  iperf3 wrk apache2-utils           # load and benchmark peers
  python3                            # small raw-socket helpers in tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or install them)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
