#!/bin/sh
# pfwatch --validate's text table (SPEC.md "--validate"): a row for every
# BPF attach mode the command line accepts, and every row's columns under
# their header whatever the longest backend or mode name (kprobe-nobtf is
# longer than the others, and on a kernel without kprobes it is a skip row),
# in the run table and in the per-file table. Runs every available backend
# once on the bundled workload (a few seconds); root.
. "${0%/*}/lib.sh"

pfw_setup
plan 5

(TMPDIR=$pfw_tmp && export TMPDIR && pfw_run --validate) >"$pfw_tmp/out" 2>"$pfw_tmp/err"
st=$?
case $st in
0 | 3 | 4) ok "--validate ran (exit $st)" ;;
*)
	not_ok "--validate ran (exit $st)"
	diag_file "$pfw_tmp/err" 5
	;;
esac

# the run table: the header line and the rows up to the first blank line
sed -n '/^BACKEND /,/^$/p' "$pfw_tmp/out" | sed '/^$/d' >"$pfw_tmp/table"
rows=$(($(wc -l <"$pfw_tmp/table") - 1))

# the modes, as the parser's own error lists them: "(choose auto, a, b or c)"
modes=$("$PFWATCH" --bpf-attach=@ 2>&1 | sed -n 's/.*(choose auto, \(.*\))$/\1/p' | sed 's/,//g; s/ or / /')
missing=
if grep -q '^bpf  *- ' "$pfw_tmp/table"; then
	skip "a row per --bpf-attach mode" "the bpf backend is not built"
else
	for m in $modes; do
		grep -q "^bpf  *$m " "$pfw_tmp/table" || missing="$missing $m"
	done
	check "$([ -n "$modes" ] && [ -z "$missing" ]; echo $?)" \
		"a row per --bpf-attach mode ($modes)" "missing:$missing" "$(cat "$pfw_tmp/table")"
fi

# every row: the left-aligned columns start where their header starts (a
# blank before), the right-aligned ones end where their header ends (a blank
# after)
bad=$(awk '
	NR == 1 {
		h = $0 " "
		n = split("ATTACH RESULT DETAIL", left, " ")
		for (i = 1; i <= n; i++) lpos[i] = index(h, " " left[i] " ") + 1
		m = split("MAJOR MAJFLT EXPECTED LOST", right, " ")
		for (i = 1; i <= m; i++) rpos[i] = index(h, " " right[i] " ") + length(right[i])
		next
	}
	{
		for (i = 1; i <= n; i++)
			if (substr($0, lpos[i] - 1, 1) != " " || substr($0, lpos[i], 1) == " ")
				print "row " NR - 1 ": " left[i] " not at column " lpos[i] ": " $0
		for (i = 1; i <= m; i++)
			if (substr($0, rpos[i], 1) == " " || substr($0, rpos[i] + 1, 1) != " ")
				print "row " NR - 1 ": " right[i] " does not end at column " rpos[i] ": " $0
	}' "$pfw_tmp/table")
check "$([ "$rows" -gt 0 ] && [ -z "$bad" ]; echo $?)" \
	"the $rows rows of the run table line up under its header" "$bad"

# the per-file table: "    BACKEND ATTACH      MAJOR  agree", the same widths
sed -n '/^per file/,/^$/p' "$pfw_tmp/out" | grep '^    [^ ]' >"$pfw_tmp/files"
shapes=$(awk '{
		match($0, /^    [^ ]+ +/); a = RLENGTH
		match($0, /^    [^ ]+ +[^ ]+ +[0-9]+/); print a, RLENGTH
	}' "$pfw_tmp/files" | sort -u)
attach_col=$(head -n 1 "$pfw_tmp/table" | awk '{ print index($0, " ATTACH ") }')
if [ ! -s "$pfw_tmp/files" ]; then
	skip "the per-file table lines up" "no run saw a major fault"
else
	check "$([ "$(echo "$shapes" | wc -l)" = 1 ] && [ "${shapes%% *}" = $((attach_col + 4)) ]; echo $?)" \
		"the per-file table's columns line up, ATTACH where the run table has it" \
		"shapes: $shapes, ATTACH at $attach_col" "$(cat "$pfw_tmp/files")"
fi

leak_check
done_testing
