#!/bin/sh
# Build each libFuzzer target with Debian's clang (-fsanitize=fuzzer,
# address,undefined; the code under test compiled in, the rest of libpfw.a
# linked as is) and run it for a bounded time (PFW_FUZZ_SECONDS, default 20)
# over its corpus: the seeds in tests/fuzz/corpus/TARGET (kept in git) and
# what earlier runs found in the build dir. TAP: one test per target, not ok
# with the crashing input's path when one is found.
#
# Environment: top_srcdir, top_builddir (set by make check), and
# tests/fuzz/fuzz.env in the build dir (compiler flags and libraries, written
# by make from the configured values).
set -u
src=${top_srcdir:-.}
bld=${top_builddir:-.}
secs=${PFW_FUZZ_SECONDS:-20}
targets="maps perf ftrace cli"

# shellcheck disable=SC1091
. "$bld/tests/fuzz/fuzz.env" || { echo "Bail out! $bld/tests/fuzz/fuzz.env missing (make check writes it)"; exit 99; }
CLANG=${PFW_FUZZ_CC:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "1..0 # SKIP $CLANG not found (Debian: apt-get install clang libclang-rt-14-dev)"
	exit 0
fi
out=$bld/tests/fuzz
mkdir -p "$out"
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return (int)(n & 0); }\n' >"$out/probe.c"
if ! "$CLANG" -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" >"$out/probe.log" 2>&1; then
	echo "1..0 # SKIP $CLANG cannot link -fsanitize=fuzzer (Debian: apt-get install libclang-rt-14-dev): $(head -n 1 "$out/probe.log")"
	exit 0
fi
n=$(echo $targets | wc -w)
echo "1..$n"
i=0
fail=0
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
for t in $targets; do
	i=$((i + 1))
	# the sources under test are compiled in, instrumented; libpfw.a gives the rest
	case $t in
	maps) under="common/model/maps.c" ;;
	perf) under="perf/perf_ring.c perf/perf_merge.c" ;;
	ftrace) under="ftrace/decode.c ftrace/classify.c ftrace/fold.c" ;;
	cli) under="common/frontend/cli.c" ;;
	esac
	if [ "$t" = ftrace ] && [ "${FUZZ_HAVE_FTRACE:-no}" != yes ]; then
		echo "ok $i - fuzz-$t # SKIP the ftrace backend is not built (libtracefs/libtraceevent)"
		continue
	fi
	srcs="$src/tests/fuzz/fuzz-$t.c"
	for u in $under; do
		[ -f "$src/$u" ] && srcs="$srcs $src/$u"
	done
	# shellcheck disable=SC2086
	if ! "$CLANG" $FLAGS -std=gnu11 $FUZZ_CPPFLAGS -I"$src/tests/fuzz" $srcs "$bld/libpfw.a" $FUZZ_LIBS \
		-o "$out/fuzz-$t" >"$out/fuzz-$t.build.log" 2>&1; then
		echo "not ok $i - fuzz-$t builds"
		sed 's/^/#   /' "$out/fuzz-$t.build.log" | head -n 20
		fail=1
		continue
	fi
	mkdir -p "$out/corpus-$t"
	seeds=$src/tests/fuzz/corpus/$t
	# -close_fd_mask=3: the code's own stdout/stderr closed, libFuzzer and
	# the sanitizers keep a dup for their reports
	if "$out/fuzz-$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=3 \
		-print_final_stats=1 -artifact_prefix="$out/crash-$t-" \
		"$out/corpus-$t" "$seeds" >"$out/fuzz-$t.log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz-$t.log")
		cov=$(grep -o 'cov: [0-9]*' "$out/fuzz-$t.log" | tail -n 1)
		echo "ok $i - fuzz-$t: ${execs:-?} inputs in ${secs}s, $cov, no crash"
	else
		echo "not ok $i - fuzz-$t: crash or leak (input in $out/crash-$t-*)"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$out/fuzz-$t.log" | head -n 10 | sed 's/^/#   /'
		fail=1
	fi
done
exit $fail
