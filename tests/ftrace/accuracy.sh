#!/bin/sh
# ftrace backend accuracy against the kernel's own majflt (getrusage of the
# workload). graph mode (the VM lanes): exact, with a latency on every major.
# events mode (this host's kernel, no function_graph, no kprobes): majors
# are inferred from page-cache insertion; measured exact on 6.18 for every
# workload below, the stated tolerance is max(2, 1%) for runs with
# readahead or a warm cache and 0 for --exact (MADV_RANDOM) runs.
. "${0%/*}/../integration/lib.sh"

PFW_BACKEND=ftrace
pfw_backend=ftrace
: "${PFW_FTRACE_ATTACH:=events}"
pfw_setup
require_backend

# name:tolerance:workload args
cases="
exact-stride:0:--exact --size=32M --pattern=stride
exact-random-4thr:0:--exact --size=32M --pattern=random --threads=4
readahead-seq:tol:--size=32M --pattern=seq
readahead-random:tol:--size=32M --pattern=random --threads=2
readahead-mixed:tol:--size=32M --pattern=mixed --threads=2
cached-random:tol:--size=32M --pattern=random --no-evict
"
plan 22

within() { # got want tol
	_d=$(($1 - $2))
	[ "$_d" -lt 0 ] && _d=$((-_d))
	_t=$3
	if [ "$_t" = tol ]; then
		_t=$(($2 / 100))
		[ "$_t" -lt 2 ] && _t=2
	fi
	[ "$_d" -le "$_t" ]
}

data=$pfw_tmp/data.dat
"$PFWATCH_WORKLOAD" --file="$data" --size=32M --keep --no-evict --accesses=1 2>/dev/null ||
	bail "cannot create $data"
echo "$cases" | while IFS=: read -r name tol args; do
	[ -n "$name" ] || continue
	# shellcheck disable=SC2086
	pfw_trace --format=json --view=summary -o "$pfw_tmp/out.json" -- \
		"$PFWATCH_WORKLOAD" $args --file="$data" --keep --json >"$pfw_tmp/wl.json" 2>"$pfw_tmp/err"
	st=$?
	check $st "$name: pfwatch exits 0" "exit status $st" "$(cat "$pfw_tmp/err")"
	majflt=$(sed -n 's/.*"majflt":\([0-9]*\).*/\1/p' "$pfw_tmp/wl.json")
	major=$(json_last "$pfw_tmp/out.json" run major)
	lost=$(json_last "$pfw_tmp/out.json" run lost)
	attach=$(json_last "$pfw_tmp/out.json" run attach)
	shown=$tol
	[ "$tol" = tol ] && shown="max(2, 1%)"
	diag "$name ($attach): majflt $majflt, pfwatch major $major, lost $lost, tolerance $shown"
	if [ -n "$majflt" ] && [ -n "$major" ] && within "$major" "$majflt" "$tol"; then
		ok "$name: run major $major vs majflt $majflt within tolerance $shown"
	else
		not_ok "$name: run major vs majflt within tolerance $shown" "major '$major' majflt '$majflt'"
	fi
	case "$attach" in
	graph)
		# every file with majors has a latency (a warm cache's one major
		# may be the workload's own binary, not the data file)
		rows=$("$JSONCHECK" get "$pfw_tmp/out.json" file major latency_max_ns)
		bad=$(printf '%s\n' "$rows" | awk -F'\t' '$1 > 0 && !($2 > 0)')
		lat=$(printf '%s\n' "$rows" | awk -F'\t' '$1 > 0 && $2 > m { m = $2 } END { print m + 0 }')
		if [ "$majflt" -gt 0 ] && { [ -n "$bad" ] || [ "$lat" -le 0 ]; }; then
			not_ok "$name: graph mode measures latency" "file major/latency_max_ns: $rows"
		else
			ok "$name: graph mode measures latency ($lat ns max)"
		fi
		# MADV_RANDOM: every major is a data-file page, and names it
		if [ "$tol" = 0 ]; then
			fmaj=$("$JSONCHECK" get "$pfw_tmp/out.json" file path major |
				awk -F'\t' -v f="$data" '$1 == f { s += $2 } END { print s + 0 }')
			if [ "$fmaj" = "$majflt" ]; then
				ok "$name: all $fmaj majors name $data"
			else
				not_ok "$name: all majors name the data file" "$fmaj of $majflt; rows: $("$JSONCHECK" get "$pfw_tmp/out.json" file path major)"
			fi
		fi
		;;
	"events (approximate)")
		ok "$name: events mode is labelled approximate"
		[ "$tol" = 0 ] && skip "$name: all majors name the data file" "graph mode only"
		;;
	*) not_ok "$name: attach mode is graph or events (approximate)" "attach '$attach'" ;;
	esac
done >"$pfw_tmp/tap"
cat "$pfw_tmp/tap"
_tap_n=$(grep -c '^\(not \)\?ok ' "$pfw_tmp/tap")
_tap_failed=$(grep -c '^not ok ' "$pfw_tmp/tap")
rm -f "$data"
json=$("$PFWATCH" --list-backends --format=json --ftrace-attach="$PFW_FTRACE_ATTACH" | grep '"backend":"ftrace"')
case "$PFW_FTRACE_ATTACH:$json" in
events:*'"attach":"events (approximate)"'* | graph:*'"attach":"graph"'*) ok "--list-backends shows the attach mode in use" ;;
*) not_ok "--list-backends shows the attach mode in use" "$json" ;;
esac
leak_check
done_testing
