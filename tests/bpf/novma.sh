#!/bin/sh
# tp mode, a fault whose vma bpf_find_vma() could not look up (mmap_lock
# contended: -EBUSY) has no file identity from the kernel. User space places
# it among the mappings as they were made (the MMAP2 records, timestamped on
# the clock of the fault) -- not by /proc/PID/maps when it reads the fault,
# after its thread, or a sibling, may have unmapped the file and mapped
# another one at the same address. The contention is the kernel's to give;
# PFW_BPF_NOVMA_EVERY=2 takes that path for every other page, so every
# count and offset below is exact on any kernel with tp.
. "${top_srcdir:-.}/tests/bpf/lib-bpf.sh"

pfw_setup
require_backend
[ "$pfw_attach" = tp ] || skip_all "the EBUSY path is tp's (attach mode here: $pfw_attach)"
plan 10

PFW_BPF_NOVMA_EVERY=2
export PFW_BPF_NOVMA_EVERY

# events: the exact workload, two threads
pages=1024
bpf_run_exact ev.json $pages
check $? "events: pfwatch runs the workload" "$(cat "$pfw_tmp/wl.err")"
expected=$(wl_num expected)
hp=$(hexof "$pfw_tmp/w.dat")
"$JSONCHECK" get "$pfw_tmp/ev.json" fault kind x:path offset >"$pfw_tmp/f.tsv"
is_eq "events: majors on the data file = expected, also the half placed by MMAP2" \
	"$(awk -F'\t' -v p="$hp" '$1 == "major" && $2 == p' "$pfw_tmp/f.tsv" | wc -l)" "$expected"
"$JSONCHECK" faults "$pfw_tmp/ev.json" "$hp" $((pages * 4096)) 2>"$pfw_tmp/jc.err"
check $? "events: offsets page aligned, inside the file, addr - offset constant" \
	"$(cat "$pfw_tmp/jc.err")"
is_eq "events: distinct offsets = pages" \
	"$(awk -F'\t' -v p="$hp" '$1 == "major" && $2 == p {print $3}' "$pfw_tmp/f.tsv" | sort -u | wc -l)" \
	"$pages"

# the faulter: six threads in two processes map, fault and unmap their own
# files side by side, so a freed address range is soon another file's
d=$pfw_tmp/data
mkdir "$d"
pfw_trace -f csv -o "$pfw_tmp/out.csv" -- "$FAULTER" "$d" "$pfw_tmp/res" >/dev/null 2>"$pfw_tmp/err"
check $? "faulter: pfwatch runs it, its own counts exact" "$(diag_file "$pfw_tmp/err")"
"$JSONCHECK" csvget "$pfw_tmp/out.csv" x:path >"$pfw_tmp/paths" 2>"$pfw_tmp/jerr" ||
	diag "$(cat "$pfw_tmp/jerr")"
bad=
while read -r kind pid tid pages size hp; do
	[ "$kind" = file ] || continue
	got=$(grep -cx "$hp" "$pfw_tmp/paths")
	[ "$got" = "$pages" ] || bad="$bad $("$JSONCHECK" cescape "$hp"): $got of $pages;"
done <"$pfw_tmp/res"
[ -z "$bad" ]
check $? "faulter: every file's fault records = the pages its thread touched" "$bad"

# summary: counting in the kernel, such a fault is streamed and joins the rows
rm -rf "$d"
mkdir "$d"
pfw_trace --view=summary -f json -o "$pfw_tmp/sum.json" -- "$FAULTER" "$d" "$pfw_tmp/res2" \
	>/dev/null 2>"$pfw_tmp/err2"
check $? "summary: pfwatch runs the faulter" "$(diag_file "$pfw_tmp/err2")"
"$JSONCHECK" get "$pfw_tmp/sum.json" file x:path major pages >"$pfw_tmp/files"
bad=
while read -r kind pid tid pages size hp; do
	[ "$kind" = file ] || continue
	got=$(awk -F'\t' -v p="$hp" '$1 == p {print $2 "/" $3}' "$pfw_tmp/files")
	[ "$got" = "$pages/$pages" ] || bad="$bad $("$JSONCHECK" cescape "$hp"): major/pages $got, want $pages;"
done <"$pfw_tmp/res2"
[ -z "$bad" ]
check $? "summary: one row per file, major = pages = the pages touched" "$bad"
is_eq "summary: run record: nothing lost" "$(json_last "$pfw_tmp/sum.json" run lost)" 0
leak_check

done_testing
