#!/bin/sh
# Fetch (once) a Debian cloud kernel for a VM lane and print the path of its
# vmlinuz. Usage: fetch-kernel.sh SERIES   (SERIES: 6.1 or 6.12)
#
# The package is resolved at run time: the newest
# linux-image-SERIES.*-cloud-amd64-unsigned apt knows about (the -unsigned
# flavour because it is the same kernel without the shim/signing wrapper).
# It is unpacked with dpkg -x into the cache, outside the source tree, with a
# SHA256SUMS file so a rerun verifies and reuses it instead of fetching.
# Without network a verified cached copy of the same series is used.
set -eu

series=${1:?usage: fetch-kernel.sh 6.1|6.12}
cache=${PFW_VM_CACHE:-${XDG_CACHE_HOME:-/var/cache}/pfwatch-vm}
mkdir -p "$cache"

log() { echo "fetch-kernel: $*" >&2; }

verify() { # dir
	[ -s "$1/SHA256SUMS" ] && (cd "$1" && sha256sum -c --quiet SHA256SUMS >/dev/null 2>&1)
}

newest_cached() {
	for d in $(ls -d "$cache"/linux-image-"$series".*-cloud-amd64-unsigned_* 2>/dev/null | sort -rV); do
		if verify "$d"; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# Names as apt sees them; "6.1" must not match "6.12": the next char is '.'
pkg=$(apt-cache search --names-only "^linux-image-${series}\\.[0-9].*-cloud-amd64-unsigned\$" 2>/dev/null |
	awk '{print $1}' | sort -V | tail -n 1)
if [ -z "$pkg" ]; then
	if d=$(newest_cached); then
		log "apt knows no linux-image-$series cloud package; using cached $d"
		echo "$d/vmlinuz"
		exit 0
	fi
	log "no linux-image-$series.*-cloud-amd64-unsigned in apt (run apt-get update)"
	exit 1
fi
ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
dir="$cache/${pkg}_$ver"
if verify "$dir"; then
	echo "$dir/vmlinuz"
	exit 0
fi

tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
# apt-get download drops to the _apt user to write the .deb
chmod 0777 "$tmp"
trap 'rm -rf "$tmp"' EXIT
log "downloading $pkg $ver"
if ! (cd "$tmp" && apt-get download -q "$pkg=$ver" >&2); then
	rm -rf "$tmp"
	if d=$(newest_cached); then
		log "apt-get download $pkg failed; using cached $d"
		echo "$d/vmlinuz"
		exit 0
	fi
	log "apt-get download $pkg failed and nothing cached"
	exit 1
fi
deb=$(ls "$tmp"/*.deb)
dpkg -x "$deb" "$tmp/root"
k=$(ls "$tmp"/root/boot/vmlinuz-* | head -n 1)
mkdir -p "$tmp/out"
cp "$k" "$tmp/out/vmlinuz"
cp "$tmp"/root/boot/config-* "$tmp/out/config" 2>/dev/null || :
# the .deb's own checksum, for provenance
(cd "$tmp" && sha256sum "$(basename "$deb")") >"$tmp/out/deb.sha256"
echo "$pkg $ver" >"$tmp/out/PACKAGE"
(cd "$tmp/out" && sha256sum vmlinuz PACKAGE $( [ -f config ] && echo config) >SHA256SUMS)
rm -rf "$dir"
mv "$tmp/out" "$dir"
echo "$dir/vmlinuz"
