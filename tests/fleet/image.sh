#!/bin/sh
# The OCI image (issue 16), built by dist/build-image.sh (`make image`) from
# this tree's binaries with podman import and no registry, then run with
# the README's recipes ("Container image"), read from README.md itself:
# - the per-node exporter (--pid=host, uid 0 with only the five capabilities
#   of pfwatch.service, the seccomp profile dist/pfwatch-seccomp.json, no new
#   privileges, read-only root, port 9412) exposes exactly the major faults
#   of a workload running on the host (curl; promtool check metrics), and
#   podman stop ends it with exit 0 and its BPF objects released;
# - the one-shot tracer, as the image's non-root user with no capability,
#   counts exactly the major faults of its own command, with pids as the
#   container sees them;
# - dist/pfwatch-daemonset.yaml asks Kubernetes for the same recipe.
# Podman keeps its storage in the test's own directory (--root, --runroot,
# --tmpdir; vfs driver), so the machine's images and containers are never
# touched, and all is removed at the end.
#
# Skips when not root or podman is missing (bootstrap.sh installs podman,
# runc, uidmap). Environment: top_srcdir, top_builddir, PFWATCH,
# PFWATCH_WORKLOAD (make check).
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/fleet/lib-fleet.sh"

src=$(cd "${top_srcdir:-.}" && pwd)
build=$(cd "${top_builddir:-.}" && pwd)
require_root
command -v podman >/dev/null 2>&1 || skip_all "podman is not installed (apt-get install podman runc; bootstrap.sh installs them)"
command -v curl >/dev/null 2>&1 || skip_all "curl is not installed"
pfw_setup
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")
image=localhost/pfwatch:$version
readme=$src/README.md
profile=$src/dist/pfwatch-seccomp.json
manifest=$src/dist/pfwatch-daemonset.yaml

# podman with its own storage, under a directory of ours
pod=$(mktemp -d "$build/tests/vm/out/image.XXXXXX" 2>/dev/null) ||
	pod=$(mkdir -p "$build/tests/vm/out" && mktemp -d "$build/tests/vm/out/image.XXXXXX")
podman="podman --root $pod/storage --runroot $pod/run --tmpdir $pod/tmp --storage-driver vfs --events-backend file --cgroup-manager cgroupfs"
# This machine's podman needs two more options, measured: crun 1.8 refuses a
# hybrid cgroup layout (v1 controllers, v2 at /sys/fs/cgroup/unified), and
# without CAP_SYS_RESOURCE root cannot raise the hard rlimits to podman's
# defaults (nofile, nproc 1048576). Added only where these conditions hold.
quirks=
if [ -d /sys/fs/cgroup/unified ] && [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ]; then
	command -v runc >/dev/null 2>&1 || skip_all "hybrid cgroups, which crun refuses, and runc is not installed (apt-get install runc)"
	quirks="--runtime runc"
fi
capeff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
[ $(((0x$capeff >> 24) & 1)) -eq 1 ] ||
	quirks="$quirks --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
cname=pfw-image-$$

image_cleanup() {
	timeout 60 $podman rm -f -t 0 "$cname" >/dev/null 2>&1
	timeout 60 $podman rmi -f "$image" >/dev/null 2>&1
	# podman unmounts what it mounted (the containers' /dev/shm); never
	# remove a directory through a mount
	if grep -q " ${pod}/" /proc/self/mountinfo; then
		echo "# mounts left under $pod, kept: $(grep " ${pod}/" /proc/self/mountinfo | awk '{print $5}' | tr '\n' ' ')"
	else
		rm -rf "$pod"
	fi
	pfw_cleanup
}
trap image_cleanup EXIT

# the recipe's options as the README gives them: the words of the first
# command starting with PREFIX (continuation lines joined) between "podman
# run" and the image, less those the test sets itself (-d, --rm, --name, -p)
readme_cmd() { # prefix
	awk -v p="$1" 'index($0, p) == 1 { on = 1 }
		on { l = $0; c = sub(/\\$/, "", l); gsub(/[ \t]+/, " ", l); printf "%s ", l; if (!c) exit }' "$readme"
}
recipe_opts() { # command
	echo "$1" | awk '{
		for (i = 3; i <= NF; i++) {
			w = $i
			if (w ~ /^localhost\/pfwatch:/) break
			if (w == "-d" || w == "--rm") continue
			if (w == "--name" || w == "-p") { i++; continue }
			if (w ~ /^--name=|^-p=|^--publish/) continue
			sub(/^--security-opt=seccomp=.*pfwatch-seccomp\.json$/, "--security-opt=seccomp=" prof, w)
			print w
		}
	}' prof="$profile" | tr '\n' ' '
}
exporter_cmd=$(readme_cmd 'podman run -d --name pfwatch ' | tr -s ' ')
oneshot_cmd=$(readme_cmd 'podman run --rm ' | tr -s ' ')
exporter_opts=$(recipe_opts "$exporter_cmd")
oneshot_opts=$(recipe_opts "$oneshot_cmd")
[ -n "$exporter_opts" ] && [ -n "$oneshot_opts" ] ||
	bail "README.md has no 'podman run -d --name pfwatch ...' or 'podman run --rm ...' recipe"
caps=$(echo "$exporter_opts" | tr ' ' '\n' | sed -n 's/^--cap-add=//p' | tr ',' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
plan 17
diag "exporter recipe: $exporter_cmd"
diag "one-shot recipe: $oneshot_cmd"
diag "podman $(podman --version | awk '{print $3}')${quirks:+, with$quirks on this machine}"
# the profile is this podman's default with bpf and perf_event_open allowed
# (README): say whether it still is, a hint when podman's default changes
def=/usr/share/containers/seccomp.json
if [ -r "$def" ] && command -v jq >/dev/null 2>&1; then
	if jq '.syscalls |= map(.names -= ["bpf", "perf_event_open"])
		+ [{"names": ["bpf", "perf_event_open"], "action": "SCMP_ACT_ALLOW"}]' "$def" |
		cmp -s - "$profile"; then
		diag "dist/pfwatch-seccomp.json is $def with bpf and perf_event_open allowed"
	else
		diag "dist/pfwatch-seccomp.json differs from $def with bpf and perf_event_open allowed: podman's default changed? (README: the jq line)"
	fi
fi

# 1. the image
t0=$(date +%s)
built=$(top_builddir=$build PFW_PODMAN="$podman" PFW_IMAGE="$image" \
	"$src/dist/build-image.sh" "$pod" 2>"$pod/build.err")
rc=$?
t1=$(date +%s)
size=$($podman image inspect -f '{{.Size}}' "$image" 2>/dev/null)
[ "$rc" -eq 0 ] && [ "$built" = "$image" ] && [ -n "$size" ]
check $? "dist/build-image.sh: $image, $size bytes, built in $((t1 - t0)) s" "$(cat "$pod/build.err")"
[ -n "$size" ] || {
	done_testing
}
# small: measured 5.2 MB (pfwatch, the workload, 12 libraries); twice that
# means something that does not belong crept in
[ "$size" -le 10485760 ]
check $? "the image is small: $size bytes <= 10 MiB"
label=$($podman image inspect -f '{{index .Labels "org.opencontainers.image.version"}}' "$image")
user=$($podman image inspect -f '{{.Config.User}}' "$image")
cmd=$($podman image inspect -f '{{join .Config.Cmd " "}}' "$image")
[ "$label" = "$version" ] && [ "$user" = 65532:65532 ]
check $? "labelled org.opencontainers.image.version=$label, runs as non-root $user by default (CMD $cmd)"
# nothing but pfwatch, the workload, the libraries they load, and the
# files that say who they are
libs=$(for b in pfwatch pfwatch-workload; do ldd "$build/$b"; done |
	awk '$2 == "=>" && $3 ~ /^\// { print "." $3 } $1 ~ /^\// { print "." $1 }' | sort -u)
extra=$(tar -tvf "$pod/pfwatch-image-$version.rootfs.tar" | awk '$1 !~ /^d/ { print $6 }' |
	grep -v -x -F "$libs" |
	grep -v -x -E '\./usr/bin/pfwatch(-workload)?|\./etc/(passwd|group|os-release)|\./usr/share/doc/[^/]+/copyright|\./var/lib/dpkg/status\.d/[^/]+')
[ -z "$extra" ]
check $? "the image holds pfwatch, pfwatch-workload, the $(echo "$libs" | wc -l) libraries ldd names and their copyright and status files, nothing else (no shell)" "$extra"

# 2. the per-node exporter, as the README runs it
hport=$(fleet_port 1)
# shellcheck disable=SC2086
timeout 120 $podman run -d --name "$cname" $quirks $exporter_opts -p "127.0.0.1:$hport:9412" "$image" \
	>"$pod/run.out" 2>&1
rc=$?
url=http://127.0.0.1:$hport/metrics
fleet_wait_url "$url" 30
up=$?
[ "$rc" -eq 0 ] && [ "$up" -eq 0 ]
check $? "the exporter recipe serves /metrics (container port 9412, published on 127.0.0.1:$hport)" \
	"$(cat "$pod/run.out")" "$(timeout 30 $podman logs "$cname" 2>&1 | tail -n 10)"
info=$(curl -fs "$url" | grep '^pfwatch_info{')
backend=$(echo "$info" | sed -n 's/.*backend="\([^"]*\)".*/\1/p')
attach=$(echo "$info" | sed -n 's/.*attach="\([^"]*\)".*/\1/p')
diag "pfwatch_info: backend=$backend attach=$attach"

cpid=$($podman inspect -f '{{.State.Pid}}' "$cname" 2>/dev/null)
st=/proc/${cpid:-0}/status
field() { awk -v f="$1:" '$1 == f { print $2; exit }' "$st" 2>/dev/null; }
# CAP_IPC_LOCK 14, CAP_SYS_PTRACE 19, CAP_PERFMON 38, CAP_BPF 39,
# CAP_CHECKPOINT_RESTORE 40: pfwatch.service's set
want_caps=000001c000084000
[ "$caps" = "BPF CHECKPOINT_RESTORE IPC_LOCK PERFMON SYS_PTRACE" ]
check $? "the recipe adds exactly pfwatch.service's capabilities ($caps) and drops the rest" "$exporter_cmd"
eff=$(field CapEff) prm=$(field CapPrm) bnd=$(field CapBnd)
[ "$(field Uid)" = 0 ] && [ "$eff" = $want_caps ] && [ "$prm" = $want_caps ] && [ "$bnd" = $want_caps ]
check $? "pfwatch in the container (host pid $cpid): uid 0, effective, permitted and bounding sets exactly $want_caps" \
	"$(grep -E '^(Uid|Cap)' "$st" 2>&1)"
[ "$(field NoNewPrivs)" = 1 ] && [ "$(field Seccomp)" = 2 ]
check $? "no new privileges ($(field NoNewPrivs)), a seccomp filter ($(field Seccomp): dist/pfwatch-seccomp.json)"

# what BPF objects the exporter holds, from its own descriptors
bpf_ids=
for fd in /proc/"$cpid"/fdinfo/*; do
	awk '$1 ~ /^(prog_id|map_id|link_id):$/ { sub(/_id:/, "", $1); print $1 " " $2 }' "$fd" 2>/dev/null
done | sort -u >"$pod/bpf.ids"
bpf_ids=$(tr '\n' ' ' <"$pod/bpf.ids")

# the workload on the host
data=$pfw_tmp/image-exact.dat
expect=$("$PFWATCH_WORKLOAD" --file="$data" --size=4M --pattern=random --exact --expect)
js=$("$PFWATCH_WORKLOAD" --file="$data" --size=4M --pattern=random --exact --json 2>&1)
# the touch phase's: the process's may hold a text page read back in
majflt=$(printf '%s\n' "$js" | sed -n 's/.*"touch_majflt":\([0-9]*\).*/\1/p')
is_num_eq "the workload on the host: its majflt while touching is its --expect" "$majflt" "$expect"
got=
for _ in $(seq 1 100); do
	got=$(curl -fs "$url" | fleet_sample pfwatch_file_faults_total "file=\"$data\",kind=\"major\"")
	[ "$got" = "$expect" ] && break
	sleep 0.2
done
is_num_eq "the containerized exporter ($backend/$attach) counts the host workload's file exactly: pfwatch_file_faults_total $got" \
	"$got" "$expect"
curl -fs "$url" >"$pod/scrape.prom"
if command -v promtool >/dev/null 2>&1; then
	promtool check metrics <"$pod/scrape.prom" >"$pod/promtool.out" 2>&1
	check $? "promtool check metrics accepts the scrape ($(wc -l <"$pod/scrape.prom") lines)" "$(head -n 10 "$pod/promtool.out")"
else
	skip "promtool check metrics" "promtool is not installed (Debian package prometheus)"
fi

# podman stop: SIGTERM, exit 0, nothing held
t0=$(date +%s%N)
timeout 60 $podman stop -t 10 "$cname" >/dev/null 2>&1
t1=$(date +%s%N)
code=$($podman inspect -f '{{.State.ExitCode}}' "$cname" 2>/dev/null)
[ "$code" = 0 ]
check $? "podman stop: pfwatch exited with status $code in $(((t1 - t0) / 1000000)) ms" \
	"$(timeout 30 $podman logs "$cname" 2>&1 | tail -n 10)"
if [ "$backend" = bpf ] && command -v bpftool >/dev/null 2>&1; then
	left=
	while read -r kind id; do
		bpftool "$kind" show id "$id" >/dev/null 2>&1 && left="$left $kind $id"
	done <"$pod/bpf.ids"
	[ -n "$bpf_ids" ] && [ -z "$left" ]
	check $? "it held BPF objects ($(wc -l <"$pod/bpf.ids"): $bpf_ids) and none is left after the stop${left:+:$left}"
else
	skip "BPF objects released at stop" "backend $backend${backend:+, }bpftool $(command -v bpftool >/dev/null && echo present || echo missing)"
fi
timeout 60 $podman rm -f -t 0 "$cname" >/dev/null 2>&1

# 3. the one-shot tracer of its own command, as the README runs it
# shellcheck disable=SC2086
timeout 120 $podman run --rm $quirks $oneshot_opts "$image" \
	pfwatch --view=summary -f json -- pfwatch-workload --exact --size=4M --pattern=random --json \
	>"$pod/oneshot.out" 2>"$pod/oneshot.err"
rc=$?
wl=$(grep '"majflt"' "$pod/oneshot.out" | grep -v '"record"')
wmaj=$(printf '%s\n' "$wl" | sed -n 's/.*"touch_majflt":\([0-9]*\).*/\1/p')
wpid=$(printf '%s\n' "$wl" | sed -n 's/^{"pid":\([0-9]*\).*/\1/p')
fmaj=$(grep '"record":"file"' "$pod/oneshot.out" | grep '"path":"/tmp/pfwatch-workload.dat"' |
	sed -n 's/.*"major":\([0-9]*\).*/\1/p')
run=$(grep '"record":"run"' "$pod/oneshot.out")
tpid=$(grep '"record":"thread"' "$pod/oneshot.out" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p' | sort -u | tr '\n' ' ' | sed 's/ $//')
[ "$rc" -eq 0 ] && [ -n "$fmaj" ] && [ "$fmaj" = "$wmaj" ] && [ "$fmaj" = "$expect" ]
check $? "one-shot: pfwatch -- pfwatch-workload in the container counts exactly its $expect major faults (file record $fmaj, the workload's majflt while touching $wmaj; $(json_str backend "$run")/$(json_str attach "$run"))" \
	"exit $rc" "$(head -n 20 "$pod/oneshot.out")" "$(head -n 10 "$pod/oneshot.err")"
[ -n "$wpid" ] && [ "$tpid" = "$wpid" ]
check $? "one-shot: the pid pfwatch reports ($tpid) is the workload's own in the container's namespace ($wpid)"

# 4. the DaemonSet asks Kubernetes for the recipe that ran
if python3 -c 'import yaml' 2>/dev/null; then
	kube=$(python3 - "$manifest" <<'EOF'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
pod = d["spec"]["template"]["spec"]
c = pod["containers"][0]
sc = c["securityContext"]
ports = ["%s:%s" % (p.get("hostPort"), p["containerPort"]) for p in c.get("ports", [])]
print("kind=%s hostPID=%s user=%s caps=%s drop=%s nnp=%s ro=%s seccomp=%s:%s ports=%s cmd=%s" % (
    d["kind"], pod.get("hostPID"), sc.get("runAsUser"),
    ",".join(sorted(sc["capabilities"]["add"])), ",".join(sc["capabilities"]["drop"]),
    sc.get("allowPrivilegeEscalation"), sc.get("readOnlyRootFilesystem"),
    sc["seccompProfile"]["type"], sc["seccompProfile"].get("localhostProfile"),
    ",".join(ports), " ".join(c.get("command", []) + c.get("args", []))))
EOF
	)
	want="kind=DaemonSet hostPID=True user=0 caps=$(echo "$caps" | tr ' ' ',') drop=ALL nnp=False ro=True seccomp=Localhost:pfwatch-seccomp.json ports=9412:9412 cmd=$cmd"
	# and the README recipe has each of these
	for o in --pid=host --user=0 --cap-drop=ALL --security-opt=no-new-privileges --read-only; do
		echo " $exporter_opts " | grep -q -- " $o " || kube="$kube (the README recipe lacks $o)"
	done
	echo " $exporter_cmd " | grep -q -- ' -p 9412:9412 ' || kube="$kube (the README recipe does not publish 9412:9412)"
	is_eq "dist/pfwatch-daemonset.yaml mirrors the recipe that ran: hostPID, uid 0, the capabilities, no privilege escalation, read-only root, the seccomp profile, port 9412, the image's command" \
		"$kube" "$want"
else
	skip "dist/pfwatch-daemonset.yaml mirrors the recipe" "python3-yaml is not installed"
fi

# 5. nothing left
left=$($podman ps -a --format '{{.Names}}' 2>&1)
[ -z "$left" ] && [ -z "$(pgrep -f "$pod/" 2>/dev/null)" ]
check $? "no container left in the test's podman storage" "$left"

done_testing
