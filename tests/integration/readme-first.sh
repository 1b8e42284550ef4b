#!/bin/sh
# README.md's first command does what the README says it does: its
# workload arguments are read from README.md itself, run under pfwatch (the
# data file in a disk-backed directory instead of ./), and the faults must be
# the ones the paragraph under it describes: "whose first N pages one thread
# reads in order (--pattern=P, ...)" -- N major faults, one per page, on
# pages 0..N-1 of the file, in the order the pattern P plays them. Root.
. "${0%/*}/lib.sh"

pfw_setup
require_backend
plan 5

readme=${top_srcdir:-.}/README.md
[ -r "$readme" ] || bail "$readme is not readable"
args=$(sed -n 's|^\./bootstrap\.sh && \./pfwatch -- \./pfwatch-workload \(.*\)$|\1|p' "$readme" | head -n 1)
# the paragraph that explains it, on one line
para=$(awk '/^The first installs/ { on = 1 } on && /^$/ { exit } on' "$readme" | tr '\n' ' ')
# shellcheck disable=SC2016
pattern=$(printf '%s\n' "$para" | sed -n 's/.*(`--pattern=\([a-z]*\)`.*/\1/p')
pages=$(printf '%s\n' "$para" | sed -n 's/.*first \([0-9][0-9]*\) pages.*/\1/p')
threads=$(printf '%s\n' "$para" | grep -q 'pages one thread' && echo 1)
if [ -n "$args" ] && [ -n "$pattern" ] && [ -n "$pages" ] && [ "$threads" = 1 ]; then
	ok "README: the first command's workload ($args) and what it does: the first $pages pages, $pattern, one thread"
else
	not_ok "README: the first command's workload and what it does (--pattern=P, the first N pages, one thread)" \
		"args '$args', pattern '$pattern', pages '$pages', threads '$threads'" "paragraph: $para"
fi

# shellcheck disable=SC2086
pfw_trace -q -f json -o "$pfw_tmp/out.json" -- "$PFWATCH_WORKLOAD" $args --file="$pfw_tmp/data" 2>"$pfw_tmp/err"
st=$?
majors=$("$JSONCHECK" get "$pfw_tmp/out.json" fault kind path offset | awk -F '\t' -v f="$pfw_tmp/data" '$1 == "major" && $2 == f { print $3 }')
printf '%s\n' "$majors" | grep . >"$pfw_tmp/offsets"
n=$(wc -l <"$pfw_tmp/offsets" | tr -d ' ')
check "$([ "$st" -eq 0 ] && [ "$n" = "$pages" ]; echo $?)" \
	"the run: $pages major faults on the data file, one line each" "exit $st, $n majors" "$(tail -n 3 "$pfw_tmp/err")"

# pages 0..N-1, each once
sort -n "$pfw_tmp/offsets" >"$pfw_tmp/sorted"
awk -v n="$pages" 'BEGIN { for (i = 0; i < n; i++) print i * 4096 }' >"$pfw_tmp/first"
cmp -s "$pfw_tmp/sorted" "$pfw_tmp/first"
check $? "the faults are on the file's first $pages pages, each once" "$(head -n 3 "$pfw_tmp/sorted")"

# in the order the README says
case $pattern in
'')
	not_ok "in the order of the README's --pattern" "the README names none"
	;;
seq)
	cmp -s "$pfw_tmp/offsets" "$pfw_tmp/first"
	check $? "in order (--pattern=seq): page 0, 1, 2, ..." "first offsets: $(head -n 5 "$pfw_tmp/offsets" | tr '\n' ' ')"
	;;
*)
	! cmp -s "$pfw_tmp/offsets" "$pfw_tmp/first"
	check $? "not in order (--pattern=$pattern)" "the offsets came in file order"
	;;
esac

leak_check
done_testing
