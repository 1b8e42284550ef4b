#!/bin/sh
# pfwatch -p PID on a running workload: the workload sets up, waits for
# SIGUSR1, touches its pages, waits again, exits. The traced interval runs
# from the attach to the exit, so the ground truth is the kernel's majflt of
# the process before the touch phase (/proc/PID/stat) and at its very end
# (wait4 in reap: the exit path may fault too, a sanitizer's leak check on
# a library page nothing had read yet). pfwatch must count exactly that, and
# stop by itself when the process exits.
. "${0%/*}/lib.sh"

pfw_setup
require_backend
plan 10

data=$pfw_tmp/data.dat
st_file=$pfw_tmp/status
args="--exact --size=8M --pattern=mixed --threads=3 --seed=11"
# shellcheck disable=SC2086
expect=$("$PFWATCH_WORKLOAD" $args --expect)

# shellcheck disable=SC2086
"$REAP" "$pfw_tmp/reap" "$PFWATCH_WORKLOAD" $args --file="$data" --keep --wait-start --wait-end \
	--status-file="$st_file" --json >"$pfw_tmp/wl.json" 2>"$pfw_tmp/wl.err" &
rpid=$!
if ! wait_for_line "$st_file" ready 60; then
	kill "$rpid" 2>/dev/null
	bail "the workload did not get ready: $(cat "$pfw_tmp/wl.err")"
fi
wpid=$(reap_num "$pfw_tmp/reap" pid)

# pfwatch prints nothing when it is armed: wait twice what a whole traced
# run of true takes here (loading BPF under qemu TCG takes seconds), then
# make sure it is still there (it must not have given up on the pid)
t0=$(date +%s)
pfw_trace -q -o /dev/null -- true 2>/dev/null
settle=$((2 + 2 * ($(date +%s) - t0)))
pfw_trace --format=json -o "$pfw_tmp/out.json" -p "$wpid" 2>"$pfw_tmp/err" &
tpid=$!
sleep "$settle"
if kill -0 "$tpid" 2>/dev/null; then
	ok "pfwatch -p $wpid is running"
else
	not_ok "pfwatch -p $wpid is running" "$(diag_file "$pfw_tmp/err")"
fi

before=$(proc_majflt "$wpid")
kill -USR1 "$wpid"
if wait_for_line "$st_file" done 120; then
	ok "the workload touched its pages"
else
	not_ok "the workload touched its pages" "$(diag_file "$pfw_tmp/wl.err")"
fi
after=$(proc_majflt "$wpid")
kill -USR1 "$wpid"
wait "$rpid"
wst=$?
check $wst "the workload exits 0" "exit status $wst" "$(diag_file "$pfw_tmp/wl.err")"
final=$(reap_num "$pfw_tmp/reap" majflt)

# pfwatch ends when all its targets have exited
i=0
while kill -0 "$tpid" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$tpid" 2>/dev/null; then
	not_ok "pfwatch stops within 10 s of its target's exit"
	kill -INT "$tpid" 2>/dev/null
else
	ok "pfwatch stops within 10 s of its target's exit"
fi
wait "$tpid"
st=$?
check $st "pfwatch exits 0" "exit status $st" "$(diag_file "$pfw_tmp/err")"

json_valid "output is valid JSON Lines" "$pfw_tmp/out.json"

delta=$((${final:-0} - before))
run_major=$(json_last "$pfw_tmp/out.json" run major 2>/dev/null)
diag "majflt before $before, after the touch phase $after, at the exit ${final:-?} (delta $delta), expected $expect, pfwatch $run_major"
is_num_eq "run major = the kernel's majflt delta from the attach to the exit" "$run_major" "$delta"
is_expected "run major = pfwatch-workload --expect" "$run_major" "$delta" "$expect" \
	"the kernel counted $delta, not $expect, for the workload itself"
file_record_is "file record major, pages = expected" "$pfw_tmp/out.json" "$data" "$expect"

leak_check
done_testing
