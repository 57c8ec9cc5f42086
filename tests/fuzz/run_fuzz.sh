#!/bin/sh
# Runs a libFuzzer target for a bounded time on a copy of the seed corpus.
#
#   run_fuzz.sh FUZZER SEED_DIR WORK_DIR [SECONDS] [extra libFuzzer flags...]
#
# WORK_DIR is emptied and receives the working corpus (WORK_DIR/corpus) and
# any crash, leak or timeout artifact (WORK_DIR/artifacts); the seed
# directory is only read. Exits non-zero if the fuzzer found something.
set -eu
if [ $# -lt 3 ]; then
	echo "usage: $0 FUZZER SEED_DIR WORK_DIR [SECONDS] [FLAGS...]" >&2
	exit 2
fi
fuzzer=$1
seeds=$2
work=$3
secs=${4:-60}
shift 3
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"
dict=
[ -f "$here/fuzz_rx.dict" ] && dict="-dict=$here/fuzz_rx.dict"

status=0
"$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" $dict "$@" "$work/corpus" || status=$?
if [ "$status" -ne 0 ]; then
	echo "fuzzer exited with status $status; artifacts:" >&2
	ls -l "$work/artifacts" >&2
fi
exit "$status"
