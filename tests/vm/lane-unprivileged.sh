#!/bin/sh
# Lane "unprivileged": the host kernel as nobody with no capabilities at all
# (the restricted-container case). Every backend is probed and run as that
# user; what needs privilege must report itself unavailable with the reason.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
out=$top_builddir/tests/vm/out
mkdir -p "$out"
tmp=$(mktemp -d "$out/unpriv-tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
: >"$out/unprivileged.matrix"
env="PFW_LANE=unprivileged TMPDIR=$tmp HOME=$tmp PFW_MATRIX=$tmp/matrix
PFWATCH=${PFWATCH:-$top_builddir/pfwatch} PFWATCH_WORKLOAD=${PFWATCH_WORKLOAD:-$top_builddir/pfwatch-workload}
top_srcdir=$top_srcdir top_builddir=$top_builddir PFW_TESTBIN=${PFW_TESTBIN:-$top_builddir/tests/integration}
PATH=/usr/bin:/bin"
t0=$(date +%s)
if [ "$(id -u)" -eq 0 ]; then
	if ! command -v setpriv >/dev/null 2>&1; then
		echo "1..0 # SKIP unprivileged: setpriv not installed (apt-get install util-linux)"
		echo "unprivileged|*|*|skip|setpriv missing" >"$out/unprivileged.matrix"
		exit 0
	fi
	grp=nogroup
	getent group nogroup >/dev/null 2>&1 || grp=nobody
	chown nobody:"$grp" "$tmp"
	# the suite reads the tree as nobody: every directory on the way must be searchable
	# shellcheck disable=SC2086
	env -i $env setpriv --reuid=nobody --regid="$grp" --clear-groups --inh-caps=-all \
		--bounding-set=-all --no-new-privs sh "$here/suite.sh"
	rc=$?
else
	# shellcheck disable=SC2086
	env -i $env sh "$here/suite.sh"
	rc=$?
fi
cat "$tmp/matrix" >"$out/unprivileged.matrix" 2>/dev/null
echo "unprivileged|$(($(date +%s) - t0))" >"$out/unprivileged.time"
uname -r >"$out/unprivileged.kernel"
exit $rc
