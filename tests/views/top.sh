#!/bin/sh
# --view=top driven in tmux like a person would: the screen appears with its
# header (backend, rate, lost), then keys change the grouping (f/p/t) and
# the sort (m/l), space pauses, q quits and leaves the summary behind. Without
# a terminal, top prints plain tables every --interval. The captured screen
# is rendered to doc/images/top.png in the build tree when rsvg-convert is
# there (PFW_UPDATE_DOC=1 also copies it to the source tree for the README).
. "${top_srcdir:-.}/tests/integration/lib.sh"

pfw_setup
command -v tmux >/dev/null 2>&1 || skip_all "tmux not installed (apt-get install tmux)"
prog=${PFW_TESTBIN_VIEWS:-$top_builddir/tests/views}/stackprog
[ -x "$prog" ] || bail "$prog is not built (make check builds it)"
"$PFWATCH" --list-backends --format=json 2>/dev/null | grep '"backend":"perf"' |
	grep -q '"available":true' || skip_all "perf backend unavailable here"

plan 13

sess=pfw-top-$$
d=$pfw_tmp
cat >"$d/work.sh" <<EOW
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	"$prog" "$d/alpha.dat" 40 60 >/dev/null
	"$prog" "$d/beta.dat" 10 5 >/dev/null
	sleep 0.3
done
sleep 60
EOW
cat >"$d/run.sh" <<EOR
"$PFWATCH" --backend=perf --view=top --interval=0.5 -- sh "$d/work.sh" 2>"$d/top.err"
echo "PFWATCH-EXIT=\$?"
sleep 30
EOR
tmux kill-session -t "$sess" 2>/dev/null
tmux new-session -d -s "$sess" -x 150 -y 40 "sh $d/run.sh" || bail "tmux new-session failed"
trap 'tmux kill-session -t "$sess" 2>/dev/null; pfw_cleanup' EXIT

cap() { tmux capture-pane -p -t "$sess" >"$d/screen" 2>/dev/null; }
# wait until the screen shows REGEX (up to 10 s)
await() { # regex
	_i=0
	while [ $_i -lt 50 ]; do
		cap
		grep -qE "$1" "$d/screen" && return 0
		sleep 0.2
		_i=$((_i + 1))
	done
	return 1
}
# column N of the table rows (lines after the column header) is non-increasing
sorted_by() { # column
	awk -v c="$1" 'hdr && NF > 3 { v = $c + 0; if (seen && v > last) bad = 1; last = v; seen = 1 }
		/^ +MAJOR +MINOR/ { hdr = 1 } END { exit !(seen && !bad) }' "$d/screen"
}

await "alpha\\.dat" && await "beta\\.dat"
check $? "the top screen appears and groups by file (alpha.dat, beta.dat)" "$(head -n 8 "$d/screen")"
grep -qE '^pfwatch top - perf backend \(sw-events\) .* rate [0-9]+/s +lost 0' "$d/screen"
check $? "the header shows the backend, the rate and the lost events" "$(head -n 1 "$d/screen")"
sorted_by 1
check $? "rows are sorted by major faults" "$(sed -n 4,8p "$d/screen")"
[ "$(awk '/alpha\.dat/ {print $1 % 100}' "$d/screen")" = 0 ]
check $? "alpha.dat counts whole runs of 100 faults" "$(grep alpha "$d/screen")"

if command -v rsvg-convert >/dev/null 2>&1; then
	mkdir -p "$top_builddir/doc/images"
	# the screen as it looks: monospace text on a dark terminal, rendered once
	awk 'BEGIN { print "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1060\" height=\"250\">";
		print "<rect width=\"100%\" height=\"100%\" fill=\"#1e1e1e\"/>" }
		NR <= 12 { gsub(/&/, "\\&amp;"); gsub(/</, "\\&lt;"); gsub(/>/, "\\&gt;");
		col = NR == 1 || NR == 4 ? "#ffffff" : "#b8e0b8"; w = NR == 1 || NR == 4 ? "bold" : "normal";
		printf "<text x=\"8\" y=\"%d\" font-family=\"DejaVu Sans Mono,monospace\" font-size=\"12.5\" fill=\"%s\" font-weight=\"%s\" xml:space=\"preserve\">%s</text>\n", 8 + NR * 18, col, w, $0 }
		END { print "</svg>" }' "$d/screen" >"$top_builddir/doc/images/top.svg"
	rsvg-convert -o "$top_builddir/doc/images/top.png" "$top_builddir/doc/images/top.svg" &&
		[ "${PFW_UPDATE_DOC:-0}" = 1 ] && cp "$top_builddir/doc/images/top.png" "$top_srcdir/doc/images/top.png"
fi

tmux send-keys -t "$sess" p
await "^group: process"
check $? "'p' groups by process" "$(sed -n 2p "$d/screen")"
grep -qE '^ +MAJOR +MINOR +THREADS .* PID +COMM' "$d/screen"
check $? "the process table has THREADS and PID columns" "$(sed -n 4p "$d/screen")"

tmux send-keys -t "$sess" t
await "^group: thread"
grep -qE ' PID/TID +COMM' "$d/screen"
check $? "'t' groups by thread (PID/TID)" "$(sed -n 2,4p "$d/screen")"

tmux send-keys -t "$sess" l
await "sort: latency" && sorted_by 5
check $? "'l' sorts threads by total latency (TOTAL_MS, column 5, non-increasing)" "$(sed -n 2,10p "$d/screen")"

tmux send-keys -t "$sess" f m
await "^group: file +sort: major" && sorted_by 1
check $? "'f' 'm' go back to files by major faults" "$(sed -n 2,6p "$d/screen")"

tmux send-keys -t "$sess" ' '
await '\[PAUSED\]'
cp "$d/screen" "$d/paused"
sleep 1.2
cap
cmp -s "$d/screen" "$d/paused"
check $? "space pauses: the screen stays as it was for 1.2 s (3 intervals)"
tmux send-keys -t "$sess" ' '
await 'lost 0$'
check $? "space again resumes" "$(head -n 1 "$d/screen")"

tmux send-keys -t "$sess" q
await "PFWATCH-EXIT=" && grep -qE '^ +PID +TID COMM' "$d/screen"
check $? "'q' quits pfwatch, which leaves the summary behind" "$(tail -n 5 "$d/screen")"

# no terminal: plain tables every interval
pfw_run --backend=perf --view=top --interval=0.3 -- sh -c \
	"\"$prog\" \"$d/g.dat\" 5 5 >/dev/null; sleep 1; \"$prog\" \"$d/g.dat\" 5 5 >/dev/null" \
	>"$d/plain" 2>"$d/err"
n=$(grep -c '^pfwatch top - perf backend' "$d/plain")
if [ "$n" -ge 2 ] && grep -q '^run: backend=perf' "$d/plain"; then
	ok "without a terminal top prints a table every interval ($n), then the summary"
else
	not_ok "without a terminal top prints a table every interval ($n), then the summary"
	diag_file "$d/plain" 10
fi

done_testing
