#!/bin/sh
# Lane "containers": this machine's kernel, pfwatch inside real container
# runtimes from Debian and as a host tracing a container, as users meet
# them. In every configuration each backend (and auto) must give the exact
# major faults of the workload, per run, per thread (named by the pid and
# tid the container sees) and per file, or exit 3 with the reason that is
# right for that configuration. Nothing may exit 0 with a wrong count.
#
#   unshare   root: a pid namespace; the same without any capability; root
#             in a user namespace. nobody: user + pid namespace (rootless)
#   bwrap     nobody: bubblewrap's user + pid namespace sandbox
#   podman    rootful: default, --cap-add=PERFMON,BPF (default seccomp, and
#             unconfined), --cap-add=SYS_ADMIN, --privileged, --privileged
#             --pid=host; rootless (nobody): default and seccomp unconfined
#   host      pfwatch on the host, --cgroup of a container's cgroup (the path
#             /proc/PID/cgroup shows), every backend in turn
#
# podman runs with --runtime runc --cgroup-manager=cgroupfs and its own
# containers.conf (no rlimits): this kind of machine has a hybrid cgroup
# layout crun refuses, no systemd to manage cgroups, and root without
# CAP_SYS_RESOURCE cannot raise RLIMIT_NOFILE to podman's default. Rootfs:
# a directory the lane fills with busybox, pfwatch, the workload and their
# libraries (no image registry). Rows go to tests/vm/out/containers.matrix.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
out=$top_builddir/tests/vm/out
matrix=$out/containers.matrix
PFWATCH=${PFWATCH:-$top_builddir/pfwatch}
PFWATCH_WORKLOAD=${PFWATCH_WORKLOAD:-$top_builddir/pfwatch-workload}
JSONCHECK=${PFW_TESTBIN:-$top_builddir/tests/integration}/jsoncheck
mkdir -p "$out"
n=0
nfail=0

ok() {
	n=$((n + 1))
	echo "ok $n - containers: $1"
}
not_ok() {
	n=$((n + 1))
	nfail=$((nfail + 1))
	echo "not ok $n - containers: $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
skip() {
	n=$((n + 1))
	echo "ok $n - containers: $1 # SKIP $2"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP containers: not root (runtimes and users are set up as root)"
	echo "containers|*|*|skip|not root" >"$matrix"
	exit 0
fi
for b in "$PFWATCH" "$PFWATCH_WORKLOAD" "$JSONCHECK"; do
	[ -x "$b" ] || {
		echo "1..1"
		echo "not ok 1 - containers: $b is not built"
		exit 1
	}
done
: >"$matrix"
t0=$(date +%s)
uid=$(id -u nobody 2>/dev/null || echo 65534)
gid=$(id -g nobody 2>/dev/null || echo 65534)
tmp=$(mktemp -d "$out/containers-tmp.XXXXXX")
chmod 755 "$tmp"
mkdir -p "$tmp/data" "$tmp/res"
chmod 1777 "$tmp/data" "$tmp/res"
# Rootless podman leaves a pause process (catatonit -P, user nobody) that
# holds its user namespace after the last container ends; its pid is in the
# runtime directory. Stop it: a test run leaves no process behind.
rl=
rl_pause=
alive() { # pid: running, not a zombie waiting for init to reap it
	kill -0 "$1" 2>/dev/null || return 1
	case $(ps -o stat= -p "$1" 2>/dev/null) in
	Z*) return 1 ;;
	esac
	return 0
}
rl_pause_stop() {
	[ -n "$rl" ] || return 0
	rl_pause=$(cat "$rl/run/libpod/tmp/pause.pid" 2>/dev/null) || return 0
	[ -n "$rl_pause" ] || return 0
	kill -TERM "$rl_pause" 2>/dev/null || return 0
	i=0
	while alive "$rl_pause" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	alive "$rl_pause" && kill -KILL "$rl_pause" 2>/dev/null
	return 0
}
cleanup() {
	if command -v podman >/dev/null 2>&1; then
		podman rm -f pfw-lane-host >/dev/null 2>&1
	fi
	rl_pause_stop
	rm -rf "$tmp" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# What root outside any container can run: a backend unavailable there
# cannot be expected inside.
host_avail=
for b in bpf perf ftrace; do
	"$PFWATCH" --list-backends --format=json 2>/dev/null | grep "\"backend\":\"$b\"" |
		grep -q '"available":true' && host_avail="$host_avail $b"
done
echo "# host: kernel $(uname -r); available as root outside containers:$host_avail"

# the pfwatch/workload JSON helpers
num_of() { # key file
	sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p" "$2" | head -n 1
}

# Judge one backend's run in one configuration. @want: "pass" (exact
# counts), or "refuse:WORDS" (exit 3, a reason containing WORDS).
judge() { # config backend want dir
	cfg=$1 b=$2 want=$3 d=$4
	rc=$(cat "$d/$b.rc" 2>/dev/null || echo "?")
	# a backend root cannot run outside cannot run inside: refusal, any reason
	case " $host_avail " in
	*" $b "*) ;;
	*) [ "$b" = auto ] || want="refuse:$b backend" ;;
	esac
	case "$want" in
	pass)
		touched=$(num_of touched "$d/$b.wl")
		# the run holds every major of the workload's process, which may
		# take one of its own (a text page read back in) beside the file's:
		# the process's majflt is the truth for the run, the thread's own
		# (read by the workload once it parked) for its row, the pages
		# touched for the file
		majflt=$(num_of majflt "$d/$b.wl")
		wpid=$(sed -n 's/^{"pid":\([0-9]*\),.*/\1/p' "$d/$b.wl")
		wtid=$(sed -n 's/.*"tids":\[{"tid":\([0-9]*\),.*/\1/p' "$d/$b.wl")
		tmaj=$(sed -n 's/.*"tids":\[{[^}]*"thread_majflt":\([0-9]*\)[,}].*/\1/p' "$d/$b.wl")
		got=$("$JSONCHECK" get "$d/$b.json" run major 2>/dev/null | tail -n 1)
		th=$("$JSONCHECK" get "$d/$b.json" thread tid pid major 2>/dev/null |
			awk -v t="${wtid:-x}" '$1 == t {print $2, $3}')
		fi=$("$JSONCHECK" get "$d/$b.json" file path major 2>/dev/null |
			awk -v p="$5" '$1 == p {print $2}')
		if [ "$rc" = 0 ] && [ -n "$touched" ] && [ -n "$majflt" ] && [ "$got" = "$majflt" ] &&
			[ -n "$tmaj" ] && [ "$tmaj" -ge "$touched" ] && [ "$th" = "$wpid $tmaj" ] &&
			[ "$fi" = "$touched" ]; then
			ok "$cfg: $b: exact ($touched majors, run $got = the workload's majflt; thread $wtid of pid $wpid as the container sees them, $tmaj = its majflt; file $5)"
			echo "containers|$cfg|$b|pass|$touched" >>"$matrix"
		else
			not_ok "$cfg: $b: exact counts" "exit $rc; touched ${touched:-?}, run major ${got:-?}, workload majflt ${majflt:-?}" \
				"thread $wtid: '${th:-none}' (want '$wpid ${tmaj:-?}', its majflt, at least $touched); file $5: ${fi:-none} (want $touched)" \
				"$(head -n 3 "$d/$b.err" 2>/dev/null)"
			echo "containers|$cfg|$b|fail|exit $rc, major ${got:-?} of ${touched:-?}" >>"$matrix"
		fi
		;;
	refuse:*)
		words=${want#refuse:}
		why=$(grep -v '^pfwatch-workload' "$d/$b.err" 2>/dev/null | head -n 3 | tr '\n' ' ')
		if [ "$rc" = 3 ] && printf '%s' "$why" | grep -q -i -- "$words"; then
			ok "$cfg: $b: refused, exit 3 ($(printf '%s' "$why" | cut -c1-140))"
			echo "containers|$cfg|$b|refuse|$words" >>"$matrix"
		else
			not_ok "$cfg: $b: refused with exit 3 and a reason naming '$words'" "exit $rc: $why"
			echo "containers|$cfg|$b|fail|exit $rc, not the refusal expected ($words)" >>"$matrix"
		fi
		;;
	esac
}

# Run container-probe.sh through a runner (a command, which must write the
# results to $tmp/res/CONFIG, seen as @seen inside: the data file's name
# there); @wants: the expectations for auto, bpf, perf, ftrace, comma
# separated.
probe_in() { # config seen "want-auto,want-bpf,want-perf,want-ftrace" runner...
	cfg=$1 seen=$2 wants=$3
	shift 3
	d=$tmp/res/$cfg
	mkdir -p "$d"
	chmod 1777 "$d"
	"$@" >"$d/runner.out" 2>&1
	rrc=$?
	if [ ! -s "$d/list.json" ]; then
		not_ok "$cfg: the container ran (exit $rrc)" "$(tail -n 5 "$d/runner.out")"
		echo "containers|$cfg|*|fail|the container did not run (exit $rrc)" >>"$matrix"
		return
	fi
	for b in auto bpf perf ftrace; do
		judge "$cfg" "$b" "${wants%%,*}" "$d" "$seen"
		wants=${wants#*,}
	done
	# --list-backends inside tells the truth: available exactly where a run worked
	lies=
	for b in bpf perf ftrace; do
		a=0
		grep "\"backend\":\"$b\"" "$d/list.json" | grep -q '"available":true' && a=1
		r=0
		[ "$(cat "$d/$b.rc" 2>/dev/null)" = 0 ] && r=1
		[ $a = $r ] || lies="$lies $b (listed available=$a, ran=$r)"
	done
	if [ -z "$lies" ]; then
		ok "$cfg: --list-backends says available exactly for the backends that ran"
	else
		not_ok "$cfg: --list-backends says available exactly for the backends that ran" "$lies"
	fi
}

probe=$here/container-probe.sh
T="timeout 300"
nobody="setpriv --reuid=$uid --regid=$gid --clear-groups --inh-caps=-all"

# --- unshare(1) and bubblewrap: the host's own files ---
# each configuration its own data file: nobody cannot write root's
run_probe() { # config
	echo "$probe $PFWATCH $PFWATCH_WORKLOAD $tmp/data/$1.dat $tmp/res/$1"
}
if command -v unshare >/dev/null 2>&1; then
	c=unshare-pidns
	probe_in $c "$tmp/data/$c.dat" "pass,pass,pass,refuse:pid namespace" \
		$T unshare -pf --mount-proc sh $(run_probe $c)
	c=unshare-pidns-nocaps
	probe_in $c "$tmp/data/$c.dat" "pass,refuse:CAP_BPF,pass,refuse:pid namespace" \
		$T unshare -pf --mount-proc setpriv --inh-caps=-all --bounding-set=-all sh $(run_probe $c)
	c=unshare-userns
	probe_in $c "$tmp/data/$c.dat" "pass,refuse:user namespace,pass,refuse:user namespace" \
		$T unshare -Ur sh $(run_probe $c)
	c=unshare-rootless
	probe_in $c "$tmp/data/$c.dat" "pass,refuse:user namespace,pass,refuse:pid namespace" \
		$T $nobody unshare -Urpf --mount-proc sh $(run_probe $c)
else
	skip "unshare" "unshare(1) not installed (util-linux)"
	echo "containers|unshare-*|*|skip|unshare not installed" >>"$matrix"
fi
if command -v bwrap >/dev/null 2>&1; then
	c=bwrap-rootless
	probe_in $c "$tmp/data/$c.dat" "pass,refuse:user namespace,pass,refuse:pid namespace" \
		$T $nobody bwrap --unshare-user --unshare-pid --die-with-parent --ro-bind / / \
		--bind "$tmp" "$tmp" --proc /proc --dev /dev sh $(run_probe $c)
else
	skip "bwrap" "bubblewrap not installed"
	echo "containers|bwrap-rootless|*|skip|bubblewrap not installed" >>"$matrix"
fi

# --- podman: a rootfs of our own, the data and results bind-mounted ---
if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
	skip "podman" "podman and runc not installed (apt-get install podman runc)"
	echo "containers|podman-*|*|skip|podman not installed" >>"$matrix"
else
	rootfs=$tmp/rootfs
	mkdir -p "$rootfs/bin" "$rootfs/data" "$rootfs/out" "$rootfs/tmp" "$rootfs/proc" \
		"$rootfs/sys" "$rootfs/dev"
	busybox=$(command -v busybox || echo /bin/busybox)
	cp "$busybox" "$rootfs/bin/busybox"
	ln -s busybox "$rootfs/bin/sh"
	cp "$PFWATCH" "$PFWATCH_WORKLOAD" "$probe" "$rootfs/bin/"
	for lib in $(ldd "$PFWATCH" "$PFWATCH_WORKLOAD" 2>/dev/null |
		awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' | sort -u); do
		mkdir -p "$rootfs$(dirname "$lib")"
		cp -L "$lib" "$rootfs$lib"
	done
	chmod -R a+rX "$rootfs"
	printf '[containers]\ndefault_ulimits = []\n[engine]\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\nruntime = "runc"\n' \
		>"$tmp/containers.conf"
	chmod 644 "$tmp/containers.conf"
	export CONTAINERS_CONF="$tmp/containers.conf"
	pod() { # config podman-run-options... (then runs the probe)
		_c=$1
		shift
		$T podman --runtime runc --cgroup-manager=cgroupfs run --rm --network=none \
			-v "$tmp/data:/data" -v "$tmp/res/$_c:/out" "$@" --rootfs "$rootfs" \
			/bin/sh /bin/container-probe.sh /bin/pfwatch /bin/pfwatch-workload "/data/$_c.dat" /out
	}
	c=podman-default
	probe_in $c /data/$c.dat "refuse:no backend,refuse:CAP_BPF,refuse:seccomp,refuse:pid namespace" \
		pod $c
	c=podman-perfmon-bpf
	probe_in $c /data/$c.dat "refuse:no backend,refuse:seccomp,refuse:seccomp,refuse:pid namespace" \
		pod $c --cap-add=PERFMON,BPF
	c=podman-perfmon-bpf-unconfined
	probe_in $c /data/$c.dat "pass,pass,pass,refuse:pid namespace" \
		pod $c --cap-add=PERFMON,BPF --security-opt seccomp=unconfined
	c=podman-sys-admin
	probe_in $c /data/$c.dat "pass,pass,pass,refuse:pid namespace" pod $c --cap-add=SYS_ADMIN
	c=podman-privileged
	probe_in $c /data/$c.dat "pass,pass,pass,refuse:pid namespace" pod $c --privileged
	c=podman-privileged-pidhost
	probe_in $c /data/$c.dat "pass,pass,pass,pass" pod $c --privileged --pid=host

	# rootless: nobody, one uid mapped (no /etc/subuid entry needed), its
	# own storage and runtime directories
	rl=$tmp/rootless
	mkdir -p "$rl/home" "$rl/run"
	chown -R "$uid:$gid" "$rl"
	chmod 700 "$rl/run"
	podrl() { # config podman-run-options...
		_c=$1
		shift
		$T $nobody env HOME="$rl/home" XDG_RUNTIME_DIR="$rl/run" \
			XDG_CONFIG_HOME="$rl/home/.config" XDG_DATA_HOME="$rl/home/.local/share" \
			CONTAINERS_CONF="$CONTAINERS_CONF" \
			podman --runtime runc --cgroup-manager=cgroupfs run --rm --network=none \
			-v "$tmp/data:/data" -v "$tmp/res/$_c:/out" "$@" --rootfs "$rootfs" \
			/bin/sh /bin/container-probe.sh /bin/pfwatch /bin/pfwatch-workload "/data/$_c.dat" /out
	}
	c=podman-rootless
	probe_in $c /data/$c.dat \
		"refuse:no backend,refuse:user namespace,refuse:seccomp,refuse:pid namespace" podrl $c
	c=podman-rootless-unconfined
	probe_in $c /data/$c.dat "pass,refuse:user namespace,pass,refuse:pid namespace" \
		podrl $c --security-opt seccomp=unconfined
	rl_pause_stop
	if [ -z "$rl_pause" ]; then
		not_ok "rootless podman: its pause process found" \
			"no pid in $rl/run/libpod/tmp/pause.pid: $(ls -R "$rl/run" 2>&1 | head -n 20)"
	elif alive "$rl_pause"; then
		not_ok "rootless podman: its pause process stopped" "pid $rl_pause: $(ps -o pid,user,args -p "$rl_pause" 2>&1)"
	else
		ok "rootless podman: its pause process (pid $rl_pause) stopped, none left behind"
	fi
	rl=

	# --- the host tracing a container through its cgroup ---
	for b in bpf perf ftrace; do
		case " $host_avail " in
		*" $b "*) ;;
		*)
			skip "host --cgroup: $b" "$b unavailable on this host"
			echo "containers|host-cgroup|$b|skip|unavailable on the host" >>"$matrix"
			continue
			;;
		esac
		d=$tmp/res/host-$b
		mkdir -p "$d"
		rm -f "$tmp/data/st" "$tmp/data/w.dat"
		podman --runtime runc --cgroup-manager=cgroupfs run -d --name pfw-lane-host --network=none \
			-v "$tmp/data:/data" --rootfs "$rootfs" /bin/pfwatch-workload --exact --size=8M \
			--accesses=300 --file=/data/w.dat --json --wait-start --wait-end --status-file=/data/st \
			>"$d/podman.out" 2>&1
		i=0
		while ! grep -q ready "$tmp/data/st" 2>/dev/null && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		hp=$(podman inspect -f '{{.State.Pid}}' pfw-lane-host 2>/dev/null)
		cg=$(sed -n 's/^0:://p' "/proc/$hp/cgroup" 2>/dev/null)
		if [ -z "$hp" ] || [ -z "$cg" ]; then
			not_ok "host --cgroup: $b: the container started" "$(cat "$d/podman.out")"
			podman rm -f pfw-lane-host >/dev/null 2>&1
			continue
		fi
		# one tracer at a time: two perf tracers of one task lose samples (see the README)
		"$PFWATCH" --backend=$b --cgroup="$cg" -f json -o "$d/out.json" -d 60 2>"$d/err" &
		tp=$!
		sleep 3
		kill -USR1 "$hp"
		i=0
		while ! grep -q done "$tmp/data/st" 2>/dev/null && [ $i -lt 300 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -USR1 "$hp"
		sleep 1
		kill -INT "$tp"
		wait "$tp"
		rc=$?
		podman logs pfw-lane-host >"$d/wl" 2>/dev/null
		podman rm -f pfw-lane-host >/dev/null 2>&1
		touched=$(num_of touched "$d/wl")
		fi=$("$JSONCHECK" get "$d/out.json" file path major 2>/dev/null |
			awk '$1 == "/data/w.dat" {print $2}')
		th=$("$JSONCHECK" get "$d/out.json" thread pid major cgroup 2>/dev/null |
			awk -v p="$hp" -v n="${touched:-x}" '$1 == p && $2 == n {print $3}')
		if [ "$rc" = 0 ] && [ -n "$touched" ] && [ "$fi" = "$touched" ] && [ "$th" = "$cg" ]; then
			ok "host --cgroup=$cg: $b: exact ($touched majors on /data/w.dat, as the container names it; thread of pid $hp in that cgroup)"
			echo "containers|host-cgroup|$b|pass|$touched" >>"$matrix"
		else
			not_ok "host --cgroup: $b: exact counts" "exit $rc; touched ${touched:-?}; file /data/w.dat: ${fi:-none}" \
				"thread of pid $hp with every major, cgroup '${th:-none}' (want '$cg')" "$(head -n 3 "$d/err")"
			echo "containers|host-cgroup|$b|fail|exit $rc, file ${fi:-none} of ${touched:-?}" >>"$matrix"
		fi
	done
fi

# nothing left behind: containers, pfwatch processes
left=$(podman ps -a --format '{{.Names}}' 2>/dev/null | grep '^pfw-lane' | tr '\n' ' ')
if [ -z "$left" ]; then
	ok "no container left behind"
else
	not_ok "no container left behind" "$left"
fi
echo "containers|$(($(date +%s) - t0))" >"$out/containers.time"
uname -r >"$out/containers.kernel"
echo "1..$n"
[ "$nfail" -eq 0 ]
