#!/bin/sh
# Lost events are never silent (issue 7), on every backend available here:
# a minor-fault storm with --faults=all either is kept up with (no loss, every
# fault of the command counted) or what was dropped is counted: `lost` in the
# run record, the same number on stderr, and faults + lost cover the storm.
# A storm while pfwatch is stopped (SIGSTOP) fills the kernel buffers: faults
# + lost must still cover it, and where the buffer is known to be too small
# to hold it (perf's rings; bpf with PFW_BPF_RINGBUF_KB=64) lost must be > 0.
# pfwatch's peak RSS stays bounded.
. "${top_srcdir:-.}/tests/hardening/lib-hardening.sh"
pfw_setup
backends=$(available_backends)
[ -n "$backends" ] || skip_all "no backend available here"
plan $(($(echo $backends | wc -w) * 2 + 1))
max_kb=${PFW_MAX_RSS_KB:-131072}

# storm B SECONDS STOP [VIEW]: run the storm under pfwatch, optionally SIGSTOP
# pfwatch for STOP seconds in the middle; sets st, hwm (kB), storm, faults, lost
storm() {
	pfw_run -b "$1" -F all --view="${4:-summary}" -f json -o "$pfw_tmp/l.json" -- "$PROBE" storm "$2" \
		>"$pfw_tmp/l.out" 2>"$pfw_tmp/l.err" &
	bg=$!
	sleep 0.5
	me=$(tail -n 1 "$pfw_tmp/pids")
	if [ "$3" != 0 ]; then
		kill -STOP "$me"
		sleep "$3"
		kill -CONT "$me"
	fi
	hwm=0
	while kill -0 "$me" 2>/dev/null; do
		h=$(awk '/^VmHWM/ {print $2}' "/proc/$me/status" 2>/dev/null)
		[ -n "$h" ] && hwm=$h
		sleep 0.2
	done
	wait $bg
	st=$?
	storm=$(sed -n 's/^minflt //p' "$pfw_tmp/l.out")
	faults=$(json_last "$pfw_tmp/l.json" run faults)
	lost=$(json_last "$pfw_tmp/l.json" run lost)
	rm -f "$pfw_tmp/l.json"
}

judge() { # desc must_lose
	why=
	[ "$st" = 0 ] || why="$why exit $st;"
	case "$storm:$faults:$lost" in *[!0-9:]* | :* | *::* | *:) why="$why missing numbers (storm '$storm' faults '$faults' lost '$lost');" ;; esac
	if [ -z "$why" ]; then
		[ $((faults + lost)) -ge "$storm" ] || why="$why faults $faults + lost $lost < the storm's $storm;"
		if [ "$lost" -gt 0 ]; then
			grep -q "^pfwatch: $lost events lost" "$pfw_tmp/l.err" || why="$why lost $lost not said on stderr;"
		elif [ "$2" = 1 ]; then
			why="$why pfwatch was stopped during the storm but reports no loss;"
		fi
	fi
	[ "$hwm" -gt 0 ] && [ "$hwm" -le "$max_kb" ] || why="$why peak RSS ${hwm} kB (bound $max_kb kB);"
	if [ -z "$why" ]; then
		ok "$1: storm of $storm faults: counted $faults, lost $lost, peak RSS $hwm kB"
	else
		not_ok "$1" "$why"
		diag_file "$pfw_tmp/l.err" 5
	fi
}

for b in $backends; do
	storm "$b" 3 0
	judge "$b: --faults=all storm: kept up or counted what was lost, bounded memory" 0
	case $b in
	perf)
		storm "$b" 4 1.5
		judge "$b: storm while pfwatch is stopped: lost > 0, in the run record and on stderr" 1
		;;
	bpf)
		PFW_BPF_RINGBUF_KB=64
		export PFW_BPF_RINGBUF_KB
		# events: with summary the counts are kept in the kernel, no ring
		storm "$b" 4 1.5 events
		unset PFW_BPF_RINGBUF_KB
		judge "$b: storm while pfwatch is stopped, 64 KiB ring: lost > 0, in the run record and on stderr" 1
		;;
	*)
		storm "$b" 4 1.5
		judge "$b: storm while pfwatch is stopped: faults + lost cover the storm" 0
		;;
	esac
done
leak_check
done_testing
