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

plan 10
wl_args="--size=4M --rounds=2 --threads=2 --pattern=random --seed=3"

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

# --- shmem: a memfd. MADV_PAGEOUT leaves shmem resident on the kernels
# here (6.12, 6.18), so the workload also asks its own cgroup to reclaim
# (cgroup v2 memory.reclaim, 5.19+), which reclaims its other pages too: a
# worker may then take a major fault on a library page as well, so here each
# worker's shmem majors are checked against its fault records on the memfd,
# and all its majors against its majflt.
cg=
if [ -r /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
	grep -qw memory /sys/fs/cgroup/cgroup.subtree_control ||
		echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
	cg=/sys/fs/cgroup/pfw-swap-$$
	if mkdir "$cg" 2>/dev/null && [ -w "$cg/memory.reclaim" ]; then
		trap 'rmdir "$cg" 2>/dev/null; swap_cleanup' EXIT
	else
		rmdir "$cg" 2>/dev/null
		cg=
	fi
fi
if [ -n "$cg" ]; then
	# shellcheck disable=SC2016
	set -- sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$PFWATCH_WORKLOAD" \
		--reclaim="$cg/memory.reclaim"
else
	set -- "$PFWATCH_WORKLOAD"
fi
# shellcheck disable=SC2086
pfw_trace --faults=all -f json -o "$pfw_tmp/s.json" -- "$@" --memory=shmem $wl_args --json \
	>"$pfw_tmp/ws.json" 2>"$pfw_tmp/err"
st=$?
if grep -q 'stay in memory' "$pfw_tmp/err"; then
	for d in "pfwatch exits 0" "every worker's majors" "every worker's shmem majors" \
		"memfd row: backing shmem" "memfd row: refaults"; do
		skip "shmem: $d" "MADV_PAGEOUT leaves shmem resident on $(uname -r) and no cgroup v2 memory.reclaim to use instead"
	done
else
	check $st "shmem: pfwatch exits 0" "exit $st" "$(diag_file "$pfw_tmp/err")"
	mf=$(hexof "/memfd:pfwatch-workload (deleted)")
	"$JSONCHECK" get "$pfw_tmp/s.json" thread tid major major_shmem >"$pfw_tmp/threads"
	"$JSONCHECK" get "$pfw_tmp/s.json" fault tid kind x:path backing >"$pfw_tmp/faults"
	bad=
	bads=
	total=0
	for t in $(tr '{' '\n' <"$pfw_tmp/ws.json" | sed -n 's/^"tid":\([0-9]*\),.*"thread_majflt":\([0-9]*\).*/\1:\2/p'); do
		tid=${t%:*}
		maj=${t#*:}
		row=$(awk -F'\t' -v t="$tid" '$1 == t {print $2 " " $3}' "$pfw_tmp/threads")
		# the memfd's major faults, all shmem; other shmem ones are possible too
		# (a guest's root file system is tmpfs: its libraries are shmem)
		set -- $(awk -F'\t' -v t="$tid" -v p="$mf" '$1 == t && $2 == "major" {
			if ($3 == p) { m++; if ($4 != "shmem") o++ }
			if ($4 == "shmem") s++ } END { print m + 0, o + 0, s + 0 }' "$pfw_tmp/faults")
		total=$((total + $1))
		[ "$1" -gt 0 ] || bads="$bads tid $tid had no major fault on the memfd;"
		[ "$2" = 0 ] || bads="$bads tid $tid: $2 major faults on the memfd not shmem;"
		[ "${row%% *}" = "$maj" ] || bad="$bad tid $tid: $row majors, its majflt $maj;"
		[ "${row#* }" = "$3" ] || bads="$bads tid $tid: shmem majors ${row#* }, $3 shmem records;"
	done
	is_eq "shmem: every worker's majors = its majflt" "$bad" ""
	is_eq "shmem: every worker's shmem majors = its shmem fault records, the memfd's all shmem" \
		"$bads" ""
	row=$("$JSONCHECK" get "$pfw_tmp/s.json" file x:path backing major refaults | grep "^$mf	" | cut -f2-)
	is_eq "shmem: memfd row: backing shmem, the workers' swap-ins" "$(echo "$row" | cut -f1,2)" \
		"shmem	$total"
	# the workload counts a swap-in of a page touched in an earlier round as it
	# sees it (mincore before the touch); that holds when it saw every one
	seen=$(sed -n 's/.*"swapins":\([0-9]*\),"swapin_refaults":\([0-9]*\),.*/\1 \2/p' "$pfw_tmp/ws.json")
	if [ "${seen%% *}" = "$total" ]; then
		is_num_eq "shmem: memfd row: refaults = the workload's swap-ins of pages touched before" \
			"$(echo "$row" | cut -f3)" "${seen#* }"
	else
		skip "shmem: memfd row: refaults" \
			"swap readahead raced the workload's mincore ($seen seen, $total swap-ins)"
	fi
fi

leak_check
done_testing
