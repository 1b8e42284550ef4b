#!/bin/sh
# Lane "host": this machine's kernel as root, every backend and attach mode
# (tests/vm/suite.sh). Data files go under the build tree, which is on a disk:
# a tmpfs TMPDIR would have no major faults.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
out=$top_builddir/tests/vm/out
mkdir -p "$out"
if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP host: not root (the unprivileged lane covers this user)"
	echo "host|*|*|skip|not root" >"$out/host.matrix"
	exit 0
fi
tmp=$(mktemp -d "$out/host-tmp.XXXXXX")
# like /tmp: tests that drop to nobody create files under it
chmod 1777 "$tmp"
trap 'rm -rf "$tmp"' EXIT
: >"$out/host.matrix"
t0=$(date +%s)
PFW_LANE=host TMPDIR=$tmp PFW_MATRIX=$out/host.matrix \
	PFWATCH=${PFWATCH:-$top_builddir/pfwatch} PFWATCH_WORKLOAD=${PFWATCH_WORKLOAD:-$top_builddir/pfwatch-workload} \
	top_srcdir=$top_srcdir top_builddir=$top_builddir PFW_TESTBIN=${PFW_TESTBIN:-$top_builddir/tests/integration} \
	sh "$here/suite.sh"
rc=$?
echo "host|$(($(date +%s) - t0))" >"$out/host.time"
uname -r >"$out/host.kernel"
exit $rc
