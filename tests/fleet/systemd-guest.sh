#!/bin/sh
# Runs inside the systemd lane's guest as pfw-check.service (a oneshot
# ordered after pfwatch.service, SuccessAction/FailureAction=poweroff):
# checks that systemd started the installed pfwatch.service on boot with
# least privilege, that it exports exactly the faults the kernel counted,
# and that stopping it leaves nothing behind. TAP on stdout (the unit sends
# it to a file on the root disk, read by tests/fleet/systemd.sh with
# debugfs); progress on stderr (journal and console).
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# The exposure systemd-analyze security gave the unit when this lane was
# written (bookworm's systemd 252: 2.3 OK; what is left is what pfwatch needs:
# CAP_BPF/PERFMON/SYS_PTRACE, perf_event_open (@debug), the host's /proc
# and network): a change of the unit or of systemd's scoring that makes it
# worse must be looked at, not pass unnoticed.
max_exposure=${PFW_MAX_EXPOSURE:-2.3}
unit=pfwatch.service
port=9412
url=http://127.0.0.1:$port/metrics
data=/srv/pfw-exact.dat
tmp_prog=/run/pfw-check.bpfprogs

n=0
fail=0
ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}
not_ok() { # name [diag...]
	n=$((n + 1))
	fail=$((fail + 1))
	echo "not ok $n - $1"
	shift
	for d in "$@"; do
		printf '%s\n' "$d" | sed 's/^/#   /'
	done
}
check() { # condition-status name [diag...]
	_s=$1
	shift
	if [ "$_s" -eq 0 ]; then ok "$1"; else not_ok "$@"; fi
}
say() { echo "pfw-check: $*" >&2; }

# capability names by bit (linux/capability.h; 38-40 since 5.8/5.9)
capnames="chown dac_override dac_read_search fowner fsetid kill setgid setuid
setpcap linux_immutable net_bind_service net_broadcast net_admin net_raw
ipc_lock ipc_owner sys_module sys_rawio sys_chroot sys_ptrace sys_pacct
sys_admin sys_boot sys_nice sys_resource sys_time sys_tty_config mknod lease
audit_write audit_control setfcap mac_override mac_admin syslog wake_alarm
block_suspend audit_read perfmon bpf checkpoint_restore"

# a /proc/PID/status capability mask as sorted cap_ names, one line
decode_caps() { # hex
	_m=$((0x${1:-0}))
	_i=0
	for _c in $capnames; do
		[ $(((_m >> _i) & 1)) -eq 1 ] && echo "cap_$_c"
		_i=$((_i + 1))
	done | sort | tr '\n' ' ' | sed 's/ $//'
	# bits beyond the table: name them by number so they still differ
	_k=$(echo $capnames | wc -w)
	[ $((_m >> _k)) -eq 0 ] || printf ' unknown_bits_above_%d' "$((_k - 1))"
}
sorted() { tr ' ' '\n' | grep . | sort | tr '\n' ' ' | sed 's/ $//'; }

say "start: $(uname -r), systemd $(systemctl --version | head -n 1)"

# 1. systemd started it at boot: enabled, active, not restarted, serving
enabled=$(systemctl is-enabled $unit 2>&1)
state=
for _ in $(seq 1 600); do
	state=$(systemctl is-active $unit 2>&1)
	[ "$state" = active ] && curl -fs -o /dev/null "$url" && break
	[ "$state" = failed ] && break
	sleep 0.2
done
[ "$enabled" = enabled ] && [ "$state" = active ]
check $? "$unit is enabled ($enabled) and active ($state) after boot" \
	"$(systemctl status --no-pager -n 20 $unit 2>&1)"
restarts=$(systemctl show -p NRestarts --value $unit)
[ "$restarts" = 0 ]
check $? "$unit started once at boot (NRestarts=$restarts)" \
	"$(journalctl -b -u $unit --no-pager -o cat 2>&1 | tail -n 20)"

pid=$(systemctl show -p MainPID --value $unit)
st=/proc/$pid/status
field() { awk -v f="$1:" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' "$st"; }
say "MainPID $pid: $(cat /proc/"$pid"/cmdline 2>/dev/null | tr '\0' ' ')"

# 2. a dynamic non-root uid (systemd's DynamicUser range 61184-65519)
uids=$(field Uid)
gids=$(field Gid)
uid=$(echo "$uids" | awk '{print $1}')
echo "$uids $gids" | awk -v u="$uid" '
	{ for (i = 1; i <= NF; i++) if ($i != u) exit 1 }
	END { exit !(u >= 61184 && u <= 65519) }'
check $? "pfwatch runs as dynamic non-root uid $uid ($(getent passwd "$uid" | cut -d: -f1)), real=effective=saved=fs, gid too" \
	"Uid: $uids" "Gid: $gids"

# 3. exactly the capabilities the unit grants, in every set that matters
grant=$(systemctl show -p AmbientCapabilities --value $unit | sorted)
bound=$(systemctl show -p CapabilityBoundingSet --value $unit | sorted)
[ -n "$grant" ] && [ "$grant" = "$bound" ]
check $? "the unit bounds pfwatch to the capabilities it grants: $grant" "bounding set: $bound"
for set in CapEff CapPrm CapAmb CapBnd; do
	hex=$(field $set)
	got=$(decode_caps "$hex")
	[ "$got" = "$grant" ]
	check $? "$set of pfwatch is exactly the unit's set ($hex)" "got:  $got" "want: $grant"
done
echo "# CapInh $(field CapInh): $(decode_caps "$(field CapInh)")"

# 4. no way up, and the syscall filter is on
nnp=$(field NoNewPrivs)
sec=$(field Seccomp)
[ "$nnp" = 1 ]
check $? "NoNewPrivs: $nnp"
[ "$sec" = 2 ]
check $? "Seccomp: $sec (filter mode, $(field Seccomp_filters) filters)"

# 5. the exporter answers and names its backend and attach mode
metrics=$(curl -fs "$url")
info=$(printf '%s\n' "$metrics" | grep '^pfwatch_info{')
backend=$(printf '%s\n' "$info" | sed -n 's/.*backend="\([^"]*\)".*/\1/p')
attach=$(printf '%s\n' "$info" | sed -n 's/.*attach="\([^"]*\)".*/\1/p')
[ -n "$backend" ] && [ "$backend" != - ]
check $? "curl $url: pfwatch_info backend=$backend attach=$attach" \
	"$(printf '%s\n' "$metrics" | head -n 20)" \
	"$(journalctl -b -u $unit --no-pager -o cat 2>&1 | tail -n 20)"

# BPF objects pfwatch holds now, by id. Debian's bpftool is built without
# the pids iterator, so ownership is the loading uid: no other process runs
# as pfwatch's dynamic uid. Its maps are those its programs use, its links
# those attached to its programs.
if command -v bpftool >/dev/null 2>&1; then
	bpftool prog show >"$tmp_prog" 2>&1
	progs=$(awk -v u="$uid" '/^[0-9]+:/ { id = $1 } / uid [0-9]+/ {
		for (i = 1; i < NF; i++) if ($i == "uid" && $(i + 1) == u) print id }' "$tmp_prog" |
		tr -d : | sort -un | tr '\n' ' ')
	maps=$(awk -v l=" $progs" '/^[0-9]+:/ { id = $1; sub(/:/, "", id) }
		/map_ids/ && index(l, " " id " ") { for (i = 1; i < NF; i++) if ($i == "map_ids") print $(i + 1) }' \
		"$tmp_prog" | tr ',' '\n' | sort -un | tr '\n' ' ')
	links=$(bpftool link show 2>/dev/null | awk -v l=" $progs" '/^[0-9]+:/ {
		id = $1; sub(/:/, "", id)
		for (i = 1; i < NF; i++) if ($i == "prog" && index(l, " " $(i + 1) " ")) print id }' |
		sort -un | tr '\n' ' ')
	echo "# while running, pfwatch (uid $uid) holds BPF progs [${progs% }] links [${links% }] maps [${maps% }]"
fi

# 6. the deterministic workload: the exporter counts exactly its majors
mkdir -p "$(dirname "$data")"
expect=$(pfwatch-workload --file="$data" --size=4M --pattern=random --exact --expect)
js=$(pfwatch-workload --file="$data" --size=4M --pattern=random --exact --json 2>&1)
majflt=$(printf '%s\n' "$js" | sed -n 's/.*"majflt":\([0-9]*\).*/\1/p')
[ -n "$expect" ] && [ "$majflt" = "$expect" ]
check $? "pfwatch-workload --exact: the kernel's majflt $majflt is its --expect $expect" "$js"
got=
for _ in $(seq 1 150); do
	got=$(curl -fs "$url" | awk -v k="pfwatch_file_faults_total{file=\"$data\",kind=\"major\"}" \
		'index($0, k " ") == 1 { print $2; exit }')
	[ -n "$got" ] && [ "$got" = "$expect" ] && break
	sleep 0.2
done
[ -n "$got" ] && [ "$got" = "$expect" ]
check $? "the exporter's pfwatch_file_faults_total{file=\"$data\",kind=\"major\"} is exactly $expect (got ${got:-nothing})" \
	"$(curl -fs "$url" | grep -F -e "$data" -e other -e lost | head -n 20)"
rm -f "$data"

# 7. the exposure score systemd gives the unit
sec_out=$(systemd-analyze security --no-pager $unit 2>&1)
score=$(printf '%s\n' "$sec_out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
echo "# systemd-analyze security $unit: exposure $score"
printf '%s\n' "$sec_out" | grep '✗' | sed 's/^/#   /' | head -n 40
echo "$score" | awk -v max="$max_exposure" '$1 != "" && $1 + 0 <= max + 0 { ok = 1 } END { exit !ok }'
check $? "systemd-analyze security: exposure ${score:-unknown} <= $max_exposure"

# 8. systemctl stop: SIGTERM ends it cleanly and it holds nothing after
t0=$(date +%s%N)
systemctl stop $unit
t1=$(date +%s%N)
result=$(systemctl show -p Result --value $unit)
code=$(systemctl show -p ExecMainCode --value $unit)
status=$(systemctl show -p ExecMainStatus --value $unit)
# ExecMainCode 1 is CLD_EXITED: it exited by itself, status 0
[ "$result" = success ] && [ "$code" = 1 ] && [ "$status" = 0 ]
check $? "systemctl stop $unit: Result=$result, exited with status $status in $(((t1 - t0) / 1000000)) ms" \
	"ExecMainCode=$code" "$(journalctl -b -u $unit --no-pager -o cat 2>&1 | tail -n 20)"
if command -v bpftool >/dev/null 2>&1; then
	left=
	for kind in prog link map; do
		eval "ids=\${${kind}s}"
		now=" $(bpftool "$kind" show 2>/dev/null | awk '/^[0-9]+:/ { sub(/:/, "", $1); print $1 }' | tr '\n' ' ')"
		for id in $ids; do
			case "$now" in *" $id "*) left="$left $kind $id" ;; esac
		done
	done
	[ -n "$progs" ] || [ "$backend" != bpf ]
	check $? "bpftool saw the bpf backend's objects while it ran ($(echo $progs | wc -w) progs, $(echo $links | wc -w) links, $(echo $maps | wc -w) maps)"
	[ -z "$left" ]
	check $? "after stop no BPF prog, link or map of pfwatch is left${left:+:$left}" \
		"$(bpftool prog show 2>&1 | head -n 20)"
	pinned=$(find /sys/fs/bpf -mindepth 1 2>/dev/null | head -n 5)
	[ -z "$pinned" ]
	check $? "nothing pinned in /sys/fs/bpf" "$pinned"
else
	not_ok "bpftool is in the guest"
fi

# 9. the other ways an admin runs the unit, through drop-ins as
# `systemctl edit` writes them: the perf backend behind the same hardening
# (perf_event_open and its ring buffers under the syscall filter and
# MemoryDenyWriteExecute), and node_exporter's textfile. A DynamicUser cannot
# write into a directory it does not own, so the textfile goes to the unit's
# RuntimeDirectory, which systemd creates for that uid, world-readable.
bin=$(systemctl show -p ExecStart --value $unit | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
dropin=/run/systemd/system/$unit.d
mkdir -p "$dropin"
# Debian's kernels default to perf_event_paranoid=3 (a Debian patch: no
# perf_event_open without CAP_SYS_ADMIN), which no capability the unit grants
# overrides: the perf backend must then say so and stay stopped (exit 3,
# RestartPreventExitStatus), and runs once the admin lowers it to 2.
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
for variant in perf-paranoid perf textfile; do
	case $variant in
	perf-paranoid)
		if [ "$paranoid" -le 2 ]; then
			echo "ok $((n + 1)) - # SKIP perf_event_paranoid is $paranoid here, not Debian's 3"
			n=$((n + 1))
			continue
		fi
		printf '[Service]\nExecStart=\nExecStart=%s --backend=perf --serve=127.0.0.1:%s --quiet\n' \
			"$bin" "$port" >"$dropin/lane.conf"
		systemctl daemon-reload
		systemctl start $unit
		sleep 8
		state=$(systemctl is-active $unit 2>&1)
		status=$(systemctl show -p ExecMainStatus --value $unit)
		restarts=$(systemctl show -p NRestarts --value $unit)
		why=$(journalctl -b -u $unit --no-pager -o cat 2>&1 | grep -m 1 'perf_event_paranoid')
		[ "$state" = failed ] && [ "$status" = 3 ] && [ "$restarts" = 0 ] && [ -n "$why" ]
		check $? "perf drop-in at Debian's perf_event_paranoid=$paranoid: pfwatch exits 3 ($status), unit $state, not restarted ($restarts): $why" \
			"$(journalctl -b -u $unit --no-pager -o cat 2>&1 | tail -n 10)"
		systemctl reset-failed $unit
		# (the minimal root has no procps: no sysctl)
		echo 2 >/proc/sys/kernel/perf_event_paranoid
		continue
		;;
	perf)
		args="--backend=perf --serve=127.0.0.1:$port --quiet"
		extra=
		;;
	textfile)
		prom=/run/pfwatch/pfwatch.prom
		args="--metrics-file=$prom --interval=0.5 --quiet"
		extra="RuntimeDirectory=pfwatch"
		;;
	esac
	printf '[Service]\nExecStart=\nExecStart=%s %s\n%s\n' "$bin" "$args" "$extra" >"$dropin/lane.conf"
	systemctl daemon-reload
	systemctl start $unit
	state=
	for _ in $(seq 1 300); do
		state=$(systemctl is-active $unit 2>&1)
		if [ "$variant" = perf ]; then
			curl -fs -o /dev/null "$url" && break
		else
			[ -s "$prom" ] && break
		fi
		[ "$state" = failed ] && break
		sleep 0.2
	done
	pid=$(systemctl show -p MainPID --value $unit)
	st=/proc/$pid/status
	eff=$(decode_caps "$(field CapEff)")
	[ "$state" = active ] && [ "$eff" = "$grant" ]
	check $? "$variant drop-in ($args): active ($state), CapEff exactly the unit's set" \
		"CapEff: $eff" "$(journalctl -b -u $unit --no-pager -o cat 2>&1 | tail -n 10)"
	expect=$(pfwatch-workload --file="$data" --size=2M --pattern=random --exact --expect)
	pfwatch-workload --file="$data" --size=2M --pattern=random --exact >/dev/null 2>&1
	k="pfwatch_file_faults_total{file=\"$data\",kind=\"major\"}"
	got=
	for _ in $(seq 1 150); do
		if [ "$variant" = perf ]; then
			got=$(curl -fs "$url" | awk -v k="$k" 'index($0, k " ") == 1 { print $2; exit }')
		else
			# read as another user, as node_exporter would
			got=$(setpriv --reuid=65534 --regid=65534 --clear-groups cat "$prom" 2>&1 |
				awk -v k="$k" 'index($0, k " ") == 1 { print $2; exit }')
		fi
		[ -n "$got" ] && [ "$got" = "$expect" ] && break
		sleep 0.2
	done
	info=$(if [ "$variant" = perf ]; then curl -fs "$url"; else cat "$prom"; fi 2>/dev/null |
		grep '^pfwatch_info{' | sed -n 's/.*backend="\([^"]*\)",attach="\([^"]*\)".*/\1\/\2/p')
	[ -n "$got" ] && [ "$got" = "$expect" ]
	check $? "$variant ($info): the file's exact major faults $expect (got ${got:-nothing})" \
		"$(ls -l "${prom:-/nonexistent}" 2>&1)" "$(journalctl -b -u $unit --no-pager -o cat 2>&1 | tail -n 10)"
	rm -f "$data"
	systemctl stop $unit
	result=$(systemctl show -p Result --value $unit)
	status=$(systemctl show -p ExecMainStatus --value $unit)
	[ "$result" = success ] && [ "$status" = 0 ]
	check $? "$variant: systemctl stop, Result=$result, exit status $status"
done
rm -rf "$dropin"
systemctl daemon-reload
echo "$paranoid" >/proc/sys/kernel/perf_event_paranoid

# 10. the package's life cycle, when the lane installed pfwatch from its
# .deb (tests/fleet/systemd.sh): `apt-get remove` stops the running unit and
# leaves nothing of the package but its conffiles, `purge` removes those and
# systemd's enablement state; then, as a new user would, `apt-get install
# ./pfwatch_*.deb && systemctl enable --now pfwatch`: the unit comes up
# disabled and stopped, and once enabled exports exact counts.
deb=$(cat /var/lib/pfw-check/deb 2>/dev/null)
# what of pfwatch is on the disk, but for this check's own files
leftovers() {
	find /etc /usr /var/lib /run/systemd -name '*pfwatch*' 2>/dev/null |
		grep -v -e '^/var/cache/pfw-deb' -e '^/var/lib/pfw-check' -e '^/usr/local/lib/pfw-check'
}
# wait for the exporter and give the exact count of a fresh workload file
exact_check() { # what
	for _ in $(seq 1 300); do
		curl -fs -o /dev/null "$url" && break
		sleep 0.2
	done
	_expect=$(pfwatch-workload --file="$data" --size=2M --pattern=random --exact --expect)
	pfwatch-workload --file="$data" --size=2M --pattern=random --exact >/dev/null 2>&1
	_k="pfwatch_file_faults_total{file=\"$data\",kind=\"major\"}"
	_got=
	for _ in $(seq 1 150); do
		_got=$(curl -fs "$url" | awk -v k="$_k" 'index($0, k " ") == 1 { print $2; exit }')
		[ -n "$_got" ] && [ "$_got" = "$_expect" ] && break
		sleep 0.2
	done
	rm -f "$data"
	[ -n "$_got" ] && [ "$_got" = "$_expect" ]
	check $? "$1: the file's exact major faults $_expect (got ${_got:-nothing})" \
		"$(journalctl -b -u $unit --no-pager -o cat 2>&1 | tail -n 10)"
}
# no pfwatch process, no unit loaded, nothing on the disk but KEEP (regex)
gone_check() { # what pid keep
	_state=$(systemctl is-active $unit 2>&1)
	_alive=
	[ "$(cat "/proc/$2/comm" 2>/dev/null)" = pfwatch ] && _alive=" (pid $2 still runs)"
	[ "$_state" != active ] && [ -z "$_alive" ]
	check $? "$1: $unit $_state, its process gone$_alive"
	_left=$(leftovers | grep -v -x -E -e "${3:-^$}")
	[ -z "$_left" ]
	check $? "$1: nothing of pfwatch left on the disk${3:+ but its conffiles (${keep:-none}), dpkg's record and the enablement kept for purge}" "$_left"
}
if [ -n "$deb" ]; then
	conffiles=$(dpkg-query -W -f='${Conffiles}\n' pfwatch | awk 'NF { print $1 }')
	keep=$(echo $conffiles | tr ' ' '|')
	echo "# the package's conffiles: ${conffiles:-none}"
	systemctl start $unit
	for _ in $(seq 1 300); do curl -fs -o /dev/null "$url" && break; sleep 0.2; done
	pid=$(systemctl show -p MainPID --value $unit)
	t0=$(date +%s)
	apt-get remove -y pfwatch >/run/pfw-apt.log 2>&1
	rc=$?
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' pfwatch 2>/dev/null)
	[ "$rc" -eq 0 ] && [ "$pid" -gt 0 ] && [ "$st" = "rc " ]
	check $? "apt-get remove pfwatch while the exporter runs (pid $pid): exit $rc in $(($(date +%s) - t0)) s, dpkg status '$st'" \
		"$(tail -n 10 /run/pfw-apt.log)"
	# kept until purge, by design: dpkg's record of a removed package (its
	# file list and the postrm that purge runs) and the enablement, so that
	# a reinstall comes back enabled (the .wants link `systemctl enable`
	# made, deb-systemd-helper's note of it)
	state_re='/var/lib/dpkg/info/pfwatch\.(list|postrm)|/etc/systemd/system/[^/]+\.wants/pfwatch\.service|/var/lib/systemd/deb-systemd-helper-enabled/.*pfwatch\.service.*'
	echo "# kept after remove: $(leftovers | grep -x -E -e "$state_re" | tr '\n' ' ')"
	gone_check "after apt-get remove" "$pid" "$state_re${keep:+|$keep}"

	apt-get purge -y pfwatch >/run/pfw-apt.log 2>&1
	rc=$?
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' pfwatch 2>/dev/null)
	[ "$rc" -eq 0 ] && { [ -z "$st" ] || [ "$st" = "un " ]; }
	check $? "apt-get purge pfwatch: exit $rc, dpkg status '${st:-none}'" "$(tail -n 10 /run/pfw-apt.log)"
	gone_check "after apt-get purge" "$pid" ""

	# a new user's first install
	apt-get install -y "/var/cache/pfw-deb/$deb" >/run/pfw-apt.log 2>&1
	rc=$?
	en=$(systemctl is-enabled $unit 2>&1)
	state=$(systemctl is-active $unit 2>&1)
	[ "$rc" -eq 0 ] && [ "$en" = disabled ] && [ "$state" = inactive ]
	check $? "apt-get install ./$deb on a running systemd: exit $rc, $unit $en and $state" \
		"$(tail -n 10 /run/pfw-apt.log)"
	systemctl enable --now $unit >/run/pfw-enable.log 2>&1
	rc=$?
	en=$(systemctl is-enabled $unit 2>&1)
	state=$(systemctl is-active $unit 2>&1)
	[ "$rc" -eq 0 ] && [ "$en" = enabled ] && [ "$state" = active ]
	check $? "systemctl enable --now pfwatch: $en and $state" "$(cat /run/pfw-enable.log)"
	pid=$(systemctl show -p MainPID --value $unit)
	exact_check "after apt-get install && systemctl enable --now pfwatch"
	apt-get purge -y pfwatch >/run/pfw-apt.log 2>&1
	rc=$?
	[ "$rc" -eq 0 ]
	check $? "apt-get purge pfwatch while it runs: exit $rc" "$(tail -n 10 /run/pfw-apt.log)"
	gone_check "after the second purge" "$pid" ""
	rm -f /run/pfw-apt.log /run/pfw-enable.log
fi

echo "1..$n"
say "done: $n tests, $fail failed"
sync
exit 0
