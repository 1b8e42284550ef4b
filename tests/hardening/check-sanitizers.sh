#!/bin/sh
# make check-sanitizers (issue 7): a second tree in $top_builddir/sanitizers
# configured with --enable-sanitizers (ASan + UBSan, -fno-sanitize-recover:
# any report fails), then the unit tests and the host lane for the perf
# backend under it (PFW_SAN_SUITE_ONLY to widen, e.g. "perf,bpf/tp,ftrace").
# LeakSanitizer is on: a leak at exit fails the test that leaked.
set -u
src=${top_srcdir:?}
bld=${top_builddir:?}/sanitizers
mkdir -p "$bld"
cd "$bld" || exit 1
# automake refuses a second build tree from a source tree configured in
# place (bootstrap.sh, CI): configure from a distdir copy of it then
cfg=$src/configure
if [ -f "$src/config.status" ] && [ ! -f Makefile ]; then
	rm -rf "$bld/src"
	make -s -C "${top_builddir:?}" distdir distdir="$bld/src" >distdir.log 2>&1 || {
		echo "check-sanitizers: make distdir failed, see $bld/distdir.log" >&2
		exit 1
	}
	cfg=$bld/src/configure
fi
if [ ! -f Makefile ]; then
	"$cfg" --enable-sanitizers >configure.log 2>&1 || {
		echo "check-sanitizers: configure failed, see $bld/configure.log" >&2
		exit 1
	}
fi
make -j"${PFW_JOBS:-2}" >build.log 2>&1 || {
	tail -n 20 build.log >&2
	echo "check-sanitizers: build failed, see $bld/build.log" >&2
	exit 1
}
# the unit tests, as the Makefile lists them
units=$(printf 'pfw-print-tests:\n\t@echo $(TESTS)\n' | make -s -f Makefile -f - pfw-print-tests |
	tr ' ' '\n' | grep '^tests/unit/' | tr '\n' ' ')
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS
rc=0
make check TESTS="$units" || rc=1
PFW_SUITE_ONLY=${PFW_SAN_SUITE_ONLY:-perf} make check TESTS=tests/vm/lane-host.sh || rc=1
# a sanitizer report in any log is a failure even where a test ignored stderr
if grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
	tests/unit/*.log tests/vm/*.log tests/vm/out/* 2>/dev/null | grep -q .; then
	echo "check-sanitizers: sanitizer reports in:" >&2
	grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
		tests/unit/*.log tests/vm/*.log tests/vm/out/* >&2 2>/dev/null
	rc=1
fi
[ $rc = 0 ] && echo "check-sanitizers: unit tests and the host lane (${PFW_SAN_SUITE_ONLY:-perf}) clean under ASan+UBSan" ||
	echo "check-sanitizers: FAILED (logs in $bld)" >&2
exit $rc
