#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SECONDS WORK_CORPUS SEEDS DICT: one fuzzer's ctest
# test (fuzz/CMakeLists.txt). Runs FUZZER for SECONDS on WORK_CORPUS (new
# inputs go there; it grows from run to run) and the checked-in SEEDS.
# Crashing inputs go to a fresh temporary directory; on a failure each one
# is also dumped in hex here, so that the CI log holds it, and the
# directory is kept.
set -u
fuzzer=$1 seconds=$2 work=$3 seeds=$4 dict=$5
name=$(basename "$fuzzer")
artifacts=$(mktemp -d "${TMPDIR:-/tmp}/uklp-$name.XXXXXX") || exit 1
mkdir -p "$work"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$artifacts/" -dict="$dict" "$work" "$seeds"
rc=$?
if ((rc == 0)); then
	rm -rf "$artifacts"
	exit 0
fi
for input in "$artifacts"/*; do
	[[ -f $input ]] || continue
	echo "run_fuzzer.sh: $name failed on $input ($(stat -c %s "$input") bytes; first 4 KiB in hex):"
	od -A x -t x1z -v "$input" | head -n 256
done
echo "run_fuzzer.sh: $name exited with status $rc; its crashing inputs are kept in $artifacts"
exit "$rc"
