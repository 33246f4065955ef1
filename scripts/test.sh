#!/usr/bin/env bash
# scripts/test.sh: every test of uklp, as the CI runs them (.ci/run).
#
#   1. install the Debian packages (scripts/install-deps.sh)
#   2. build/       configure, build, ctest
#   3. build-asan/  the same with -DUKLP_SANITIZE=ON (ASan + UBSan)
#   4. build-fuzz/  the fuzzers (clang, -DUKLP_FUZZ=ON), each run briefly
#   5. scripts/demo.sh, unless UKLP_TEST_DEMO=0
#
# Every stage runs even if an earlier one failed. The last line of output is
# "N passed, N failed": ctest's test counts, plus one per other stage (the
# demo passes or fails as one test; a configure or build failure counts as
# one failure). Exit status 0 only if nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

passed=0
failed=0
logdir=$(mktemp -d "${TMPDIR:-/tmp}/uklp-test.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

banner() {
	printf '\n==== %s\n' "$*"
}

# Configures and builds one build directory; counts a failure as one.
build_tree() {
	local dir=$1
	shift
	banner "Building $dir/ $*"
	if cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" && cmake --build "$dir"; then
		return 0
	fi
	echo "test.sh: the build of $dir/ failed"
	failed=$((failed + 1))
	return 1
}

# Runs one tree's tests and adds ctest's counts from its summary line
# ("97% tests passed, 1 tests failed out of 34").
run_ctest() {
	local dir=$1 log=$logdir/ctest-$1.log rc summary total bad
	shift
	banner "Testing $dir/ $*"
	ctest --test-dir "$dir" --output-on-failure -j2 "$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
	if [[ -z $summary ]]; then
		echo "test.sh: no ctest summary for $dir/ (status $rc)"
		((rc == 0)) || failed=$((failed + 1))
		return
	fi
	bad=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$summary")
	total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
	passed=$((passed + total - bad))
	failed=$((failed + bad))
	if ((rc != 0 && bad == 0)); then
		failed=$((failed + 1)) # ctest itself failed (e.g. a test timed out before the summary)
	fi
}

banner "Installing the Debian packages uklp needs"
if ! bash scripts/install-deps.sh; then
	failed=$((failed + 1))
	echo "$passed passed, $failed failed"
	exit 1
fi

build_tree build && run_ctest build
# The sanitized tree checks the tools and the tests' own code; the runtime is
# never sanitized (it lives in other processes), so the long stress and
# safety runs, which exercise the runtime, run once, in build/, and the
# consistency suite runs fewer cycles here.
build_tree build-asan -DUKLP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug &&
	CONSISTENCY_CYCLES=30 run_ctest build-asan -E '^(stress|safety)_'
# The fuzzers (docs/fuzzing.md) in a clang tree that builds only them; each
# is one ctest test that runs it for 20 s (-DUKLP_FUZZ_SECONDS=N) and fails
# on a crash, with the input in hex in the log.
build_tree build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DUKLP_FUZZ=ON &&
	run_ctest build-fuzz


if [[ ${UKLP_TEST_DEMO:-1} != 0 ]]; then
	banner "Running the demo (scripts/demo.sh; UKLP_TEST_DEMO=0 skips it)"
	if bash scripts/demo.sh; then
		passed=$((passed + 1))
	else
		echo "test.sh: the demo failed"
		failed=$((failed + 1))
	fi
fi

banner "Summary"
echo "$passed passed, $failed failed"
((failed == 0))
