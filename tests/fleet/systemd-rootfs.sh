#!/bin/sh
# Build (once) the Debian bookworm root filesystem the systemd lane boots,
# and print the path of its tarball. tests/fleet/systemd.sh unpacks it per
# run, adds the freshly built pfwatch and its unit, and makes an ext4 image.
#
# mmdebstrap --variant=minbase plus systemd as PID 1, curl for the scrape,
# and libnss-systemd so the DynamicUser uid has a name. The tarball is kept in
# the cache outside the source tree with a SHA256SUMS file; its name carries
# a hash of the recipe, so changing the package list builds a new one and a
# rerun with the same recipe verifies and reuses it without the network.
#
# The host's apt sources are used (same mirror, suites and snapshot as the
# host that built pfwatch), so the guest's glibc is the one pfwatch links
# against; libraries the guest lacks are copied from the host per run.
set -eu

cache=${PFW_VM_CACHE:-${XDG_CACHE_HOME:-/var/cache}/pfwatch-vm}
mkdir -p "$cache"
log() { echo "systemd-rootfs: $*" >&2; }

suite=bookworm
pkgs=systemd,systemd-sysv,libnss-systemd,curl
sources=
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
	[ -s "$f" ] && grep -q '^[^#]*deb' "$f" && { sources=$f; break; }
done
recipe="mmdebstrap --variant=minbase --include=$pkgs $suite $(
	[ -n "$sources" ] && grep -v '^#' "$sources" | tr -s ' \n' ' '
)"
key=$(printf '%s\n' "$recipe" | sha256sum | cut -c1-12)
dir=$cache/rootfs-$suite-systemd-$key

if [ -s "$dir/SHA256SUMS" ] && (cd "$dir" && sha256sum -c --quiet SHA256SUMS >/dev/null 2>&1); then
	echo "$dir/rootfs.tar"
	exit 0
fi

command -v mmdebstrap >/dev/null 2>&1 || {
	log "mmdebstrap is not installed (apt-get install mmdebstrap; bootstrap.sh installs it)"
	exit 1
}
tmp=$(mktemp -d "$cache/.rootfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "building $suite rootfs ($pkgs)"
if [ -n "$sources" ]; then
	mmdebstrap --quiet --variant=minbase --include="$pkgs" "$suite" "$tmp/rootfs.tar" - <"$sources" >&2
else
	mmdebstrap --quiet --variant=minbase --include="$pkgs" "$suite" "$tmp/rootfs.tar" >&2
fi
printf '%s\n' "$recipe" >"$tmp/RECIPE"
(cd "$tmp" && sha256sum rootfs.tar RECIPE >SHA256SUMS)
rm -rf "$dir"
mkdir -p "$dir"
mv "$tmp/rootfs.tar" "$tmp/RECIPE" "$tmp/SHA256SUMS" "$dir/"
echo "$dir/rootfs.tar"
