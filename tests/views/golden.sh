#!/bin/sh
# Golden outputs of every view in every format, from a fixed recording
# (tests/views/data/recording.jsonl: two processes, one with its cgroup, stacks with and without
# symbols, JIT/anonymous frames, a hostile path with a newline and an
# invalid byte, a ';' in a command name, unknown fields, lost events).
# --input replays it exactly, so the outputs are bytes we can compare. No
# privileges needed.
. "${top_srcdir:-.}/tests/integration/lib.sh"

[ -n "${PFWATCH:-}" ] && [ -x "$PFWATCH" ] || bail "PFWATCH is not set or not executable"
data=$top_srcdir/tests/views/data
exp=$top_srcdir/tests/views/expected
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pfw-golden.XXXXXX") || bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

plan 42

# one view of a recording in every format against expected/VIEW.FORMAT
golden_view() { # recording view
	for f in text json csv; do
		"$PFWATCH" --input="$1" --faults=all --view=$2 --format=$f >"$tmp/out" 2>"$tmp/err"
		st=$?
		if [ $st -eq 0 ] && cmp -s "$tmp/out" "$exp/$2.$f"; then
			ok "--input --view=$2 --format=$f matches the golden output"
		else
			not_ok "--input --view=$2 --format=$f matches the golden output" "exit $st"
			diff "$exp/$2.$f" "$tmp/out" | head -n 20 | sed 's/^/#   /'
			diag_file "$tmp/err" 5
		fi
	done
}

for v in events summary hist folded callsites; do
	golden_view "$data/recording.jsonl" $v
done

# -v adds one histogram per file and kind
for f in text json; do
	"$PFWATCH" --input="$data/recording.jsonl" --faults=all --view=hist -v --format=$f \
		>"$tmp/out" 2>/dev/null
	cmp -s "$tmp/out" "$exp/hist-v.$f"
	check $? "--view=hist -v --format=$f: per-file histograms match the golden output" \
		"$(diff "$exp/hist-v.$f" "$tmp/out" | head -n 10)"
done

# the flame graph: the golden file, valid XML, the frames with their counts
"$PFWATCH" --input="$data/recording.jsonl" --faults=all --view=folded --svg="$tmp/flame.svg" \
	>/dev/null 2>&1
cmp -s "$tmp/flame.svg" "$exp/flame.svg"
check $? "--svg writes the golden flame graph"
if command -v xmllint >/dev/null 2>&1; then
	xmllint --noout "$tmp/flame.svg" 2>"$tmp/err"
	check $? "the flame graph parses as XML" "$(head -n 3 "$tmp/err")"
else
	skip "the flame graph parses as XML" "xmllint not installed (libxml2-utils)"
fi
n=0
for t in 'all (7 faults' 'db (3 faults' 'scan_table (3 faults' 'run_query (3 faults' \
	'jit:vm (2 faults' 'interp_loop (2 faults' 'flush_pages (1 faults'; do
	grep -qF "<title>$t" "$tmp/flame.svg" && n=$((n + 1))
done
is_num_eq "the flame graph holds the 7 expected frames with their fault counts" "$n" 7

# --faults filters a recording like a live run: the one minor fault goes
"$PFWATCH" --input="$data/recording.jsonl" --view=summary --format=json >"$tmp/out" 2>/dev/null
got=$(grep '"record":"run"' "$tmp/out" | sed 's/.*"faults":\([0-9]*\),"major":\([0-9]*\),"minor":\([0-9]*\).*/\1 \2 \3/')
is_eq "--input honours --faults=major (6 majors, no minor)" "$got" "6 6 0"

# a damaged recording: the good lines count, the bad ones are reported, exit 1
{
	head -n 2 "$data/recording.jsonl"
	echo '{"record":"fault","pid":'
	echo 'not json at all'
	tail -n 1 "$data/recording.jsonl"
} >"$tmp/bad.jsonl"
"$PFWATCH" --input="$tmp/bad.jsonl" --view=summary --format=json >"$tmp/out" 2>"$tmp/err"
st=$?
got=$(grep -c '"record":"thread"' "$tmp/out")
if [ $st -eq 1 ] && [ "$got" = 1 ] && grep -q '2 lines of' "$tmp/err"; then
	ok "malformed lines are skipped, reported, and make the exit status 1"
else
	not_ok "malformed lines are skipped, reported, and make the exit status 1" "exit $st, $got thread records"
	diag_file "$tmp/err" 5
fi

"$PFWATCH" --input="$tmp/does-not-exist" >/dev/null 2>"$tmp/err"
st=$?
is_num_eq "--input of a missing file exits 1" "$st" 1

# an input without a single pfwatch record is no recording: exit 1, one
# line saying so, and no empty tables (as for any other unreadable input)
: >"$tmp/empty.jsonl"
printf 'not json\n{}\n{"pid":1}\n' >"$tmp/junk.jsonl"
for in in /dev/null "$tmp/empty.jsonl" "$tmp/junk.jsonl"; do
	for v in events summary; do
		"$PFWATCH" --input="$in" --view=$v >"$tmp/out" 2>"$tmp/err"
		st=$?
		want="pfwatch: '$in' holds no pfwatch record: not a recording; make one with --format=json"
		if [ $st -eq 1 ] && [ ! -s "$tmp/out" ] && [ "$(tail -n 1 "$tmp/err")" = "$want" ]; then
			ok "--input=${in##*/} --view=$v: exit 1, no tables, '$want'"
		else
			not_ok "--input=${in##*/} --view=$v: exit 1, no tables, '$want'" "exit $st, $(wc -c <"$tmp/out") bytes on stdout"
			diag_file "$tmp/err" 5
		fi
	done
done

"$PFWATCH" --input="$data/recording.jsonl" --view=summary --svg="$tmp/x.svg" >/dev/null 2>"$tmp/err"
st=$?
is_num_eq "--svg without --view=folded or heatmap is a usage error (2)" "$st" 2

# refaults, backing and the heatmap, from a recording of a band read three
# times (tests/views/data/refaults.jsonl): a file page's second major fault is
# a refault, a minor one is not, anonymous memory has none
rf=$data/refaults.jsonl
"$PFWATCH" --input="$rf" --faults=all --view=summary -v >"$tmp/out" 2>/dev/null
cmp -s "$tmp/out" "$exp/refaults-summary.text"
check $? "refaults: --view=summary -v (REFAULTS, REFAULT%, BACKING) matches the golden output" \
	"$(diff "$exp/refaults-summary.text" "$tmp/out" | head -n 10)"
"$PFWATCH" --input="$rf" --faults=all --view=summary -f json >"$tmp/sum.json" 2>/dev/null
cmp -s "$tmp/sum.json" "$exp/refaults-summary.json"
check $? "refaults: --view=summary -f json matches the golden output" \
	"$(diff "$exp/refaults-summary.json" "$tmp/sum.json" | head -n 10)"
golden_view "$rf" heatmap
# each file's cells add up to its major faults and refaults in the summary
# (the recording's paths hold no comma or quote: plain awk reads the CSV)
"$PFWATCH" --input="$rf" --faults=all --view=heatmap -f csv >"$tmp/hm.csv" 2>/dev/null
"$PFWATCH" --input="$rf" --faults=all --view=summary -f csv >"$tmp/sum.csv" 2>/dev/null
cells=$(awk -F, 'NR > 1 { m[$1] += $8; r[$1] += $9 } END { for (p in m) print p, m[p], r[p] }' \
	"$tmp/hm.csv" | sort)
rows=$(awk -F, '$1 == "file" && $6 != "" { print $5, $8, $14 }' "$tmp/sum.csv" | sort)
is_eq "refaults: every file's heatmap cells add up to its major faults and refaults" "$cells" "$rows"
# ASCII off a terminal, whatever --ascii says; the refault band in its own alphabet
grep -q '^ *32K |.*[-+xX]' "$exp/heatmap.text"
check $? "heatmap text: the band read again shows as refault cells"
"$PFWATCH" --input="$rf" --view=heatmap --svg="$tmp/hm.svg" >/dev/null 2>&1
cmp -s "$tmp/hm.svg" "$exp/heatmap.svg"
check $? "--view=heatmap --svg writes the golden SVG" "$(diff "$exp/heatmap.svg" "$tmp/hm.svg" | head -n 5)"
if command -v xmllint >/dev/null 2>&1; then
	xmllint --noout "$tmp/hm.svg" 2>"$tmp/err"
	check $? "the heatmap SVG parses as XML" "$(head -n 3 "$tmp/err")"
else
	skip "the heatmap SVG parses as XML" "xmllint not installed (libxml2-utils)"
fi
n=$(grep -c '<rect class="c"' "$tmp/hm.svg")
r=$(grep '<rect class="c"' "$tmp/hm.svg" | grep -c 'fill="rgb(255,')
want=$(awk -F, 'NR > 1 { n++; if ($9 > 0) r++ } END { print n + 0, r + 0 }' "$tmp/hm.csv")
is_eq "the heatmap SVG: one hover cell per non-empty cell, those with refaults red" "$n $r" "$want"
if command -v rsvg-convert >/dev/null 2>&1; then
	rsvg-convert -o "$tmp/hm.png" "$tmp/hm.svg" 2>"$tmp/err" && [ -s "$tmp/hm.png" ]
	check $? "rsvg-convert renders the heatmap SVG" "$(head -n 3 "$tmp/err")"
else
	skip "rsvg-convert renders the heatmap SVG" "rsvg-convert not installed (librsvg2-bin)"
fi
"$PFWATCH" --input="$rf" --view=summary --ascii >/dev/null 2>&1
is_num_eq "--ascii without --view=heatmap is a usage error (2)" "$?" 2

done_testing
