#!/bin/bash
# Instructions per ICMP echo (request in, reply out) with and without a
# capture, counted by valgrind (callgrind): a machine-independent figure
# for what a capture costs, next to bench_capture's timings.
#
#   bench/capture/instructions.sh build-rel/bench/capture/bench_capture [ECHOES]
set -euo pipefail
BIN=${1:?usage: instructions.sh PATH_TO_bench_capture [ECHOES]}
N=${2:-100000}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
count() { # CASE FRAME -> instructions
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" -k "$1" -n "$N" -s "$2" 2>&1 |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
printf '%-6s %-26s %14s %10s\n' frame case instr/echo overhead
for size in 60 1514; do
	base=$(count 0 "$size")
	for k in 0 1 2; do
		n=$(count "$k" "$size")
		name=$(echo "no capture|filter matching nothing|capture everything" | cut -d'|' -f$((k + 1)))
		awk -v f="$size" -v c="$name" -v n="$n" -v b="$base" -v N="$N" \
			'BEGIN { printf "%-6s %-26s %14.0f %9.1f%%\n", f, c, n / N, (n - b) * 100 / b }'
	done
done
