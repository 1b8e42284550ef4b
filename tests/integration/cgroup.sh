#!/bin/sh
# --cgroup: a workload in a cgroup of its own, traced system-wide through
# the cgroup given the three ways users give it (the path /proc/PID/cgroup
# shows, the same without the slash, the cgroupfs directory). Exact majors
# on the data file, the thread row in that cgroup, nothing outside it. Then
# a host without cgroup v2: the same in a v1 perf_event hierarchy, which
# perf filters by and bpf refuses with the reason (VM guests only, see
# below).
. "${0%/*}/lib.sh"

pfw_setup
require_backend
plan 11

# mountinfo: the fields after the optional ones, past " - ", are fstype source options
v2=$(awk '{for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break }}' \
	/proc/self/mountinfo)
[ -n "$v2" ] && [ -w "$v2" ] || skip_all "no writable cgroup v2 mount"
name=pfw-it-$$
cg=$v2/$name
mkdir "$cg" 2>"$pfw_tmp/mkdir.err" || skip_all "cannot make a cgroup: $(cat "$pfw_tmp/mkdir.err")"
data=$pfw_tmp/data.dat
st_file=$pfw_tmp/status
args="--exact --size=8M --accesses=250 --file=$data --keep"

# empty a cgroup and remove it (a killed task leaves it only once reaped)
rm_cgroup() { # dir
	[ -n "$1" ] && [ -d "$1" ] || return 0
	for _p in $(cat "$1/cgroup.procs" 2>/dev/null); do kill -KILL "$_p" 2>/dev/null; done
	_i=0
	while ! rmdir "$1" 2>/dev/null && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}
cleanup_cg() {
	rm_cgroup "$cg"
	rm_cgroup "${v1cg:-}"
	if [ -n "${v1mnt:-}" ] && mountpoint -q "$v1mnt" 2>/dev/null; then
		umount "$v1mnt"
	fi
	pfw_cleanup
}
trap cleanup_cg EXIT

t0=$(date +%s)
pfw_trace -q -o /dev/null -- true 2>/dev/null
settle=$((2 + 2 * ($(date +%s) - t0)))

# the workload in cgroup directory @1; prints its JSON to @2
start_in() { # dir out
	rm -f "$st_file"
	# shellcheck disable=SC2016,SC2086
	sh -c 'echo $$ >"$1/cgroup.procs" && shift 2 && exec "$@"' sh "$1" - \
		"$PFWATCH_WORKLOAD" $args --json --wait-start --status-file="$st_file" >"$2" 2>/dev/null &
	wpid=$!
	wait_for_line "$st_file" ready 60
}

# one traced run: pfwatch --cgroup=@1 while the workload in @2 touches its pages
# (@4 "rm": the cgroup removed once the workload is gone, before pfwatch
# stops, as a container runtime removes an exited container's)
traced() { # form dir tag [rm]
	start_in "$2" "$pfw_tmp/$3.wl" || return 1
	# the summary: bpf's rows are read, and their cgroups named, at the end
	# shellcheck disable=SC2046
	pfw_trace --cgroup="$1" $([ "${4:-}" = rm ] && echo --view=summary) -f json \
		-o "$pfw_tmp/$3.json" -d $((settle + 30)) 2>"$pfw_tmp/$3.err" &
	tp=$!
	sleep "$settle"
	kill -USR1 "$wpid"
	wait "$wpid"
	[ "${4:-}" = rm ] && rm_cgroup "$2"
	sleep 1
	# pfwatch itself (pfw_run records it): busybox timeout passes no signal on
	kill -INT "$(tail -n 1 "$pfw_tmp/pids")" 2>/dev/null
	wait "$tp"
}

# The three forms name one cgroup (-v says which: no tracing needed, and a
# traced run costs seconds in the VM lanes); the path /proc shows is traced.
resolved() { # form: "DIR (cgroup v2, id N)"
	pfw_run -v --cgroup="$1" --list-backends 2>&1 >/dev/null |
		sed -n "s/^pfwatch: --cgroup '.*': //p"
}
want=$(resolved "/$name")
for form in "$name" "$cg"; do
	got=$(resolved "$form")
	case "$want" in
	"$cg (cgroup v2, id "*) is_eq "--cgroup=$form names the cgroup /$name names" "$got" "$want" ;;
	*) not_ok "--cgroup=$form names the cgroup /$name names" "/$name resolved to '$want'" ;;
	esac
done
traced "/$name" "$cg" v2
st=$?
touched=$(sed -n 's/.*"touched":\([0-9]*\),"expected".*/\1/p' "$pfw_tmp/v2.wl")
got=$("$JSONCHECK" get "$pfw_tmp/v2.json" file path major 2>/dev/null |
	awk -v p="$data" '$1 == p {print $2}')
if [ $st = 0 ] && [ -n "$touched" ] && [ "$got" = "$touched" ]; then
	ok "--cgroup=/$name: the data file's $touched majors, exactly"
else
	not_ok "--cgroup=/$name: the data file's majors" "exit $st, $got of $touched" \
		"$(diag_file "$pfw_tmp/v2.err")"
fi
# the thread's cgroup, as /proc/PID/cgroup of the process named it
is_eq "the thread row carries the cgroup" \
	"$("$JSONCHECK" get "$pfw_tmp/v2.json" thread major cgroup |
		awk -v n="${touched:-x}" '$1 == n {print $2}')" "/$name"
# everything counted is in the cgroup: the workload's threads only
is_num_eq "no fault of a process outside the cgroup" \
	"$("$JSONCHECK" get "$pfw_tmp/v2.json" thread comm | grep -v -c '^pfwatch-workloa')" 0
# a cgroup removed before the run ends (an exited container's): the rows,
# read at the end, still name it
# (bpf: perf and ftrace name a thread's cgroup from /proc when it first
# faults; a traced run costs seconds in the VM lanes)
cg2=$v2/$name-gone
if [ "$pfw_backend" != bpf ]; then
	skip "a cgroup removed before the run ends" "$pfw_backend names a thread's cgroup when it first faults"
elif mkdir "$cg2" 2>/dev/null; then
	traced "/$name-gone" "$cg2" gone rm
	t2=$(sed -n 's/.*"touched":\([0-9]*\),"expected".*/\1/p' "$pfw_tmp/gone.wl")
	is_eq "a cgroup removed before the run ends: the thread row still names it" \
		"$([ -d "$cg2" ] && echo "still there")$("$JSONCHECK" get "$pfw_tmp/gone.json" thread major cgroup |
			awk -v n="${t2:-x}" '$1 == n {print $2}')" "/$name-gone"
	rm_cgroup "$cg2"
else
	skip "a cgroup removed before the run ends" "cannot make a second cgroup"
fi
# a cgroup that does not exist: exit 1, one line
pfw_trace --cgroup=/$name-none -d 1 >/dev/null 2>"$pfw_tmp/none.err"
st=$?
if [ $st = 1 ] && grep -q "no such cgroup under $v2" "$pfw_tmp/none.err"; then
	ok "--cgroup of no cgroup: exit 1 naming where it looked"
else
	not_ok "--cgroup of no cgroup: exit 1 naming where it looked" "exit $st" \
		"$(diag_file "$pfw_tmp/none.err")"
fi

# --- a v1 perf_event hierarchy ---
# Once mounted, the hierarchy outlives its umount while tasks that lived
# under it hold its root (cgroup_kill_sb() only kills the reference): the
# controller stays off cgroup v2, so perf could filter by no v2 cgroup
# afterwards. Only in a guest, which is thrown away.
if [ "${PFW_LEAK_CHECK:-0}" != 1 ]; then
	for _i in 1 2 3; do
		skip "v1 perf_event hierarchy" "mounting one takes the controller from cgroup v2 for good: VM lanes only"
	done
else
	v1mnt=$pfw_tmp/pe
	mkdir -p "$v1mnt"
	if ! mount -t cgroup -o perf_event pfw-pe "$v1mnt" 2>"$pfw_tmp/mount.err"; then
		v1mnt=
		for _i in 1 2 3; do
			skip "v1 perf_event hierarchy" "cannot mount one: $(cat "$pfw_tmp/mount.err")"
		done
	else
		# a name cgroup v2 does not have: --cgroup looks in v2 first
		v1cg=$v1mnt/$name-v1
		mkdir "$v1cg"
		traced "/$name-v1" "$v1cg" v1
		st=$?
		touched=$(sed -n 's/.*"touched":\([0-9]*\),"expected".*/\1/p' "$pfw_tmp/v1.wl")
		got=$("$JSONCHECK" get "$pfw_tmp/v1.json" file path major 2>/dev/null |
			awk -v p="$data" '$1 == p {print $2}')
		case "$pfw_backend" in
		bpf)
			if [ $st = 3 ] && grep -q 'cgroup v1 perf_event' "$pfw_tmp/v1.err"; then
				ok "v1 perf_event cgroup: bpf refuses, exit 3, naming cgroup v1"
			else
				not_ok "v1 perf_event cgroup: bpf refuses with the reason" "exit $st" \
					"$(diag_file "$pfw_tmp/v1.err")"
			fi
			skip "v1 perf_event cgroup: exact" "bpf filters by cgroup v2 id only"
			;;
		*)
			check $st "v1 perf_event cgroup: exit 0" "exit $st" "$(diag_file "$pfw_tmp/v1.err")"
			is_num_eq "v1 perf_event cgroup: the data file's majors, exactly" "$got" "${touched:-?}"
			;;
		esac
		rm_cgroup "$v1cg"
		v1cg=
		umount "$v1mnt"
		check $? "v1 perf_event hierarchy unmounted"
		v1mnt=
	fi
fi
leak_check
done_testing
