#!/bin/sh
# The Debian package (issue 16), built as a release is: dist/build-deb.sh
# (`make deb`) runs dpkg-buildpackage -us -uc -b in a `make distdir` tree.
# Checks the build (unit tests run and passed, no compiler warning), the
# package (exactly the files it should hold, the unit's ExecStart, Depends
# computed from the binaries' own libraries and nothing else) and lintian
# (no error, no warning). Leaves the .deb in tests/vm/out/deb/ for the
# systemd lane (tests/fleet/systemd.sh), which installs it with apt-get in
# a bookworm guest.
#
# Skips when dpkg-dev, debhelper or lintian are missing (bootstrap.sh
# installs them). Environment: top_srcdir, top_builddir (make check).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
src=${top_srcdir:-$(cd "$here/../.." && pwd)}
build=${top_builddir:-$src}
case "$build" in /*) ;; *) build=$(cd "$build" && pwd) ;; esac
out=$build/tests/vm/out/deb

for t in dpkg-buildpackage dpkg-shlibdeps dh lintian objdump; do
	command -v "$t" >/dev/null 2>&1 ||
		skip_all "$t is not installed (apt-get install dpkg-dev debhelper lintian binutils)"
done
[ -f "$build/Makefile" ] || bail "$build is not configured"
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")
arch=$(dpkg --print-architecture)

# 1. the build
rm -rf "$out"
mkdir -p "$out"
t0=$(date +%s)
deb=$(top_builddir=$build "$src/dist/build-deb.sh" "$out" 2>"$out/build-deb.err")
rc=$?
t1=$(date +%s)
log=$out/deb-build.log
if grep -q 'Unmet build dependencies' "$log" 2>/dev/null; then
	skip_all "$(grep -m 1 'Unmet build dependencies' "$log") (bootstrap.sh installs them)"
fi
[ "$rc" -eq 0 ] && [ "$deb" = "$out/pfwatch_${version}_$arch.deb" ] && [ -s "$deb" ]
check $? "dist/build-deb.sh: dpkg-buildpackage -us -uc -b made pfwatch_${version}_$arch.deb ($(stat -c %s "$deb" 2>/dev/null) bytes) in $((t1 - t0)) s" \
	"$(cat "$out/build-deb.err")" "$(tail -n 20 "$log" 2>/dev/null)"
[ -s "$deb" ] || {
	echo "1..$_tap_n"
	done_testing
}

# the unit tests ran in the build (dh_auto_test: make check-unit) and passed
pass=$(sed -n 's/^# PASS: *//p' "$log" | tail -n 1)
failed=$(sed -n 's/^# \(FAIL\|ERROR\|XPASS\): *//p' "$log" | awk '{ s += $1 } END { print s + 0 }')
if echo " ${DEB_BUILD_OPTIONS:-} " | grep -q ' nocheck '; then
	skip "the package build ran the unit tests" "DEB_BUILD_OPTIONS=nocheck"
else
	[ "${pass:-0}" -gt 0 ] && [ "$failed" -eq 0 ]
	check $? "the package build ran the unit tests (make check-unit): ${pass:-0} passed, $failed failed" \
		"$(grep -E '^(FAIL|ERROR|XPASS):' "$log" | head -n 10)"
fi
warn=$(grep -E '^[^ ]+:[0-9]+:[0-9]+: warning:|: warning: ' "$log" | head -n 10)
[ -z "$warn" ]
check $? "no compiler warning in the build (with Debian's hardening flags, -Werror off)" "$warn"

# 2. the package holds exactly these files
want="/lib/systemd/system/pfwatch.service
/usr/bin/pfwatch
/usr/bin/pfwatch-workload
/usr/share/bash-completion/completions/pfwatch
/usr/share/doc/pfwatch/README.md.gz
/usr/share/doc/pfwatch/changelog.gz
/usr/share/doc/pfwatch/copyright
/usr/share/man/man1/pfwatch-workload.1.gz
/usr/share/man/man8/pfwatch.8.gz"
got=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -v '/$' | sed 's|^\./|/|' | sort)
[ "$got" = "$want" ]
check $? "the package holds exactly the binaries, man pages, unit, completion, README, changelog and copyright" \
	"got:" "$got" "want:" "$want"
x=$(mktemp -d "$out/x.XXXXXX")
dpkg-deb -x "$deb" "$x"
execstart=$(sed -n 's/^ExecStart=//p' "$x/lib/systemd/system/pfwatch.service")
case "$execstart" in /usr/bin/pfwatch\ *) r=0 ;; *) r=1 ;; esac
check $r "the unit starts the packaged binary: ExecStart=$execstart"
"$x/usr/bin/pfwatch" --version >"$out/version" 2>&1
grep -q "^pfwatch $version\$" "$out/version"
check $? "the packaged pfwatch says it is $version ($(head -n 1 "$out/version"))"

# 3. Depends: the packages owning the libraries the binaries link against
# (their DT_NEEDED, resolved here), nothing more; nothing the build or the
# tests use
depends=$(dpkg-deb -f "$deb" Depends)
dep_names=$(echo "$depends" | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g' | grep . | sort -u)
# the package that owns a library path; /lib is /usr/lib on bookworm
# (merged /usr) and dpkg knows each file under the one its package ships
owner() { # path
	for _p in "$1" "/usr$1" "${1#/usr}"; do
		dpkg -S "$_p" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return
	done
}
owners=$(for b in "$x/usr/bin/pfwatch" "$x/usr/bin/pfwatch-workload"; do
	needed=$(objdump -p "$b" | awk '$1 == "NEEDED" { print $2 }')
	for lib in $needed; do
		path=$(ldd "$b" | awk -v l="$lib" '$1 == l && $3 ~ /^\// { print $3 }')
		[ -n "$path" ] && owner "$path"
	done
done | sort -u)
[ -n "$dep_names" ] && [ "$dep_names" = "$owners" ]
check $? "Depends is exactly the packages of the libraries pfwatch links against: $(echo $dep_names)" \
	"Depends: $depends" "owners of the NEEDED libraries: $(echo $owners)"
bad=$(echo "$dep_names" | grep -E -e '-dev$' -e '^(clang|llvm|bpftool|gcc|make|autoconf|automake|libtool|pkg-config|prometheus|qemu|curl|jq|busybox)' || true)
[ -z "$bad" ]
check $? "nothing for the build or the tests at run time" "$bad"
rm -rf "$x"

# 4. lintian: no error, no warning (the info tags are printed)
lintian --info --display-info --show-overrides "$out/pfwatch_${version}_$arch.changes" >"$out/lintian.txt" 2>&1
lrc=$?
sed -n '/^[EWIPXO]: /p' "$out/lintian.txt" | sed 's/^/# lintian: /'
ew=$(grep -E '^[EW]: ' "$out/lintian.txt")
[ "$lrc" -eq 0 ] && [ -z "$ew" ]
check $? "lintian $(lintian --version | awk '{print $2}'): no error, no warning (exit $lrc)" "$ew" "$(tail -n 5 "$out/lintian.txt")"

echo "# deb: $(basename "$deb") $(stat -c %s "$deb") bytes, Installed-Size $(dpkg-deb -f "$deb" Installed-Size) KiB; build $((t1 - t0)) s"
echo "1..$_tap_n"
done_testing
