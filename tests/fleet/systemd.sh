#!/bin/sh
# The systemd lane (issue 9, "the unit starts pfwatch on boot with least
# privilege"): boot Debian's stock 6.12 cloud kernel under qemu TCG with a
# Debian bookworm root filesystem (tests/fleet/systemd-rootfs.sh, cached)
# whose PID 1 is systemd, into which `apt-get install ./pfwatch_*.deb`
# installed the package tests/fleet/deb.sh built (or, without a package,
# `make install DESTDIR=` put pfwatch and dist/pfwatch.service) and
# `systemctl enable pfwatch` enabled it. In the guest, pfw-check.service
# (tests/fleet/systemd-guest.sh) checks the running unit, then the package's
# remove, purge and fresh install, and powers off; its TAP is read back
# from the disk and re-emitted after the host's own points.
#
# A guest that panics, hangs or does not finish is a failure with the
# console kept in tests/vm/out/systemd.console; missing host tools, no
# kernel package, or no mmdebstrap and nothing cached are a skip.
#
# Environment: top_srcdir, top_builddir (make check), PFW_VM_CACHE,
# PFW_VM_TIMEOUT (whole guest, seconds, default 600).
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=${top_srcdir:-$(cd "$here/../.." && pwd)}
case "$src" in /*) ;; *) src=$(cd "$src" && pwd) ;; esac
build=${top_builddir:-$src}
case "$build" in /*) ;; *) build=$(cd "$build" && pwd) ;; esac
out=$build/tests/vm/out
vm_timeout=${PFW_VM_TIMEOUT:-600}
lane=systemd

skip_all() {
	echo "1..0 # SKIP $lane lane: $*"
	exit 0
}
fail_all() {
	[ -s "${host_tap:-}" ] && sed 's/^/# host: /' "$host_tap"
	echo "1..1"
	echo "not ok 1 - $lane lane: $*"
	exit 1
}

PATH=$PATH:/usr/sbin:/sbin
for t in qemu-system-x86_64 mkfs.ext4 debugfs timeout tar chroot; do
	command -v "$t" >/dev/null 2>&1 ||
		skip_all "$t not installed (apt-get install qemu-system-x86 e2fsprogs)"
done
# unpacking a root filesystem with its owners, and chroot, need root
[ "$(id -u)" = 0 ] || skip_all "needs root (unpacks a root filesystem and chroots into it)"
for b in pfwatch pfwatch-workload Makefile; do
	[ -e "$build/$b" ] || fail_all "$build/$b is not built"
done

mkdir -p "$out"
t0=$(date +%s)
kernel=$("$src/tests/vm/fetch-kernel.sh" 6.12 2>"$out/$lane.fetch") ||
	skip_all "no linux-image-6.12 cloud kernel: $(tail -n 1 "$out/$lane.fetch")"
kpkg=$(cat "$(dirname "$kernel")/PACKAGE")
rootfs=$("$here/systemd-rootfs.sh" 2>"$out/$lane.rootfs") ||
	skip_all "no bookworm root filesystem: $(tail -n 1 "$out/$lane.rootfs")"
t_fetch=$(date +%s)

work=$(mktemp -d "$out/$lane.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"
tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -xpf "$rootfs" ||
	fail_all "cannot unpack $rootfs"

# TAP points of the host side (the install), numbered with the guest's at
# the end
host_tap=$work/host.tap
: >"$host_tap"
host_check() { # status name [diag...]
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fi >>"$host_tap"
	shift 2
	for d in "$@"; do printf '%s\n' "$d" | sed 's/^/#   /'; done >>"$host_tap"
}
mkdir -p "$root/usr/local/lib/pfw-check" "$root/var/lib/pfw-check"

# The real install, as a fleet does it: the package tests/fleet/deb.sh built
# from this tree, with `apt-get install ./pfwatch_*.deb`, which fetches its
# Depends from the guest's apt sources (the host's: same mirror and
# snapshot; the host's package lists are reused, so no apt-get update). The
# .deb stays in the guest for the remove, purge and reinstall checks.
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")
deb=$out/deb/pfwatch_${version}_$(dpkg --print-architecture 2>/dev/null).deb
# make check runs tests/fleet/deb.sh first; run alone after a rebuild, the
# lane makes its own package rather than test an older one
if [ ! -f "$deb" ] || [ "$build/pfwatch" -nt "$deb" ]; then
	top_builddir=$build "$src/dist/build-deb.sh" "$out/deb" >/dev/null 2>"$work/build-deb.err" &&
		echo "# the package was missing or older than the build: built it with dist/build-deb.sh" >>"$host_tap"
fi
if [ -f "$deb" ] && ! [ "$build/pfwatch" -nt "$deb" ]; then
	mkdir -p "$root/var/cache/pfw-deb"
	cp "$deb" "$root/var/cache/pfw-deb/"
	gdeb=/var/cache/pfw-deb/$(basename "$deb")
	for f in /var/lib/apt/lists/*; do
		case "$f" in */lock | */partial | */auxfiles) ;; *) cp -p "$f" "$root/var/lib/apt/lists/" ;; esac
	done
	cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
	apt_install() {
		chroot "$root" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends "$gdeb" >"$work/apt.log" 2>&1
	}
	lists="the host's package lists"
	if ! apt_install; then
		# the host's lists did not do: the guest's own
		lists="apt-get update in the root (the host's lists did not do: $(grep -m 1 '^E:' "$work/apt.log"))"
		chroot "$root" apt-get update -q >>"$work/apt-update.log" 2>&1
		apt_install
	fi
	arc=$?
	echo "# apt resolved the Depends with $lists" >>"$host_tap"
	new=$(awk '/^The following NEW packages will be installed:/ { on = 1; next }
		on && /^  / { printf "%s", $0; next } { on = 0 }' "$work/apt.log" | tr -s ' ' | sed 's/^ //')
	st=$(chroot "$root" dpkg-query -W -f='${Status} ${Version}' pfwatch 2>&1)
	[ "$arc" -eq 0 ] && [ "$st" = "install ok installed $version" ]
	host_check $? "apt-get install ./$(basename "$deb") into the bookworm root: $st; new packages: $new" \
		"$(tail -n 15 "$work/apt.log")"
	en=$(chroot "$root" systemctl is-enabled pfwatch.service 2>&1)
	[ "$en" = disabled ]
	host_check $? "the package installs pfwatch.service disabled (systemctl is-enabled: $en)"
	chroot "$root" apt-get clean >/dev/null 2>&1
	rm -rf "$root"/var/lib/apt/lists/*_* "$root/var/lib/apt/lists/partial"/*
	basename "$deb" >"$root/var/lib/pfw-check/deb"
	unitfile=$root/lib/systemd/system/pfwatch.service
	[ -f "$unitfile" ] || unitfile=$root/usr/lib/systemd/system/pfwatch.service
	[ -f "$unitfile" ] || fail_all "the package installed no pfwatch.service"
	how="apt-get install ./$(basename "$deb")"
else
	# no package (tests/fleet/deb.sh skipped or failed): binaries and the
	# unit where configure put them. Not as a sub-make of `make check`: its
	# MAKEFLAGS name the jobserver's pipe, whose descriptors the test harness
	# does not pass down ("read jobs pipe: Bad file descriptor" in CI)
	echo "ok - # SKIP no package (dist/build-deb.sh: $(tail -n 1 "$work/build-deb.err" 2>/dev/null)): make install DESTDIR= instead" >>"$host_tap"
	if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$build" install DESTDIR="$root" \
		>"$work/install.log" 2>&1; then
		tail -n 20 "$work/install.log" | sed 's/^/# /'
		fail_all "make install DESTDIR=... failed"
	fi
	unitfile=$(find "$root" -name pfwatch.service -type f | head -n 1)
	[ -n "$unitfile" ] || fail_all "make install put no pfwatch.service in DESTDIR (configure --with-systemdsystemunitdir=no?)"
	how="make install DESTDIR="
fi
bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unitfile")
[ -x "$root$bin" ] || fail_all "the unit's ExecStart $bin is not installed"
bindir=$(dirname "$bin")
case "${unitfile#"$root"}" in
/etc/systemd/system/* | /usr/local/lib/systemd/system/* | /lib/systemd/system/* | /usr/lib/systemd/system/*) ;;
*) # a --prefix systemd does not search: link it where the admin would
	ln -s "${unitfile#"$root"}" "$root/etc/systemd/system/pfwatch.service" ;;
esac
echo "# installed by $how: ${unitfile#"$root"}, ExecStart=$bin"

if [ -n "${gdeb:-}" ]; then
	# the package's Depends alone must let it run, before anything else is
	# copied in
	chroot "$root" "$bin" --version >"$work/version" 2>&1
	host_check $? "the packaged pfwatch runs on its Depends alone: $(head -n 1 "$work/version")"
fi
# bpftool lets the guest see which BPF objects pfwatch holds
bt=$(command -v bpftool 2>/dev/null)
[ -n "$bt" ] && cp "$bt" "$root/usr/local/sbin/bpftool"
# libraries the guest lacks (bpftool's; with make install, libbpf,
# libtracefs, ...), at ldd's paths; the guest's glibc comes from the same
# apt sources as the host's
for f in "$root$bin" "$root$bindir/pfwatch-workload" "$root/usr/local/sbin/bpftool"; do
	[ -f "$f" ] && ldd "$f" 2>/dev/null | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do
	[ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"; }
done
chroot "$root" "$bin" --version >"$work/version" 2>&1 ||
	fail_all "pfwatch does not run in the guest root: $(head -n 1 "$work/version")"

# the check, as a unit ordered after pfwatch; it powers the guest off
cp "$here/systemd-guest.sh" "$root/usr/local/lib/pfw-check/check.sh"
chmod 755 "$root/usr/local/lib/pfw-check/check.sh"
[ "$bindir" = /usr/local/bin ] ||
	sed -i "s|^PATH=|PATH=$bindir:|" "$root/usr/local/lib/pfw-check/check.sh"
cat >"$root/etc/systemd/system/pfw-check.service" <<EOF
[Unit]
Description=pfwatch systemd lane check
Wants=pfwatch.service
After=pfwatch.service
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/usr/local/lib/pfw-check/check.sh
StandardOutput=file:/var/lib/pfw-check/results.tap
StandardError=journal+console
TimeoutStartSec=300

[Install]
WantedBy=multi-user.target
EOF
# a fixed identity, and nothing that waits for a terminal or the network
echo pfw-systemd >"$root/etc/hostname"
printf '%032x\n' "$(date +%s)" >"$root/etc/machine-id"
: >"$root/etc/fstab"
for u in getty@.service serial-getty@.service getty-static.service systemd-firstboot.service \
	apt-daily.timer apt-daily-upgrade.timer; do
	ln -sf /dev/null "$root/etc/systemd/system/$u"
done
chroot "$root" systemctl enable pfwatch.service pfw-check.service >"$work/enable.log" 2>&1 ||
	fail_all "systemctl enable pfwatch failed: $(tail -n 1 "$work/enable.log")"

mkfs.ext4 -q -F -L pfwroot -d "$root" "$work/root.img" 1G >"$work/mkfs.log" 2>&1 ||
	fail_all "mkfs.ext4 -d failed: $(tail -n 1 "$work/mkfs.log")"
rm -rf "$root"
t_img=$(date +%s)

console=$out/$lane.console
# maxcpus=2: QEMU 7.2 emits the guest's memory barriers only then, and the
# NVMe shadow doorbells need them (tests/vm/run-lane.sh says more)
timeout --foreground -k 10 "$vm_timeout" qemu-system-x86_64 \
	-accel tcg -cpu max -m 1024 -smp 1,maxcpus=2 \
	-display none -monitor none -serial "file:$console" -no-reboot \
	-kernel "$kernel" \
	-append "console=ttyS0 root=/dev/nvme0n1 rw rootfstype=ext4 init=/lib/systemd/systemd panic=-1 systemd.show_status=1" \
	-drive "file=$work/root.img,if=none,id=d0,format=raw,cache=unsafe" -device nvme,drive=d0,serial=pf \
	</dev/null >"$work/qemu.out" 2>&1
qrc=$?
t1=$(date +%s)

debugfs -R "cat /var/lib/pfw-check/results.tap" "$work/root.img" 2>/dev/null >"$out/$lane.tap"
echo "# $lane: $kpkg, $(sed -n 's/^[^ ]* //p' "$(dirname "$rootfs")/RECIPE" | cut -c1-60)...;" \
	"kernel+rootfs $((t_fetch - t0))s, image $((t_img - t_fetch))s, boot+checks $((t1 - t_img))s," \
	"lane total $((t1 - t0))s, qemu exit $qrc"
echo "$lane|$((t1 - t0))" >"$out/$lane.time"
if grep -q '^1\.\.[0-9]' "$out/$lane.tap"; then
	# the host's points (the install), then the guest's, numbered anew
	cat "$host_tap" "$out/$lane.tap" | awk -v lane="$lane" '
		/^1\.\.[0-9]+/ { next }
		/^ok / || /^not ok / {
			n++
			st = $1 == "not" ? "not ok" : "ok"
			if ($1 == "not") fail++
			rest = $0
			sub(/^(not )?ok */, "", rest)
			sub(/^[0-9]+ */, "", rest)
			print st " " n " " rest; next
		}
		{ print }
		END { n++; print "ok " n " - " lane ": systemd booted the guest, ran the checks and powered off"; print "1.." n; exit fail ? 1 : 0 }
	'
	exit $?
fi

why="guest did not finish the checks"
[ "$qrc" -eq 124 ] && why="guest hung: killed after ${vm_timeout}s"
grep -q 'Kernel panic' "$console" && why="guest kernel panicked"
sed 's/^/# host: /' "$host_tap"
grep '^ok\|^not ok\|^#' "$out/$lane.tap" | sed 's/^/# partial: /'
echo "# console tail:"
tail -n 40 "$console" | sed 's/^/#   /'
echo "1..1"
echo "not ok 1 - $lane: $why; console log kept in $console"
exit 1
