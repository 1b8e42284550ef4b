#!/bin/sh
# pfwatch --format=json -- pfwatch-workload --exact: the run record's major
# equals the workload's --expect and the kernel's majflt of the run (reap,
# the workload's parent, reads it up to the exit: the workload's own
# getrusage comes before its exit path, which may fault too); the data
# file's record
# has major = pages = expected; every fault on the file has a page-aligned
# offset inside the file, and addr - offset is the same for all of them (one
# mapping at offset 0).
. "${0%/*}/lib.sh"

pfw_setup
require_backend

configs="seq:1 random:2 stride:3 mixed:4"
size=8M
size_bytes=8388608
plan 41

for c in $configs; do
	pat=${c%%:*}
	thr=${c#*:}
	name="$pat, $thr thread(s)"
	data=$pfw_tmp/data-$pat.dat
	args="--exact --size=$size --pattern=$pat --threads=$thr --seed=42"
	# create the file outside the traced run, so the traced run only reads
	"$PFWATCH_WORKLOAD" --file="$data" --size=$size --keep --no-evict --accesses=1 2>/dev/null ||
		bail "cannot create $data"
	# shellcheck disable=SC2086
	expect=$("$PFWATCH_WORKLOAD" $args --expect)
	# shellcheck disable=SC2086
	pfw_trace --format=json -o "$pfw_tmp/out.json" -- "$REAP" "$pfw_tmp/reap" \
		"$PFWATCH_WORKLOAD" $args --file="$data" --json >"$pfw_tmp/wl.json" 2>"$pfw_tmp/err"
	st=$?
	check $st "$name: pfwatch exits 0" "exit status $st" "$(cat "$pfw_tmp/err")"

	if ! "$JSONCHECK" validate "$pfw_tmp/out.json" >/dev/null 2>"$pfw_tmp/jerr"; then
		not_ok "$name: output is valid JSON Lines" "$(cat "$pfw_tmp/jerr")"
		for i in 1 2 3 4 5 6 7 8; do
			skip "$name: check $i" "no valid JSON"
		done
		continue
	fi
	ok "$name: output is valid JSON Lines"

	last=$("$JSONCHECK" get "$pfw_tmp/out.json" '*' record | tail -n 1)
	is_eq "$name: the run record is the last line" "$last" run

	majflt=$(reap_total "$pfw_tmp/reap")
	touch_majflt=$(sed -n 's/.*"touch_majflt":\([0-9]*\).*/\1/p' "$pfw_tmp/wl.json")
	run_major=$(json_last "$pfw_tmp/out.json" run major)
	lost=$(json_last "$pfw_tmp/out.json" run lost)
	is_num_eq "$name: run major = majflt of the workload and reap" "$run_major" "$majflt"
	diag "expected $expect, majflt $majflt (touch phase $touch_majflt), pfwatch $run_major, lost $lost"
	if [ "$majflt" = "$expect" ]; then
		is_num_eq "$name: run major = pfwatch-workload --expect" "$run_major" "$expect"
	else
		# the kernel itself counted faults outside the data file (a library
		# page evicted by someone else's cache drop): pfwatch cannot be judged
		skip "$name: run major = pfwatch-workload --expect" \
			"the workload's own majflt $majflt differs from --expect $expect"
	fi
	is_eq "$name: lost = 0" "$lost" 0

	hp=$(hexof "$data")
	frec=$("$JSONCHECK" get "$pfw_tmp/out.json" file x:path major pages | grep "^$hp	")
	is_eq "$name: file record major, pages = expected" "$(echo "$frec" | cut -f2,3)" \
		"$expect	$expect"

	nfault=$("$JSONCHECK" get "$pfw_tmp/out.json" fault kind | grep -c '^major$')
	is_num_eq "$name: one fault record per major fault" "$nfault" "$run_major"

	if res=$("$JSONCHECK" faults "$pfw_tmp/out.json" "$hp" $size_bytes 2>"$pfw_tmp/jerr"); then
		ok "$name: offsets page aligned, inside the file, addr - offset constant"
	else
		not_ok "$name: offsets page aligned, inside the file, addr - offset constant" \
			"$(cat "$pfw_tmp/jerr")"
	fi
	is_eq "$name: faults on the file, distinct pages" \
		"$(echo "$res" | sed 's/ base=.*//')" "faults=$expect distinct=$expect"
	rm -f "$data"
done

leak_check
done_testing
