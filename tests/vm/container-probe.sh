#!/bin/sh
# Run inside a container by lane-containers.sh (busybox sh is enough): what
# pfwatch says it can do there, then pfwatch -- pfwatch-workload once per
# backend (auto first). Everything lands in OUT for the host to judge.
#
#   container-probe.sh PFWATCH PFWATCH_WORKLOAD DATA_FILE OUT
set -u
pw=$1 wl=$2 data=$3 out=$4
cd "$(dirname "$data")" || exit 1
"$pw" --list-backends --format=json >"$out/list.json" 2>"$out/list.err"
echo $? >"$out/list.rc"
for b in auto bpf perf ftrace; do
	# ftrace names a file from /proc/PID/maps at its next read (tracefs has
	# no mmap event): the workload stays, mapped, for it
	linger=0
	[ $b = ftrace ] && linger=2000
	"$pw" --backend=$b -f json -o "$out/$b.json" -- \
		"$wl" --exact --size=8M --accesses=300 --file="$data" --json --linger=$linger \
		>"$out/$b.wl" 2>"$out/$b.err"
	echo $? >"$out/$b.rc"
done
