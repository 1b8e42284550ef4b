#!/bin/sh
# --view=summary: the bpf backend aggregates in the kernel (per thread, per
# file with distinct pages, log2 latency) instead of streaming; the rows must
# equal the workload's majflt and the streamed counts, and the perf backend must give
# the same per-file count for the same workload.
. "${top_srcdir:-.}/tests/bpf/lib-bpf.sh"

pfw_setup
require_backend
plan 12
diag "bpf attach mode: $pfw_attach"

pages=1024

bpf_run_exact sum.json $pages --view=summary
check $? "pfwatch -b bpf --view=summary runs the workload" "$(cat "$pfw_tmp/wl.err")"
expected=$(wl_num expected)
hp=$(hexof "$pfw_tmp/w.dat")

"$JSONCHECK" get "$pfw_tmp/sum.json" file x:path major pages latency_total_ns >"$pfw_tmp/files"
row=$(awk -F'\t' -v p="$hp" '$1 == p' "$pfw_tmp/files")
is_eq "file row: majors = expected ($expected)" "$(echo "$row" | cut -f2)" "$expected"
is_eq "file row: distinct pages = pages touched" "$(echo "$row" | cut -f3)" "$pages"
lat=$(echo "$row" | cut -f4)
[ "${lat:-null}" != null ] && [ "$lat" -gt 0 ]
check $? "file row: latency measured in the kernel (total ${lat} ns)"

"$JSONCHECK" get "$pfw_tmp/sum.json" thread tid major latency_total_ns >"$pfw_tmp/threads"
bad=$(thread_rows_bad "$pfw_tmp/threads")
[ -z "$bad" ]
check $? "thread rows: majors = pages each thread touched" "$bad"

# the run's totals hold reap's faults beside the workload's
"$JSONCHECK" get "$pfw_tmp/sum.json" thread pid major >"$pfw_tmp/tpids"
is_eq "run record: majors (totals) = majflt of the workload and reap; the workload's rows = its majflt" \
	"$(json_last "$pfw_tmp/sum.json" run major) $(awk -F'\t' -v p="$(wl_num pid)" \
		'$1 == p {w += $2} END {print w + 0}' "$pfw_tmp/tpids")" \
	"$(reap_total "$pfw_tmp/reap") $(wl_majflt)"

# streaming the same workload gives the same count
bpf_run_exact ev.json $pages
streamed=$("$JSONCHECK" get "$pfw_tmp/ev.json" fault kind x:path |
	awk -F'\t' -v p="$hp" '$1 == "major" && $2 == p' | wc -l)
is_eq "summary (in-kernel) = events (streamed) per-file majors" "$streamed" "$(echo "$row" | cut -f2)"

# Rows of exited threads leave the kernel map (bounded memory over days of
# churn) and must still be counted: the workload exits while the command
# sleeps on, and the pruning interval is cut to 20 ms.
if [ "$pfw_attach" = kprobe-nobtf ]; then
	for t in "pruning run exits 0" "exited threads' rows moved out of the kernel" \
		"moved rows: majors = pages each thread touched"; do
		skip "$t" "kprobe-nobtf streams: no in-kernel rows to move"
	done
else
rm -f "$pfw_tmp/w.dat"
PFW_BPF_PRUNE_MS=20 pfw_trace -v --view=summary -F all -f json -o "$pfw_tmp/pr.json" -- \
	sh -c '"$@" >"$0"; sleep 1' "$pfw_tmp/wl.json" \
	"$PFWATCH_WORKLOAD" --file="$pfw_tmp/w.dat" --size=$((pages * 4))K \
	--threads=2 --exact --keep --json 2>"$pfw_tmp/pr.err"
check $? "pruning run exits 0" "$(tail -n 3 "$pfw_tmp/pr.err")"
moved=$(sed -n 's/.* \([0-9]*\) rows of exited threads moved out of the kernel.*/\1/p' "$pfw_tmp/pr.err")
[ "${moved:-0}" -ge 2 ]
check $? "exited threads' rows moved out of the kernel (${moved:-none})"
"$JSONCHECK" get "$pfw_tmp/pr.json" thread tid major >"$pfw_tmp/threads"
bad=$(thread_rows_bad "$pfw_tmp/threads")
[ -z "$bad" ]
check $? "moved rows: majors = pages each thread touched" "$bad"
fi

# cross-check with perf: the same per-file count
if "$PFWATCH" --list-backends --format=json 2>/dev/null | grep '"backend":"perf"' | grep -q '"available":true'; then
	rm -f "$pfw_tmp/w.dat"
	pfw_run --backend=perf --view=summary -F all -f json -o "$pfw_tmp/perf.json" -- \
		"$PFWATCH_WORKLOAD" --file="$pfw_tmp/w.dat" --size=$((pages * 4))K \
		--threads=2 --exact --keep --json >/dev/null 2>&1
	perf_maj=$("$JSONCHECK" get "$pfw_tmp/perf.json" file x:path major |
		awk -F'\t' -v p="$hp" '$1 == p {print $2}')
	is_eq "bpf and perf agree on the file's majors" "$(echo "$row" | cut -f2)" "$perf_maj"
else
	skip "bpf and perf agree on the file's majors" "perf backend unavailable"
fi
leak_check
done_testing
