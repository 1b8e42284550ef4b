#!/bin/sh
# The in-kernel summary's thread rows while the threads are still alive:
# where BPF tracing programs load, a thread's row lives in its task storage
# and only a task iterator reads it (the hash by tid holds the rows of
# threads that exited). pfwatch -p on a workload whose three threads have
# touched their slices and stay parked: stopped while they live, every
# thread's row must hold exactly the pages it touched, in either home of the
# rows (PFW_BPF_THREAD_HASH=1 forces the hash), and -v names the home.
. "${top_srcdir:-.}/tests/bpf/lib-bpf.sh"

pfw_setup
require_backend
plan 12
diag "bpf attach mode: $pfw_attach"
if [ "$pfw_attach" = kprobe-nobtf ]; then
	for t in 1 2 3 4 5 6 7 8 9 10 11 12; do
		skip "live thread rows $t" "kprobe-nobtf streams: no in-kernel rows"
	done
	done_testing
	exit 0
fi

threads=3
args="--exact --size=6M --threads=$threads --seed=7"
data=$pfw_tmp/data.dat

# how long a traced run of true takes here (loading BPF under qemu TCG
# takes seconds): twice that, and pfwatch is armed
t0=$(date +%s)
pfw_trace -q -o /dev/null -- true 2>/dev/null
settle=$((2 + 2 * ($(date +%s) - t0)))

live_run() { # label (PFW_BPF_THREAD_HASH as the caller exports it)
	st=$pfw_tmp/$1.status
	rm -f "$data" "$st"
	# shellcheck disable=SC2086
	"$PFWATCH_WORKLOAD" $args --file="$data" --keep --wait-start --wait-end \
		--status-file="$st" --json >"$pfw_tmp/wl.json" 2>"$pfw_tmp/wl.err" &
	wpid=$!
	if ! wait_for_line "$st" ready 60; then
		kill "$wpid" 2>/dev/null
		bail "$1: the workload did not get ready: $(cat "$pfw_tmp/wl.err")"
	fi
	pfw_trace -v --view=summary -F all -f json -o "$pfw_tmp/$1.json" -p "$wpid" \
		2>"$pfw_tmp/$1.err" &
	tpid=$!
	sleep "$settle"
	kill -USR1 "$wpid"
	wait_for_line "$st" done 120
	check $? "$1: the workload touched its pages, its threads parked" \
		"$(diag_file "$pfw_tmp/wl.err")"
	# the threads are alive: pfwatch reads their rows now (pfwatch's own
	# pid: a background job of sh ignores SIGINT, timeout(1) with it)
	kill -INT "$(tail -n 1 "$pfw_tmp/pids")"
	wait "$tpid"
	rc=$?
	check $rc "$1: pfwatch -p stopped while the threads live exits 0" "exit status $rc" \
		"$(diag_file "$pfw_tmp/$1.err")"
	kill -USR1 "$wpid"
	wait "$wpid"
	rc=$?
	check $rc "$1: the workload exits 0" "exit status $rc" "$(diag_file "$pfw_tmp/wl.err")"
	"$JSONCHECK" get "$pfw_tmp/$1.json" thread tid major >"$pfw_tmp/$1.threads"
	bad=$(thread_rows_bad "$pfw_tmp/$1.threads")
	n=$(wl_tids | wc -l)
	[ -z "$bad" ] && [ "$n" = "$threads" ]
	check $? "$1: the $n live threads' rows hold the pages each touched" "$bad" \
		"$(diag_file "$pfw_tmp/$1.threads")"
}

PFW_BPF_THREAD_HASH=
export PFW_BPF_THREAD_HASH
live_run default
home=$(sed -n 's/.*bpf: thread rows in \(.*\)$/\1/p' "$pfw_tmp/default.err")
diag "thread rows: ${home:-not named}"
case "$home" in
"task storage, read by a task iterator") ok "-v: the rows live in task storage" ;;
"a hash by tid ("*")") ok "-v: the rows live in a hash by tid, and says why: $home" ;;
*) not_ok "-v names where the thread rows live" "$(diag_file "$pfw_tmp/default.err")" ;;
esac
is_eq "default: run major = the pages touched" \
	"$(json_last "$pfw_tmp/default.json" run major)" "$(wl_num expected)"

PFW_BPF_THREAD_HASH=1
live_run hash
grep -q 'bpf: thread rows in a hash by tid (PFW_BPF_THREAD_HASH)$' "$pfw_tmp/hash.err"
check $? "PFW_BPF_THREAD_HASH=1: -v says the rows live in the hash" \
	"$(grep 'thread rows' "$pfw_tmp/hash.err")"
PFW_BPF_THREAD_HASH=

leak_check
done_testing
