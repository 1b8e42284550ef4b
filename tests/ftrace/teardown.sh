#!/bin/sh
# Nothing of the ftrace backend outlives a run: after a normal exit, after
# SIGINT, after SIGKILL (the next run removes the stale instance and says
# so with -v), and with two runs at once. The top-level tracefs files must
# read the same before and after.
. "${0%/*}/../integration/lib.sh"

PFW_BACKEND=ftrace
pfw_backend=ftrace
pfw_setup
require_backend
T=/sys/kernel/tracing
plan 11

snapshot() {
	for f in current_tracer trace_clock set_event set_event_pid set_ftrace_pid tracing_on \
		options/event-fork options/function-fork options/overwrite kprobe_events; do
		[ -r "$T/$f" ] && printf '%s: %s\n' "$f" "$(cat "$T/$f" 2>/dev/null | tr '\n' ' ')"
	done
}
ours() { # pid: instances of that pfwatch
	ls "$T/instances" 2>/dev/null | grep "^pfwatch-$1-" || true
}

before=$(snapshot)
data=$pfw_tmp/data.dat
"$PFWATCH_WORKLOAD" --file="$data" --size=4M --keep --no-evict --accesses=1 2>/dev/null || bail "cannot create $data"

# normal exit
pfw_trace --format=json -o "$pfw_tmp/out.json" -- "$PFWATCH_WORKLOAD" --exact --size=4M --file="$data" --keep >/dev/null 2>&1
check $? "normal run exits 0"

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
[ -n "$stale" ] && ok "SIGKILL leaves instance $stale" || not_ok "SIGKILL leaves an instance" "none for $pid"
pfw_trace -v -d 0.3 -p 1 >/dev/null 2>"$pfw_tmp/err2"
grep -q "removed stale tracefs instance $stale" "$pfw_tmp/err2" &&
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
is_eq "two at once: each sees exactly its own 1024 majors" "$ma $mb" "1024 1024"

is_eq "top-level tracefs files unchanged" "$(snapshot)" "$before"
leak_check
done_testing
