#!/bin/sh
# Refaults, exactly. pfwatch-workload --rounds evicts its file between
# rounds (checked with mincore), so a page a later round touches again is
# read again: a refault. --expect --json replays the run and gives the major
# faults, refaults and distinct pages of each thread. The file record, every
# thread record and the run record must say exactly that: counted in the
# kernel (bpf --view=summary), from streamed faults (--view=events), again
# from the recording (--input), and the heatmap's cells must add up to the
# file's major faults. A page set too small to hold the file must say its
# counts are lower bounds, and they must be.
. "${0%/*}/lib.sh"

pfw_setup
require_backend

# pattern:threads:rounds:hot; small files: exactness does not need size, and
# the lanes run this once per backend and mode under TCG
configs="random:2:3:50 stride:3:2:100"
size=1M
plan 25

# the NAME member of the expect JSON's thread with index IDX
thread_expect() { # json idx name
	printf '%s\n' "$1" | tr '{' '\n' | sed -n "s/^\"index\":$2,.*\"$3\":\\([0-9]*\\).*/\\1/p"
}

for c in $configs; do
	set -- $(echo "$c" | tr ':' ' ')
	pat=$1 thr=$2 rounds=$3 hot=$4
	name="$pat, $thr thread(s), $rounds rounds, hot $hot%"
	data=$pfw_tmp/data-$pat.dat
	args="--exact --size=$size --pattern=$pat --threads=$thr --rounds=$rounds --hot=$hot --seed=7"
	"$PFWATCH_WORKLOAD" --file="$data" --size=$size --keep --no-evict --accesses=1 2>/dev/null ||
		bail "cannot create $data"
	# shellcheck disable=SC2086
	ex=$("$PFWATCH_WORKLOAD" $args --expect --json)
	e_major=$(printf '%s\n' "$ex" | sed -n 's/^{"expected":\([0-9]*\),.*/\1/p')
	e_ref=$(printf '%s\n' "$ex" | sed -n 's/^{[^[]*"refaults":\([0-9]*\),.*/\1/p')
	e_pages=$(printf '%s\n' "$ex" | sed -n 's/^{[^[]*"pages":\([0-9]*\),.*/\1/p')
	diag "$name: expected major $e_major, refaults $e_ref, pages $e_pages"
	hp=$(hexof "$data")

	# --- counted where the backend counts for a summary (bpf: in the kernel)
	# shellcheck disable=SC2086
	pfw_trace --view=summary -f json -o "$pfw_tmp/sum.json" -- \
		"$PFWATCH_WORKLOAD" $args --file="$data" --json >"$pfw_tmp/wl.json" 2>"$pfw_tmp/err"
	st=$?
	check $st "$name: summary: pfwatch exits 0" "exit $st" "$(diag_file "$pfw_tmp/err")"
	majflt=$(sed -n 's/.*"touch_majflt":\([0-9]*\).*/\1/p' "$pfw_tmp/wl.json")
	if [ "$majflt" != "$e_major" ]; then
		# the kernel counted majors outside the data file (someone's cache drop
		# evicted a library page): the run cannot be judged against --expect
		n=9
		[ "$pat" = random ] && n=12
		for i in $(seq 1 $n); do
			skip "$name: check $i" "the workload's majflt $majflt differs from --expect $e_major"
		done
		rm -f "$data"
		continue
	fi
	row=$("$JSONCHECK" get "$pfw_tmp/sum.json" file x:path major pages refaults \
		refaults_untracked backing | grep "^$hp	" | cut -f2-)
	is_eq "$name: summary: file major, pages, refaults, untracked, backing" "$row" \
		"$e_major	$e_pages	$e_ref	0	file"
	is_num_eq "$name: summary: run record refaults" \
		"$(json_last "$pfw_tmp/sum.json" run refaults)" "$e_ref"
	"$JSONCHECK" get "$pfw_tmp/sum.json" thread tid major refaults backing >"$pfw_tmp/threads"
	bad=
	i=0
	for tid in $(tr '{' '\n' <"$pfw_tmp/wl.json" | sed -n 's/^"tid":\([0-9]*\),.*/\1/p'); do
		want="$(thread_expect "$ex" $i major)	$(thread_expect "$ex" $i refaults)	file"
		got=$(awk -F'\t' -v t="$tid" '$1 == t {print $2 "\t" $3 "\t" $4}' "$pfw_tmp/threads")
		[ "$got" = "$want" ] || bad="$bad thread $i (tid $tid): got '$got' want '$want';"
		i=$((i + 1))
	done
	is_eq "$name: summary: every thread's major, refaults and backing = its expected" \
		"$bad" ""
	is_num_eq "$name: summary: one thread record per worker" "$i" "$thr"

	# --- streamed: every fault to user space, which counts them
	# shellcheck disable=SC2086
	pfw_trace --view=events -f json -o "$pfw_tmp/ev.json" -- \
		"$PFWATCH_WORKLOAD" $args --file="$data" --json >"$pfw_tmp/wl2.json" 2>"$pfw_tmp/err"
	st=$?
	check $st "$name: events: pfwatch exits 0" "exit $st" "$(diag_file "$pfw_tmp/err")"
	row=$("$JSONCHECK" get "$pfw_tmp/ev.json" file x:path major pages refaults | grep "^$hp	" |
		cut -f2-)
	is_eq "$name: events: file major, pages, refaults" "$row" "$e_major	$e_pages	$e_ref"
	nf=$("$JSONCHECK" get "$pfw_tmp/ev.json" fault kind x:path backing |
		awk -F'\t' -v p="$hp" '$1 == "major" && $2 == p && $3 == "file"' | wc -l | tr -d ' ')
	is_num_eq "$name: events: one fault record per major, each with backing file" "$nf" "$e_major"
	# the recording, replayed: refaults are decided again from the fault records
	"$PFWATCH" --input="$pfw_tmp/ev.json" --view=summary -f json >"$pfw_tmp/re.json" 2>/dev/null
	row=$("$JSONCHECK" get "$pfw_tmp/re.json" file x:path major refaults | grep "^$hp	" | cut -f2-)
	is_eq "$name: --input: the recording's file major, refaults" "$row" "$e_major	$e_ref"
	"$PFWATCH" --input="$pfw_tmp/ev.json" --view=heatmap -f csv >"$pfw_tmp/hm.csv" 2>/dev/null
	sums=$("$JSONCHECK" csvget "$pfw_tmp/hm.csv" x:path major refaults |
		awk -F'\t' -v p="$hp" '$1 == p { m += $2; r += $3 } END { print m + 0, r + 0 }')
	is_eq "$name: --input --view=heatmap: the cells add up to the file's major, refaults" \
		"$sums" "$e_major $e_ref"

	# --- the heatmap live (once: the view is the same code as from --input)
	if [ "$pat" = random ]; then
		# shellcheck disable=SC2086
		pfw_trace --view=heatmap -f json -o "$pfw_tmp/hm.json" -- \
			"$PFWATCH_WORKLOAD" $args --file="$data" >/dev/null 2>"$pfw_tmp/err"
		st=$?
		check $st "$name: heatmap: pfwatch exits 0" "exit $st" "$(diag_file "$pfw_tmp/err")"
		row=$("$JSONCHECK" get "$pfw_tmp/hm.json" heatmap x:path major refaults |
			grep "^$hp	" | cut -f2-)
		is_eq "$name: heatmap: the file's grid holds its major faults and refaults" "$row" \
			"$e_major	$e_ref"
		# the cells of the data file's record, summed (busybox has no JSON
		# tool: via the text); another file may have a record of its own (a
		# text page of the workload read back in)
		cells=$(grep '"record":"heatmap"' "$pfw_tmp/hm.json" | grep -F "\"path\":\"$data\"" |
			grep -o '"major":[0-9]*' | tail -n +2 | cut -d: -f2 | awk '{ s += $1 } END { print s + 0 }')
		is_num_eq "$name: heatmap: its cells add up to them" "$cells" "$e_major"
	fi

	rm -f "$data"
done

# --- a page set too small for the file: lower bounds, said so. 3 MiB: more
# than one 512-page chunk of the kernel's set, more than two 64-page slots
# of user space's
data=$pfw_tmp/big.dat
args="--exact --size=3M --pattern=seq --rounds=2 --seed=7"
"$PFWATCH_WORKLOAD" --file="$data" --size=3M --keep --no-evict --accesses=1 2>/dev/null ||
	bail "cannot create $data"
hp=$(hexof "$data")
# shellcheck disable=SC2086
ex=$("$PFWATCH_WORKLOAD" $args --expect --json)
e_major=$(printf '%s\n' "$ex" | sed -n 's/^{"expected":\([0-9]*\),.*/\1/p')
e_ref=$(printf '%s\n' "$ex" | sed -n 's/^{[^[]*"refaults":\([0-9]*\),.*/\1/p')
e_pages=$(printf '%s\n' "$ex" | sed -n 's/^{[^[]*"pages":\([0-9]*\),.*/\1/p')
# shellcheck disable=SC2086
PFW_PAGE_SLOTS=2 PFW_BPF_CHUNKS=1 pfw_trace --view=summary -f json -o "$pfw_tmp/b.json" -- \
	"$PFWATCH_WORKLOAD" $args --file="$data" >/dev/null 2>"$pfw_tmp/err"
set -- $("$JSONCHECK" get "$pfw_tmp/b.json" file x:path major pages refaults \
	refaults_untracked | grep "^$hp	" | cut -f2-)
if [ $# -eq 4 ] && [ "$1" = "$e_major" ] && [ "$4" -gt 0 ] && [ "$3" -le "$e_ref" ] &&
	[ "$e_ref" -le $(($3 + $4)) ] && [ "$2" -le "$e_pages" ]; then
	ok "bounded page set: refaults $3 <= $e_ref <= $3 + untracked $4, pages $2 <= $e_pages"
else
	not_ok "bounded page set: lower bounds, said so" "got major pages refaults untracked: $*"
fi
rm -f "$data"

leak_check
done_testing
