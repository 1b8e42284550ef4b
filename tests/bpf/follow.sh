#!/bin/sh
# COMMAND targets follow everything the command forks, also a grandchild
# whose parent exits at once (the double fork of "(cmd &)"), and nothing
# else: a workload started beside pfwatch is not counted.
. "${top_srcdir:-.}/tests/bpf/lib-bpf.sh"

pfw_setup
require_backend
plan 4

W=$PFWATCH_WORKLOAD
d=$pfw_tmp
# an outsider faulting at the same time must not be counted
"$W" --file="$d/out.dat" --size=4M --exact --keep --delay=200 >/dev/null 2>&1 &
outsider=$!
pfw_trace --view=summary -f json -o "$d/sum.json" -- sh -c "
	'$W' --file='$d/child.dat' --size=1M --exact --keep >/dev/null 2>&1
	( sh -c \"'$W' --file='$d/grand.dat' --size=2M --exact --keep >/dev/null 2>&1; echo done >'$d/grand.done'\" & )
	i=0; while [ ! -e '$d/grand.done' ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i + 1)); done"
check $? "pfwatch runs a command that double-forks"
kill "$outsider" 2>/dev/null
wait "$outsider" 2>/dev/null

"$JSONCHECK" get "$d/sum.json" file x:path major >"$d/files"
maj() { awk -F'\t' -v p="$(hexof "$1")" '$1 == p {print $2}' "$d/files"; }
is_eq "the command's child: 256 majors" "$(maj "$d/child.dat")" 256
is_eq "the double-forked grandchild: 512 majors" "$(maj "$d/grand.dat")" 512
is_eq "a process outside the tree: not counted" "$(maj "$d/out.dat")" ""
done_testing
