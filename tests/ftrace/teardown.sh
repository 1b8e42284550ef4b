#!/bin/sh
# Nothing of the ftrace backend outlives a run: after a normal exit, after
# SIGINT, after SIGKILL (the next run removes the stale instance and says
# so with -v), and with two runs at once. The top-level tracefs files must
# read the same before and after. Where function_graph runs only in the top
# level (6.1: no .allow_instances) pfwatch borrows it: a run must not take
# an idle top level for busy (libtracefs reads an empty set_event as an
# error, which once made every 6.1 graph run exit 3), must leave a busy one
# exactly as it was (and still count, through kprobes in an instance), and a
# SIGKILLed run's top level is put back by the next run.
. "${0%/*}/../integration/lib.sh"

PFW_BACKEND=ftrace
pfw_backend=ftrace
pfw_setup
require_backend
T=/sys/kernel/tracing
plan 14

# buffer_size_kb is left out: the first tracer use expands a boot-time
# buffer for good ("7 (expanded: 1408)" -> "1410" on 6.1), and the top level's
# size is never written.
snapshot() {
	for f in current_tracer trace_clock set_event set_event_pid set_ftrace_pid tracing_on \
		options/event-fork options/function-fork options/overwrite kprobe_events \
		set_ftrace_filter set_graph_function max_graph_depth options/funcgraph-retval \
		set_event_notrace_pid set_ftrace_notrace_pid; do
		[ -r "$T/$f" ] && printf '%s: %s\n' "$f" "$(cat "$T/$f" 2>/dev/null | tr '\n' ' ')"
	done
}
ours() { # pid: instances of that pfwatch, or its saved top level
	ls "$T/instances" 2>/dev/null | grep "^pfwatch-$1-" || true
	[ -e "/run/pfwatch/toplevel-$1" ] && echo "toplevel-$1"
	true
}

before=$(snapshot)
data=$pfw_tmp/data.dat
"$PFWATCH_WORKLOAD" --file="$data" --size=4M --keep --no-evict --accesses=1 2>/dev/null || bail "cannot create $data"

# normal exit; -v says whether this kernel makes us borrow the top level
pfw_trace -v --format=json -o "$pfw_tmp/out.json" -- "$PFWATCH_WORKLOAD" --exact --size=4M --file="$data" --keep >/dev/null 2>"$pfw_tmp/err0"
check $? "normal run exits 0" "$(cat "$pfw_tmp/err0")"
toplevel=0
grep -q "borrowing it" "$pfw_tmp/err0" && toplevel=1
diag "top level borrowed: $toplevel ($(cat $T/current_tracer 2>/dev/null) now)"
if grep -q "top level is in use" "$pfw_tmp/err0"; then
	not_ok "an idle top level is not taken for busy" "before: $before" "$(cat "$pfw_tmp/err0")"
else
	ok "an idle top level is not taken for busy"
fi

# SIGINT: the run record is still written, the instance removed
pfw_trace --format=json -o "$pfw_tmp/int.json" -p 1 >/dev/null 2>"$pfw_tmp/err" &
bg=$!
sleep 1.5
pid=$(cat "$pfw_tmp/pids" | tail -n 1)
[ -n "$(ours "$pid")" ] && ok "a running pfwatch owns an instance" || not_ok "a running pfwatch owns an instance" "pid $pid: $(ls $T/instances)"
kill -INT "$pid"
wait $bg
last=$("$JSONCHECK" get "$pfw_tmp/int.json" '*' record | tail -n 1)
is_eq "SIGINT: run record written" "$last" run
is_eq "SIGINT: no instance left" "$(ours "$pid")" ""

# SIGKILL leaves the instance; the next run removes it and says so
pfw_trace -p 1 >/dev/null 2>&1 &
bg=$!
sleep 1.5
pid=$(cat "$pfw_tmp/pids" | tail -n 1)
kill -KILL "$pid"
wait $bg 2>/dev/null
stale=$(ours "$pid")
[ -n "$stale" ] && ok "SIGKILL leaves $stale" || not_ok "SIGKILL leaves an instance" "none for $pid"
pfw_trace -v -d 0.3 -p 1 >/dev/null 2>"$pfw_tmp/err2"
case "$stale" in
toplevel-*) said="restored the tracefs top level left armed by pfwatch $pid" ;;
*) said="removed stale tracefs instance $stale" ;;
esac
grep -q "$said" "$pfw_tmp/err2" &&
	ok "the next run removes it and says so" ||
	not_ok "the next run removes it and says so" "$(cat "$pfw_tmp/err2")"
is_eq "stale instance gone" "$(ours "$pid")" ""

# two at once: both exact, neither removes the other's instance
pfw_trace --format=json -o "$pfw_tmp/a.json" -- "$PFWATCH_WORKLOAD" --exact --size=4M --file="$data" --keep --delay=200 >"$pfw_tmp/wa" 2>&1 &
a=$!
pfw_trace --format=json -o "$pfw_tmp/b.json" -- "$PFWATCH_WORKLOAD" --exact --size=4M --file="$pfw_tmp/data2.dat" --delay=200 >"$pfw_tmp/wb" 2>&1 &
b=$!
wait $a
sa=$?
wait $b
sb=$?
is_eq "two at once: both exit 0" "$sa $sb" "0 0"
ma=$(json_last "$pfw_tmp/a.json" run major)
mb=$(json_last "$pfw_tmp/b.json" run major)
# 1024 pages each; a workload's majflt also holds a text page read back in
wmaj() {
	_m=$(cat "$@" 2>/dev/null | sed -n 's/.*touched 1024 pages, majflt=\([0-9]*\).*/\1/p')
	echo "${_m:-no-workload-line}"
}
is_eq "two at once: each sees exactly its own majors (1024 pages each, its majflt)" "$ma $mb" \
	"$(wmaj "$pfw_tmp/wa") $(wmaj "$pfw_tmp/wb")"

# a busy top level: left exactly as it is, the run still counts
if [ "$toplevel" = 1 ] && [ -w "$T/set_event" ]; then
	echo sched:sched_process_exit >>"$T/set_event"
	busy=$(snapshot)
	pfw_trace -v --format=json -o "$pfw_tmp/busy.json" -- "$PFWATCH_WORKLOAD" --exact --size=4M --file="$data" --keep >"$pfw_tmp/wbusy" 2>"$pfw_tmp/err3"
	st=$?
	mbusy=$(json_last "$pfw_tmp/busy.json" run major)
	is_eq "busy top level: exit 0, exactly the workload's majors (1024 pages, its majflt) through kprobes" \
		"$st $mbusy" "0 $(wmaj "$pfw_tmp/wbusy" "$pfw_tmp/err3")"
	is_eq "busy top level: left exactly as it was" "$(snapshot)" "$busy"
	echo '!sched:sched_process_exit' >>"$T/set_event"
else
	skip "busy top level: exit 0, exactly 1024 majors through kprobes" "function_graph runs in an instance here"
	skip "busy top level: left exactly as it was" "function_graph runs in an instance here"
fi

is_eq "top-level tracefs files unchanged" "$(snapshot)" "$before"
leak_check
done_testing
