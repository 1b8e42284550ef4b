#!/bin/sh
# bpf streaming (events view): per-file and per-thread major counts equal
# the kernel's majflt for the same run, every major fault has a latency,
# file offsets are the pages touched, nothing is lost.
. "${top_srcdir:-.}/tests/bpf/lib-bpf.sh"

pfw_setup
require_backend
plan 10
diag "bpf attach mode: $pfw_attach"

pages=1024
bpf_run_exact ev.json $pages
check $? "pfwatch -b bpf ($pfw_attach) runs the workload" "$(cat "$pfw_tmp/wl.err")"
expected=$(wl_num expected)
majflt=$(wl_majflt)
pid=$(wl_num pid)
# the process may take a major of its own beside the file's (a text page
# of the workload read back in, evicted by another test, or a retried fault
# on a page another process held locked): the touch phase is what must be
# exact, and the process's total to its exit is checked against pfwatch
is_eq "workload: $pages pages touched = $pages majors in the touch phase" "$(wl_num touch_majflt)" "$pages"

"$JSONCHECK" get "$pfw_tmp/ev.json" fault pid tid kind x:path latency_ns offset >"$pfw_tmp/f.tsv"
hp=$(hexof "$pfw_tmp/w.dat")
file_maj=$(awk -F'\t' -v p="$hp" '$3 == "major" && $4 == p' "$pfw_tmp/f.tsv" | wc -l)
is_eq "per file: majors on the data file = expected ($expected)" "$file_maj" "$expected"
proc_maj=$(awk -F'\t' -v pid="$pid" '$1 == pid && $3 == "major"' "$pfw_tmp/f.tsv" | wc -l)
is_eq "per process: majors = the workload's majflt to its exit" "$proc_maj" "$majflt"

bad=
for line in $(wl_tids | tr ' ' ':'); do
	tid=${line%%:*}
	want=${line#*:}
	got=$(awk -F'\t' -v t="$tid" -v p="$hp" '$2 == t && $3 == "major" && $4 == p' "$pfw_tmp/f.tsv" | wc -l)
	[ "$got" = "$want" ] || bad="$bad tid $tid: $got majors, touched $want;"
done
[ -n "$(wl_tids)" ] || bad="no tids in the workload summary"
[ -z "$bad" ]
check $? "per thread: majors on the file = pages the thread touched" "$bad"

# latency: present on every major, positive, below 10 s; median in [1 us, 1 s]
awk -F'\t' -v p="$hp" '$3 == "major" && $4 == p {print $5}' "$pfw_tmp/f.tsv" >"$pfw_tmp/lat"
nolat=$(grep -c -v '^[0-9][0-9]*$' "$pfw_tmp/lat")
median=$(grep '^[0-9]' "$pfw_tmp/lat" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)] + 0}')
max=$(grep '^[0-9]' "$pfw_tmp/lat" | sort -n | tail -n 1)
diag "major latency: median ${median} ns, max ${max} ns over $(wc -l <"$pfw_tmp/lat") faults"
[ "$nolat" = 0 ] && [ "$median" -ge 1000 ] && [ "$median" -le 1000000000 ] &&
	[ "${max:-0}" -lt 10000000000 ] && ! grep -qx 0 "$pfw_tmp/lat"
check $? "latency on every major fault, sane (median ${median} ns)" "$nolat without latency"

"$JSONCHECK" faults "$pfw_tmp/ev.json" "$hp" $((pages * 4096)) 2>"$pfw_tmp/jc.err"
check $? "file offsets page aligned, inside the file, addr - offset constant" "$(cat "$pfw_tmp/jc.err")"
offs=$(awk -F'\t' -v p="$hp" '$3 == "major" && $4 == p {print $6}' "$pfw_tmp/f.tsv" | sort -u | wc -l)
is_eq "distinct file offsets faulted = pages" "$offs" "$pages"
is_eq "run record: nothing lost" "$(json_last "$pfw_tmp/ev.json" run lost)" 0
leak_check

done_testing
