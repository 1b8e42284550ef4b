#!/bin/sh
# Build pfwatch's OCI image with no image registry (issue 16): a root
# filesystem made here of pfwatch, pfwatch-workload and the shared libraries
# they load (as this machine's dynamic linker resolves them: Debian's, when
# built on Debian), a non-root user, and for each Debian package a library
# came from its copyright file and its dpkg status entry (distroless style,
# /var/lib/dpkg/status.d/, so image scanners see the versions); no shell,
# no package manager. `podman import` makes it an image, labelled with the
# version; `podman save` writes it as an OCI archive to copy to a registry
# (skopeo copy oci-archive:FILE docker://REGISTRY/pfwatch:VERSION).
# `make image` runs it; so does tests/fleet/image.sh.
#
# Usage: dist/build-image.sh [OUTDIR]   (default: the build tree)
# Prints the image name (localhost/pfwatch:VERSION). Leaves in OUTDIR
# pfwatch-image-VERSION.oci.tar and pfwatch-image-VERSION.rootfs.tar.
# Environment: top_builddir (default: the current directory);
# PFW_PODMAN, the podman command with its global options (default podman);
# PFW_IMAGE, the name to tag (default localhost/pfwatch:VERSION).
set -eu

build=$(cd "${top_builddir:-.}" && pwd)
out=$(mkdir -p "${1:-$build}" && cd "${1:-$build}" && pwd)
podman=${PFW_PODMAN:-podman}
die() {
	echo "build-image: $*" >&2
	exit 1
}
[ -f "$build/Makefile" ] || die "$build is not a configured build tree (run ./bootstrap.sh or ./configure)"
for b in pfwatch pfwatch-workload; do
	[ -x "$build/$b" ] || die "$build/$b is not built (make)"
done
command -v "${podman%% *}" >/dev/null 2>&1 || die "podman is not installed (apt-get install podman)"
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")
srcdir=$(sed -n 's/^abs_top_srcdir = //p' "$build/Makefile")
image=${PFW_IMAGE:-localhost/pfwatch:$version}
# the unprivileged user the image runs as by default (distroless' nonroot)
uid=65532

work=$(mktemp -d "$out/.image-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/usr/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" \
	"$root/var/lib/dpkg/status.d" "$root/usr/share/doc/pfwatch"
chmod 1777 "$root/tmp"
for b in pfwatch pfwatch-workload; do
	strip --strip-unneeded -o "$root/usr/bin/$b" "$build/$b"
done

# the libraries, at the paths the binaries' interpreter and ldd name
libs=$(for b in pfwatch pfwatch-workload; do ldd "$build/$b"; done |
	awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
[ -n "$libs" ] || die "ldd named no library of $build/pfwatch"
for lib in $libs; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done

# where the libraries came from: copyright and status entry of each package
owner() { # path; /lib is /usr/lib on bookworm, dpkg knows one of the two
	for _p in "$1" "/usr$1" "${1#/usr}"; do
		dpkg -S "$_p" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return
	done
	return 0
}
pkgs=$(if command -v dpkg >/dev/null 2>&1; then for lib in $libs; do owner "$lib"; done; fi | sort -u)
for p in $pkgs; do
	dpkg-query -s "$p" >"$root/var/lib/dpkg/status.d/$p" 2>/dev/null || rm -f "$root/var/lib/dpkg/status.d/$p"
	if [ -f "/usr/share/doc/$p/copyright" ]; then
		mkdir -p "$root/usr/share/doc/$p"
		cp "/usr/share/doc/$p/copyright" "$root/usr/share/doc/$p/copyright"
	fi
done
[ -f "$srcdir/debian/copyright" ] && cp "$srcdir/debian/copyright" "$root/usr/share/doc/pfwatch/copyright"
[ -f /etc/os-release ] && cp -L /etc/os-release "$root/etc/os-release"

printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:%s:%s:nonroot:/nonexistent:/usr/sbin/nologin\n' \
	"$uid" "$uid" >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:%s:\n' "$uid" >"$root/etc/group"

# a root filesystem tarball owned by root, in a stable order
rootfs=$out/pfwatch-image-$version.rootfs.tar
tar -C "$root" --sort=name --owner=0 --group=0 --numeric-owner -cf "$rootfs" .

# the default command is the per-node exporter (README "Container image");
# the one-shot tracer is `podman run IMAGE pfwatch -- COMMAND`
revision=$(git -C "$srcdir" rev-parse HEAD 2>/dev/null || echo unknown)
$podman import \
	--change 'CMD ["pfwatch", "--serve=0.0.0.0:9412", "--quiet"]' \
	--change "USER $uid:$uid" \
	--change 'WORKDIR /tmp' \
	--change 'ENV PATH=/usr/bin' \
	--change 'EXPOSE 9412/tcp' \
	--change 'LABEL org.opencontainers.image.title=pfwatch' \
	--change "LABEL org.opencontainers.image.version=$version" \
	--change "LABEL org.opencontainers.image.revision=$revision" \
	--change 'LABEL org.opencontainers.image.licenses=GPL-2.0-or-later' \
	--change 'LABEL org.opencontainers.image.description="pfwatch: who faulted, on which file, and how long it waited; the per-node exporter by default"' \
	--message "pfwatch $version" \
	"$rootfs" "$image" >"$work/import.out" 2>&1 || die "podman import failed: $(tail -n 3 "$work/import.out")"
archive=$out/pfwatch-image-$version.oci.tar
rm -f "$archive"
$podman save --format oci-archive -o "$archive" "$image" >"$work/save.out" 2>&1 ||
	die "podman save failed: $(tail -n 3 "$work/save.out")"
echo "$image"
