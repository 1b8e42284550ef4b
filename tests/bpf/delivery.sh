#!/bin/sh
# Delivery: the perf-buffer fallback (forced with PFW_BPF_NO_RINGBUF=1) is
# as exact as the ring buffer; a ring buffer too small for the fault rate
# (PFW_BPF_RINGBUF_KB=4) drops records, and every drop is counted in "lost".
. "${top_srcdir:-.}/tests/bpf/lib-bpf.sh"

pfw_setup
require_backend
plan 5

PFW_BPF_NO_RINGBUF=1 bpf_run_exact pb.json 1024
check $? "perf-buffer fallback: pfwatch runs the workload"
hp=$(hexof "$pfw_tmp/w.dat")
got=$("$JSONCHECK" get "$pfw_tmp/pb.json" fault kind x:path | awk -F'\t' -v p="$hp" '$1 == "major" && $2 == p' | wc -l)
all=$("$JSONCHECK" get "$pfw_tmp/pb.json" fault kind pid |
	awk -F'\t' -v w="$(wl_num pid)" '$1 == "major" && $2 == w' | wc -l)
# the file's majors are the pages touched; the process's (a text page read
# back in beside them) are its majflt to its exit
is_eq "perf-buffer fallback: majors on the file = the pages touched, the workload's = its majflt" \
	"$got $all" "$(wl_num touch_majflt) $(wl_majflt)"

PFW_BPF_RINGBUF_KB=4 bpf_run_exact small.json 4096
check $? "4 KiB ring buffer: pfwatch runs the workload"
got=$("$JSONCHECK" get "$pfw_tmp/small.json" fault kind pid |
	awk -F'\t' -v w="$(wl_num pid)" '$1 == "major" && $2 == w' | wc -l)
lost=$(json_last "$pfw_tmp/small.json" run lost)
faults=$(json_last "$pfw_tmp/small.json" run faults)
want=$(wl_majflt)
diag "4 KiB ring buffer: $got of $want majors delivered, run: faults $faults lost $lost"
if [ "${lost:-0}" -gt 0 ]; then
	ok "4 KiB ring buffer: drops happen and are reported ($lost lost)"
else
	skip "4 KiB ring buffer: drops are reported" "pfwatch kept up with the fault rate, nothing dropped"
fi
[ "$got" -le "$want" ] && [ $((got + lost)) -ge "$want" ]
check $? "the workload's delivered majors + lost >= its majflt, delivered <= majflt"
done_testing
