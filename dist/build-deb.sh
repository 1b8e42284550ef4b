#!/bin/sh
# Build pfwatch's Debian package the way a release is built: from this
# build tree's `make distdir` (what the release tarball holds, debian/
# included) with `dpkg-buildpackage -us -uc -b`, in a scratch directory, so
# the developer's own build is untouched. `make deb` runs it; so does
# tests/fleet/deb.sh.
#
# Usage: dist/build-deb.sh [OUTDIR]   (default: the build tree)
# Leaves in OUTDIR pfwatch_VERSION_ARCH.deb (its path is printed), the
# -dbgsym package, the .buildinfo and .changes, and deb-build.log.
# Environment: top_builddir (default: the current directory), PFW_JOBS (2),
# DEB_BUILD_OPTIONS (nocheck skips the unit tests the build runs).
set -eu

build=$(cd "${top_builddir:-.}" && pwd)
out=$(mkdir -p "${1:-$build}" && cd "${1:-$build}" && pwd)
die() {
	echo "build-deb: $*" >&2
	exit 1
}
[ -f "$build/Makefile" ] || die "$build is not a configured build tree (run ./bootstrap.sh or ./configure)"
for t in dpkg-buildpackage dpkg-parsechangelog dh; do
	command -v "$t" >/dev/null 2>&1 || die "$t is not installed (apt-get install dpkg-dev debhelper)"
done
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")
srcdir=$(sed -n 's/^abs_top_srcdir = //p' "$build/Makefile")
# the package's version is the release's: a release without a changelog
# entry would build a package that says it is the previous one
debver=$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Version)
[ "$debver" = "$version" ] ||
	die "debian/changelog's latest entry is $debver, configure.ac says $version: add a changelog entry (dch -v $version)"
arch=$(dpkg --print-architecture)

# make's jobserver descriptors are not ours when called from make check
unset MAKEFLAGS MFLAGS MAKELEVEL
work=$(mktemp -d "$out/.deb-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$out/deb-build.log
make -C "$build" distdir distdir="$work/pfwatch-$version" >"$log" 2>&1 ||
	die "make distdir failed, see $log"
echo "== dpkg-buildpackage -us -uc -b in a make distdir tree" >>"$log"
(cd "$work/pfwatch-$version" && dpkg-buildpackage -us -uc -b -j"${PFW_JOBS:-2}") >>"$log" 2>&1 ||
	die "dpkg-buildpackage failed: $(grep -m 1 -E 'Unmet build dependencies|error' "$log" || tail -n 1 "$log"); see $log"
rm -f "$out"/pfwatch_*.deb "$out"/pfwatch-dbgsym_*.deb "$out"/pfwatch_*.buildinfo "$out"/pfwatch_*.changes
mv "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out/"
deb=$out/pfwatch_${version}_$arch.deb
[ -f "$deb" ] || die "dpkg-buildpackage made no $(basename "$deb"): $(ls "$out")"
echo "$deb"
