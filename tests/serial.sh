#!/bin/sh
# The automake log compiler for the shell tests. Tests on this machine's
# kernel share one tracefs, one set of BPF objects and one set of fault
# counters: a teardown check that counts BPF objects, or a churn test that
# measures pfwatch's memory, must not see another test's pfwatch. So host
# tests run one at a time under a lock, and `make -j2 check` runs the VM
# lanes (a guest kernel each) and the package build (no kernel state: a
# compiler, and unit tests that trace only their own children) beside them.
case "$1" in
*/tests/vm/lane-debian-*.sh | */tests/vm/lane-locked-down.sh | */tests/vm/matrix.sh | */tests/fleet/deb.sh)
	exec sh "$@" ;;
esac
# one kernel, one lock: trees checked side by side (worktrees, the
# sanitizer tree) share it by naming the same PFW_HOST_LOCK
lock=${PFW_HOST_LOCK:-${top_builddir:-.}/tests/.host-tests.lock}
mkdir -p "$(dirname "$lock")"
exec flock "$lock" sh "$@"
