#!/bin/sh
# Faults read after their process has exited. On a loaded host pfwatch
# reads its buffer late, and a short-lived process may have faulted and
# exited by then: its /proc/PID/maps is gone. PFW_TEST_READ_LAG_MS makes
# every read come 700 ms late, so the workload (a few ms) is always gone
# first. What must still hold:
#
#   1-2  a kept file (a database's): its row has the file's exact name and
#        count, in the events (JSON) and in the summary (bpf kprobe-nobtf,
#        whose faults carry no inode: the name or [unknown])
#   3-4  a file unlinked at exit: exact where the backend takes names
#        in-band, as each mapping is made (perf's and bpf's MMAP2 records);
#        ftrace and bpf kprobe-nobtf name from /proc after the fact and may
#        say [unknown], but never another name, and the count is exact
#   5    call stacks of the exited process resolve (perf, bpf with MMAP2)
#   6    nothing left behind
. "${0%/*}/lib.sh"

pfw_setup noroot
require_backend
plan 6

PFW_TEST_READ_LAG_MS=700
export PFW_TEST_READ_LAG_MS
prog=${PFW_TESTBIN_VIEWS:-$top_builddir/tests/views}/stackprog
src=$top_srcdir/tests/views/stackprog.c

# names from in-band mmap records, or from /proc after the fact
case "$pfw_backend/$pfw_attach" in
ftrace/* | bpf/kprobe-nobtf) inband=0 ;;
*) inband=1 ;;
esac

# $1 = label, $2 = --keep or "", $3 = view args; sets st, row ("path<TAB>major"), want
run_late() {
	f=$pfw_tmp/$1.dat
	rm -f "$f"
	# shellcheck disable=SC2086
	pfw_trace $3 --format=json -o "$pfw_tmp/$1.json" -- "$PFWATCH_WORKLOAD" --exact $2 --size=8M \
		--accesses=300 --file="$f" --json >"$pfw_tmp/$1.wl" 2>"$pfw_tmp/$1.err"
	st=$?
	want=$(sed -n 's/.*"touched":\([0-9]*\),"expected".*/\1/p' "$pfw_tmp/$1.wl")
	# the rows holding the data file's faults: its own, or an unnamed one
	row=$("$JSONCHECK" get "$pfw_tmp/$1.json" file path major 2>/dev/null |
		awk -F'\t' -v p="$f" '($1 == p || $1 == "[unknown]") && $2 > 0')
	rm -f "$f"
}

diag_late() { # label
	diag "the file rows: $("$JSONCHECK" get "$pfw_tmp/$1.json" file path major 2>/dev/null |
		head -n 6 | tr '\n\t' '; ')" "$(diag_file "$pfw_tmp/$1.err" 3)"
}

# $1 = label, $2 = description, $3 = 1 when only the exact name will do
judge() {
	if [ "$3" = 1 ]; then
		is_eq "$2: the row is the file's exact name with every major" "$st:$row" "0:$f	${want:-?}"
		[ "$st:$row" = "0:$f	${want:-?}" ] || diag_late "$1"
		return
	fi
	case "$st:$row" in
	"0:$f	${want:-?}" | "0:[unknown]	${want:-?}")
		ok "$2 ($pfw_backend/$pfw_attach names from /proc): '${row%	*}', every major, no other name"
		;;
	*)
		not_ok "$2: its name or [unknown], with every major" \
			"got '$st:$row', want '0:$f	${want:-?}' or [unknown]"
		diag_late "$1"
		;;
	esac
}

for view in events summary; do
	if [ $view = events ]; then va=; else va=--view=summary; fi
	run_late "kept-$view" --keep "$va"
	# a fault's inode names a kept file by a handle (pfw_maps_path_by_inode());
	# kprobe-nobtf's faults carry no inode
	judge "kept-$view" "kept file, read late, $view" "$([ "$pfw_attach" = kprobe-nobtf ] || echo 1)"
done

for view in events summary; do
	if [ $view = events ]; then va=; else va=--view=summary; fi
	run_late "gone-$view" "" "$va"
	judge "gone-$view" "file unlinked at exit, read late, $view" $inband
done

# call stacks of a process gone before its faults are read
if [ $inband = 0 ]; then
	skip "call stacks, read late" "$pfw_backend/$pfw_attach learns text mappings from /proc after the fact"
elif [ ! -x "$prog" ]; then
	skip "call stacks, read late" "$prog is not built"
else
	l_alpha=$(grep -n 'FAULT-ALPHA \*/' "$src" | cut -d: -f1)
	l_beta=$(grep -n 'FAULT-BETA \*/' "$src" | cut -d: -f1)
	pfw_trace -g --view=callsites --format=csv -o "$pfw_tmp/cs.csv" -- "$prog" "$pfw_tmp/stk" 3 5 \
		>/dev/null 2>"$pfw_tmp/cs.err"
	st=$?
	if [ $st -eq 3 ] && grep -q -- '--call-graph' "$pfw_tmp/cs.err"; then
		skip "call stacks, read late" "$(head -n 1 "$pfw_tmp/cs.err")"
	else
		got=$(awk -F, '$6 == "touch_alpha" || $6 == "touch_beta" {print $6 ":" $1 ":" $8}' \
			"$pfw_tmp/cs.csv" | sort | tr '\n' ' ')
		is_eq "call stacks, read late: touch_alpha 3 at line $l_alpha, touch_beta 5 at line $l_beta" \
			"$st:$got" "0:touch_alpha:3:$l_alpha touch_beta:5:$l_beta "
		[ "$st:$got" = "0:touch_alpha:3:$l_alpha touch_beta:5:$l_beta " ] ||
			diag "$(head -n 5 "$pfw_tmp/cs.csv" | tr '\n' ';')" "$(diag_file "$pfw_tmp/cs.err" 3)"
	fi
fi

leak_check
done_testing
