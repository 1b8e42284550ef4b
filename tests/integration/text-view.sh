#!/bin/sh
# The text events view (SPEC.md "Views"): the header line exactly as
# specified, one aligned line per fault with the workload's pid/tids, the
# data file and a page-aligned offset, then the summary tables and the run
# line; --view=summary prints only the tables.
. "${0%/*}/lib.sh"

pfw_setup
require_backend
plan 16

data=$pfw_tmp/data.dat
size=4M
size_bytes=4194304
args="--exact --size=$size --pattern=stride --stride=5 --threads=2"
"$PFWATCH_WORKLOAD" --file="$data" --size=$size --keep --no-evict --accesses=1 2>/dev/null ||
	bail "cannot create $data"
# shellcheck disable=SC2086
expect=$("$PFWATCH_WORKLOAD" $args --expect)

# shellcheck disable=SC2086
pfw_trace -o "$pfw_tmp/out.txt" -- "$REAP" "$pfw_tmp/reap" "$PFWATCH_WORKLOAD" $args \
	--file="$data" --json >"$pfw_tmp/wl.json" 2>"$pfw_tmp/err"
st=$?
check $st "pfwatch -- pfwatch-workload exits 0" "exit status $st" "$(diag_file "$pfw_tmp/err")"
out=$pfw_tmp/out.txt
wpid=$(sed -n 's/^{"pid":\([0-9]*\),.*/\1/p' "$pfw_tmp/wl.json")
tids=$(tr ',{' '\n\n' <"$pfw_tmp/wl.json" | sed -n 's/^"tid":\([0-9]*\)$/\1/p' | tr '\n' ' ')
# the kernel's majflt of the workload to its exit, and of the whole run
# (reap, the workload's parent, beside it): see tests/integration/reap.c
majflt=$(reap_num "$pfw_tmp/reap" majflt)
total=$(reap_total "$pfw_tmp/reap")
reaper=$(reap_num "$pfw_tmp/reap" reaper)
diag "workload pid $wpid tids $tids, expected $expect, majflt $majflt, with reap's $total"

is_eq "header line" "$(head -n 1 "$out" | tr -s ' ' | sed 's/^ //; s/ $//')" \
	"TIME(s) PID TID COMM KIND LAT(us) ADDRESS FILE OFFSET"

awk '$5 == "major" && $1 ~ /^[0-9]+\.[0-9]+$/' "$out" >"$pfw_tmp/faults"
is_num_eq "one line per major fault" "$(wc -l <"$pfw_tmp/faults" | tr -d ' ')" "${total:-?}"

# every line: 9 columns, our pid and tids, the file, hex address, aligned
# offset (but a line of reap, whose own major, if any, is not on the file)
bad=$(awk -v pid="$wpid" -v tids=" $tids" -v path="$data" -v size="$size_bytes" -v r="${reaper:-x}" '
	NF == 9 && $2 == r { next }
	NF != 9 { print NR ": " NF " columns"; next }
	$2 != pid { print NR ": pid " $2; next }
	index(tids, " " $3 " ") == 0 { print NR ": tid " $3; next }
	$8 != path { print NR ": file " $8; next }
	$7 !~ /^0x[0-9a-f]+$/ { print NR ": address " $7; next }
	$6 !~ /^([0-9]+\.[0-9]+|-)$/ { print NR ": latency " $6; next }
	$9 !~ /^[0-9]+$/ || $9 % 4096 != 0 || $9 + 0 >= size + 0 { print NR ": offset " $9; next }
' "$pfw_tmp/faults" | head -n 5)
is_eq "fault lines: pid, tid, file, address, latency, offset well formed" "$bad" ""

# right-aligned numeric columns end where their header ends
hdr=$(head -n 1 "$out")
bad=$(awk -v h="$hdr" '
	function ends(s, n,   i, e) {
		# end offset of the n-th blank-separated field of s
		e = 0
		for (i = 1; i <= n; i++) {
			match(substr(s, e + 1), /[^ ]+/)
			e += RSTART + RLENGTH - 1
		}
		return e
	}
	{ for (c = 1; c <= 3; c++) if (ends($0, c) != ends(h, c)) { print NR ": column " c; exit } }
' "$pfw_tmp/faults")
is_eq "TIME, PID and TID columns aligned under the header" "$bad" ""

if no_control_bytes "$out"; then
	ok "no raw control byte"
else
	not_ok "no raw control byte"
fi

norm() {
	tr -s ' ' <"$1" | sed 's/^ //; s/ $//'
}
norm "$out" >"$pfw_tmp/norm"
grep -qx "PID TID COMM MAJOR MINOR REFAULTS TOTAL_MS AVG_US MAX_US MIN_US" "$pfw_tmp/norm"
check $? "per-thread table header"
grep -qx "FILE MAJOR MINOR PAGES REFAULTS REFAULT% TOTAL_MS AVG_US MAX_US" "$pfw_tmp/norm"
check $? "per-file table header"
row=$(awk -v p="$data" '$1 == p && NF == 9 { print $2, $4, $5 }' "$pfw_tmp/norm")
is_eq "per-file row: MAJOR, PAGES = expected, no REFAULTS" "$row" "$expect $expect 0"
tsum=$(awk -v pid="$wpid" '$1 == pid && NF == 10 && $4 ~ /^[0-9]+$/ { s += $4 } END { print s + 0 }' "$pfw_tmp/norm")
is_num_eq "per-thread rows: MAJOR sums to the workload's majflt" "$tsum" "$majflt"
runl=$(grep '^run:' "$pfw_tmp/norm" | tail -n 1)
case "$runl" in
*" major=${total:-?} "*) ok "run line: major=$total" ;;
*) not_ok "run line: major=${total:-?}" "$runl" ;;
esac
case "$runl" in
*" lost=0"*) ok "run line: lost=0" ;;
*) not_ok "run line: lost=0" "$runl" ;;
esac

# --view=summary: the tables without the event lines
# shellcheck disable=SC2086
pfw_trace --view=summary -o "$pfw_tmp/sum.txt" -- "$PFWATCH_WORKLOAD" $args --file="$data" \
	>/dev/null 2>"$pfw_tmp/err"
st=$?
check $st "--view=summary exits 0" "exit status $st" "$(diag_file "$pfw_tmp/err")"
is_eq "--view=summary: no event lines" \
	"$(awk '$5 == "major" && $1 ~ /^[0-9]+\.[0-9]+$/' "$pfw_tmp/sum.txt" | wc -l | tr -d ' ')" 0
row=$(norm "$pfw_tmp/sum.txt" | awk -v p="$data" '$1 == p && NF == 9 { print $2, $4, $5 }')
is_eq "--view=summary: per-file row MAJOR, PAGES = expected, no REFAULTS" "$row" "$expect $expect 0"

leak_check
done_testing
