#!/bin/sh
# Set up a fresh Debian 12 machine (as root) and build pfwatch in this tree:
# install what is missing with apt-get, then autogen, configure, make.
# Idempotent: packages already present are not reinstalled.
set -eu
cd "$(dirname "$0")"

# build: autotools + compiler; bpf: libbpf, clang, bpftool; ftrace: libtracefs,
# libtraceevent; tests: the kernel lanes boot Debian kernels under qemu with a
# busybox initramfs and an ext4 data disk; unprivileged lane: util-linux setpriv;
# tests/fleet: a real Prometheus and node_exporter on loopback, curl, jq, and
# mmdebstrap for the systemd lane's Debian root filesystem;
# tests/fuzz: clang's libFuzzer runtime; tests/hardening: valgrind;
# make bench: linux-perf (perf stat / perf record are the peers); the containers
# lane: podman with runc, bubblewrap; tests/unit/completion.sh: bash-completion;
# make deb and tests/fleet/deb.sh: dpkg-dev, debhelper, lintian; make image and
# tests/fleet/image.sh: podman too, and python3-yaml to read the DaemonSet
# manifest; podman's runtimes (crun 1.8 refuses hybrid cgroups: runc) and
# rootless helpers, which --no-install-recommends would leave out.
PKGS="build-essential autoconf automake libtool pkg-config
libbpf-dev clang llvm bpftool libelf-dev zlib1g-dev
libtracefs-dev libtraceevent-dev libdw-dev libncurses-dev
qemu-system-x86 busybox-static cpio e2fsprogs util-linux procps
python3 tmux librsvg2-bin libxml2-utils
prometheus prometheus-node-exporter curl jq mmdebstrap
libclang-rt-14-dev valgrind linux-perf bash-completion
dpkg-dev debhelper lintian
podman runc crun uidmap bubblewrap slirp4netns fuse-overlayfs catatonit python3-yaml"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "bootstrap: missing packages:$missing; run as root or install them" >&2
		exit 1
	fi
	echo "bootstrap: installing:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

[ -x configure ] && [ configure -nt configure.ac ] || ./autogen.sh
[ -f Makefile ] && [ Makefile -nt Makefile.in ] && [ config.status -nt configure ] ||
	./configure ${PFW_CONFIGURE_FLAGS:---enable-bpf=yes --enable-ftrace=yes}
make -j"$(nproc)"
