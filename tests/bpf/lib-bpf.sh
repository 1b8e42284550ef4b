# tests/bpf/lib-bpf.sh: what the bpf tests share on top of
# tests/integration/lib.sh. Sourced after setting PFW_BACKEND=bpf.

PFW_BACKEND=bpf
export PFW_BACKEND
. "${top_srcdir:-.}/tests/integration/lib.sh"

# run the exact workload (2 threads, disjoint slices) under pfwatch, as
# reap's child; leaves $pfw_tmp/wl.json (workload summary), $pfw_tmp/reap
# (its majflt up to its exit, see wl_majflt) and $pfw_tmp/$1 (pfwatch JSON)
bpf_run_exact() { # outfile pages pfwatch-args...
	_out=$1
	_pages=$2
	shift 2
	rm -f "$pfw_tmp/w.dat" "$pfw_tmp/reap"
	pfw_trace -F all -f json -o "$pfw_tmp/$_out" "$@" -- \
		"$REAP" "$pfw_tmp/reap" "$PFWATCH_WORKLOAD" --file="$pfw_tmp/w.dat" \
		--size=$((_pages * 4))K --threads=2 --exact --keep --json \
		>"$pfw_tmp/wl.json" 2>"$pfw_tmp/wl.err"
}

# The workload's majflt over its whole life, exit included, which is what
# pfwatch traces: its own getrusage ("majflt" in wl.json) comes before its
# exit path, which may take a major too (a library page another process
# holds locked makes the retried fault count as major). The workload's pid
# is wl_num pid.
wl_majflt() {
	reap_num "$pfw_tmp/reap" majflt
}

# a member of the workload's one-line JSON summary
wl_num() { # key
	sed -n "s/^{.*\"$1\":\([0-9]*\).*/\1/p" "$pfw_tmp/wl.json" | head -n 1
}

# "tid touched" for every workload thread
wl_tids() {
	sed -n 's/.*"tids":\[\(.*\)\].*/\1/p' "$pfw_tmp/wl.json" | tr '}' '\n' |
		sed -n 's/.*"tid":\([0-9]*\).*"touched":\([0-9]*\).*/\1 \2/p'
}

# the workload's threads whose row in FILE (tid, major per line) does not
# hold the pages the thread touched, as a list of reasons
thread_rows_bad() { # file
	for _line in $(wl_tids | tr ' ' ':'); do
		_tid=${_line%%:*}
		_want=${_line#*:}
		_got=$(awk -F'\t' -v t="$_tid" '$1 == t {print $2}' "$1")
		[ "$_got" = "$_want" ] ||
			printf ' tid %s: %s majors, touched %s;' "$_tid" "${_got:-no row}" "$_want"
	done
}
