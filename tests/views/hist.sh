#!/bin/sh
# --view=hist -v on this kernel, per backend that measures latency: the
# per-file histogram of stackprog's data file holds exactly its A+B major
# faults, the per-kind one every major of the process (its getrusage). A backend that counts in the kernel
# (bpf) must stream under -v: its in-kernel rows hold one histogram per kind.
#
# PFW_BACKEND (and PFW_BPF_ATTACH / PFW_FTRACE_ATTACH), as tests/vm/suite.sh
# sets them: test that one; unset: every backend in its default mode.
. "${top_srcdir:-.}/tests/integration/lib.sh"

pfw_setup
prog=${PFW_TESTBIN_VIEWS:-$top_builddir/tests/views}/stackprog
[ -x "$prog" ] || bail "$prog is not built (make check builds it)"
A=3
B=5

backends=${PFW_BACKEND:-perf bpf ftrace}
nb=0
for b in $backends; do nb=$((nb + 1)); done
plan $((3 * nb))

# the sum of the "count" members of one JSON line
counts() {
	printf '%s\n' "$1" | grep -o '"count":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }'
}

for b in $backends; do
	pfw_backend=$b
	att=$(pfw_attach_opts)
	# shellcheck disable=SC2086
	_line=$("$PFWATCH" --list-backends --format=json $att 2>/dev/null | grep "\"backend\":\"$b\"")
	case "$_line" in
	*'"available":true'*) ;;
	*)
		why="backend $b${att:+ ($att)} unavailable: $(json_str detail "$_line")"
		for i in 1 2 3; do skip "$b: hist test $i" "$why"; done
		continue
		;;
	esac
	d=$pfw_tmp/$b
	mkdir -p "$d"
	# shellcheck disable=SC2086
	pfw_run --backend="$b" $att --view=hist -v --format=json -o "$d/hist.json" -- \
		"$REAP" "$d/reap" "$prog" "$d/data" $A $B >"$d/truth" 2>"$d/err"
	st=$?
	truth=$(sed -n 's/.*"majflt":\([0-9]*\).*/\1/p' "$d/truth")
	is_num_eq "$b: stackprog ran under pfwatch --view=hist -v and took A+B majors" "$st$truth" "0$((A + B))"
	[ $st -eq 0 ] || diag_file "$d/err" 5
	run=$(grep '"record":"run"' "$d/hist.json")
	case "$run" in
	*'no latency'*)
		why="$b${att:+ ($att)} measures no latency here: no histogram to check"
		skip "$b: the per-kind major histogram holds A+B faults" "$why"
		skip "$b: the per-file major histogram of the data file holds A+B faults" "$why"
		continue
		;;
	esac
	# every major of the process, also one on a library page outside the
	# touch phase (CI once saw 9 for A+B = 8) or at its exit, and reap's:
	# their majflt (tests/integration/reap.c)
	total=$(reap_total "$d/reap")
	all=$(grep '"record":"hist","kind":"major","unit"' "$d/hist.json" | head -n 1)
	is_num_eq "$b: the per-kind major histogram holds the run's majflt (${total:-?}; A+B = $((A + B)))" \
		"$(counts "$all")" "${total:-none}"
	file=$(grep '"record":"hist","kind":"major","path":"'"$d/data"'"' "$d/hist.json" | head -n 1)
	if [ -z "$file" ]; then
		not_ok "$b: the per-file major histogram of the data file holds A+B faults" \
			"no hist record for $d/data; stderr:" "$(head -n 5 "$d/err")"
	else
		is_num_eq "$b: the per-file major histogram of the data file holds A+B faults" \
			"$(counts "$file")" $((A + B))
	fi
done

done_testing
