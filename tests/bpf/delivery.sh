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
all=$("$JSONCHECK" get "$pfw_tmp/pb.json" fault kind | grep -c '^major$')
# the file's majors are the pages touched; the run's (a text page read back
# in beside them) are the majflt of the workload and reap
is_eq "perf-buffer fallback: majors on the file = the pages touched, all majors = the run's majflt" \
	"$got $all" "$(wl_num touch_majflt) $(reap_total "$pfw_tmp/reap")"

PFW_BPF_RINGBUF_KB=4 bpf_run_exact small.json 4096
check $? "4 KiB ring buffer: pfwatch runs the workload"
got=$("$JSONCHECK" get "$pfw_tmp/small.json" fault kind | grep -c '^major$')
lost=$(json_last "$pfw_tmp/small.json" run lost)
faults=$(json_last "$pfw_tmp/small.json" run faults)
want=$(reap_total "$pfw_tmp/reap")
diag "4 KiB ring buffer: $got of $want majors delivered, run: faults $faults lost $lost"
if [ "${lost:-0}" -gt 0 ]; then
	ok "4 KiB ring buffer: drops happen and are reported ($lost lost)"
else
	skip "4 KiB ring buffer: drops are reported" "pfwatch kept up with the fault rate, nothing dropped"
fi
[ "$got" -le "$want" ] && [ $((got + lost)) -ge "$want" ]
check $? "delivered majors + lost >= the run's majflt, delivered <= majflt"
done_testing
