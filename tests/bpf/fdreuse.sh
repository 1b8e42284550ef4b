#!/bin/sh
# A mapping whose file descriptor is closed and reused at once (ld.so does
# open, mmap, close for every library): its faults are the mapped file's,
# never the file that took the descriptor number. kprobe-nobtf names
# mappings in user space, from the fd while fd_install() has not reused its
# number since the mmap, else from the mapping itself; the other modes read
# the file from the vma. 20 rounds, 16 pages each.
. "${top_srcdir:-.}/tests/bpf/lib-bpf.sh"

pfw_setup
require_backend
plan 4
diag "bpf attach mode: $pfw_attach"

rounds=20 pages=16
d=$pfw_tmp/data
mkdir "$d"
pfw_trace -f json -o "$pfw_tmp/ev.json" -- "$pfw_testbin/fdreuse" "$d" $rounds $pages \
	>/dev/null 2>"$pfw_tmp/err"
check $? "pfwatch runs fdreuse; its majflt is $pages in every round" "$(diag_file "$pfw_tmp/err")"
"$JSONCHECK" get "$pfw_tmp/ev.json" fault kind x:path >"$pfw_tmp/f.tsv"
bad= over=
r=0
while [ $r -lt $rounds ]; do
	got=$(awk -F'\t' -v p="$(hexof "$d/a.$r.dat")" '$1 == "major" && $2 == p' "$pfw_tmp/f.tsv" | wc -l)
	[ "$got" -eq $pages ] || bad="$bad a.$r.dat: $got;"
	[ "$got" -le $pages ] || over="$over a.$r.dat: $got;"
	r=$((r + 1))
done
if [ "$pfw_attach" = kprobe-nobtf ]; then
	# unnamed faults are the only shortfall allowed
	unk=$(awk -F'\t' -v p="$(hexof "[unknown]")" '$1 == "major" && ($2 == p || $2 == "")' "$pfw_tmp/f.tsv" | wc -l)
	named=$(awk -F'\t' -v p="$(hexof "$d/a.")" '$1 == "major" && index($2, p) == 1' "$pfw_tmp/f.tsv" | wc -l)
	diag "kprobe-nobtf: $named of $((rounds * pages)) faults named, $unk unnamed; short rounds:$bad"
	[ $((named + unk)) -eq $((rounds * pages)) ] && [ -z "$over" ]
	check $? "every fault on its mapped file or unnamed ($named named, $unk unnamed)" \
		"$bad" "named after another round's file:$over"
else
	[ -z "$bad" ]
	check $? "every mapped file: $pages major faults" "$bad"
fi
wrong=0
r=0
while [ $r -lt $rounds ]; do
	n=$(awk -F'\t' -v p="$(hexof "$d/b.$r.dat")" '$2 == p' "$pfw_tmp/f.tsv" | wc -l)
	wrong=$((wrong + n))
	r=$((r + 1))
done
is_eq "no fault named after the file that took the descriptor" "$wrong" 0
leak_check
done_testing
