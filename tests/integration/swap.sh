#!/bin/sh
# Swap-ins are major faults too: pfwatch-workload --memory=anon|shmem swaps
# its memory out with MADV_PAGEOUT before each round and reads it back. Every
# major fault of a worker thread must be there with the right backing (anon
# for private anonymous memory, shmem for a memfd), as many as the kernel's
# own count for that thread (RUSAGE_THREAD). Needs swap: an active one is
# used; with none, a swap file is made in the test directory and removed at
# the end (the VM lanes' guests turn one on at boot).
. "${0%/*}/lib.sh"

pfw_setup
require_backend

case "$pfw_attach" in
"events (approximate)")
	skip_all "ftrace events mode sees file-cache majors only: a swap-in has no tracepoint"
	;;
esac

pfw_swap=
swap_cleanup() {
	if [ -n "$pfw_swap" ]; then
		swapoff "$pfw_swap" 2>/dev/null
		rm -f "$pfw_swap"
	fi
	pfw_cleanup
}
if [ "$(awk 'NR > 1' /proc/swaps | wc -l)" -eq 0 ]; then
	for t in mkswap swapon swapoff; do
		command -v $t >/dev/null 2>&1 || skip_all "no swap and no $t to make one"
	done
	pfw_swap=$pfw_tmp/swapfile
	trap swap_cleanup EXIT
	if ! dd if=/dev/zero of="$pfw_swap" bs=1M count=64 2>/dev/null || ! chmod 600 "$pfw_swap" ||
		! mkswap "$pfw_swap" >/dev/null 2>&1 || ! swapon "$pfw_swap" 2>"$pfw_tmp/swapon.err"; then
		rm -f "$pfw_swap"
		pfw_swap=
		skip_all "no swap, and swapon of a file in $pfw_tmp failed: $(head -n 1 "$pfw_tmp/swapon.err" 2>/dev/null)"
	fi
fi

plan 9
wl_args="--size=8M --rounds=2 --threads=2 --pattern=random --seed=3"

# pfwatch's thread rows against the workers' own majflt; sets bad, total
thread_rows() { # summary.json workload.json backing
	bad=
	total=0
	"$JSONCHECK" get "$1" thread tid major backing "major_$3" >"$pfw_tmp/threads"
	for t in $(tr '{' '\n' <"$2" | sed -n 's/^"tid":\([0-9]*\),.*"thread_majflt":\([0-9]*\).*/\1:\2/p'); do
		tid=${t%:*}
		maj=${t#*:}
		total=$((total + maj))
		got=$(awk -F'\t' -v t="$tid" '$1 == t {print $2 "\t" $3 "\t" $4}' "$pfw_tmp/threads")
		[ "$maj" -gt 0 ] || bad="$bad tid $tid had no major fault (nothing swapped in?);"
		[ "$got" = "$maj	$3	$maj" ] || bad="$bad tid $tid: got '$got', its majflt $maj;"
	done
}

# Run the workload swapping MEMORY under pfwatch ARGS...; false (after
# emitting a skip for each of the N checks DESCS) when it could not swap out.
swapped() { # memory out.json wl.json descs args...
	_m=$1 _o=$2 _w=$3 _d=$4
	shift 4
	# shellcheck disable=SC2086
	pfw_trace "$@" -f json -o "$_o" -- "$PFWATCH_WORKLOAD" --memory="$_m" $wl_args --json \
		>"$_w" 2>"$pfw_tmp/err"
	_st=$?
	if grep -q 'stay in memory' "$pfw_tmp/err"; then
		_why="MADV_PAGEOUT left $_m pages resident on $(uname -r): $(grep 'stay in memory' "$pfw_tmp/err" | head -n 1)"
		_ifs=$IFS
		IFS='|'
		set -f
		for _x in $_d; do
			skip "$_m: $_x" "$_why"
		done
		set +f
		IFS=$_ifs
		return 1
	fi
	check $_st "$_m: pfwatch exits 0" "exit $_st" "$(diag_file "$pfw_tmp/err")"
}

# --- private anonymous memory
if swapped anon "$pfw_tmp/a.json" "$pfw_tmp/wa.json" \
	"pfwatch exits 0|every worker's majors are anon|[anon] row|events" \
	--faults=all --view=summary; then
	thread_rows "$pfw_tmp/a.json" "$pfw_tmp/wa.json" anon
	is_eq "anon: every worker's majors are anon swap-ins, as many as its majflt" "$bad" ""
	diag "anon: $total swap-ins by the workers"
	row=$("$JSONCHECK" get "$pfw_tmp/a.json" file path backing refaults | grep '^\[anon\]	')
	is_eq "anon: [anon] row: backing anon, no refaults (a file page's)" "$row" "[anon]	anon	null"
	# shellcheck disable=SC2086
	pfw_trace --faults=major -f json -o "$pfw_tmp/ae.json" -- \
		"$PFWATCH_WORKLOAD" --memory=anon $wl_args --json >"$pfw_tmp/wa2.json" 2>"$pfw_tmp/err"
	want=$(tr '{' '\n' <"$pfw_tmp/wa2.json" | sed -n 's/.*"thread_majflt":\([0-9]*\).*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }')
	tids=$(tr '{' '\n' <"$pfw_tmp/wa2.json" | sed -n 's/^"tid":\([0-9]*\),.*/\1/p' | tr '\n' ' ')
	got=$("$JSONCHECK" get "$pfw_tmp/ae.json" fault tid kind backing |
		awk -F'\t' -v t=" $tids" 'index(t, " " $1 " ") && $2 == "major" && $3 == "anon"' |
		wc -l | tr -d ' ')
	is_num_eq "anon: events: one major fault record with backing anon per worker swap-in" \
		"$got" "$want"
fi

# --- shmem: a memfd
if swapped shmem "$pfw_tmp/s.json" "$pfw_tmp/ws.json" \
	"pfwatch exits 0|every worker's majors are shmem|memfd row: backing|memfd row: refaults" \
	--faults=all --view=summary; then
	thread_rows "$pfw_tmp/s.json" "$pfw_tmp/ws.json" shmem
	is_eq "shmem: every worker's majors are shmem swap-ins, as many as its majflt" "$bad" ""
	mf=$(hexof "/memfd:pfwatch-workload (deleted)")
	row=$("$JSONCHECK" get "$pfw_tmp/s.json" file x:path backing major refaults | grep "^$mf	" | cut -f2-)
	is_eq "shmem: memfd row: backing shmem, the workers' majors" "$(echo "$row" | cut -f1,2)" \
		"shmem	$total"
	# the workload counts a swap-in of a page touched in an earlier round as it
	# sees it (mincore before the touch); that holds when it saw every one
	seen=$(sed -n 's/.*"swapins":\([0-9]*\),"swapin_refaults":\([0-9]*\),.*/\1 \2/p' "$pfw_tmp/ws.json")
	if [ "${seen%% *}" = "$total" ]; then
		is_num_eq "shmem: memfd row: refaults = the workload's swap-ins of pages touched before" \
			"$(echo "$row" | cut -f3)" "${seen#* }"
	else
		skip "shmem: memfd row: refaults" \
			"swap readahead raced the workload's mincore ($seen seen, $total majflt)"
	fi
fi

leak_check
done_testing
