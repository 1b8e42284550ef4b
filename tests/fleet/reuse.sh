#!/bin/sh
# Inode reuse: files created, faulted and removed one after the other get
# the same inode number again (ext4 hands a freed inode out at once), but a
# new i_generation. The exporter must give each file its own exact count
# under its own name: file i takes exactly i major faults. Counted in the
# kernel (bpf), rows keyed by (dev, ino) alone would merge them all under
# one name; streamed (perf), each fault is named when it is read.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/fleet/lib-fleet.sh"

fleet_setup
K=8

set -- $fleet_b
plan $(($# * (K + 2)))

for b in "$@"; do
	dir=$pfw_tmp/reuse-$b
	mkdir -p "$dir"
	prom=$dir/pfwatch.prom
	fleet_pfwatch --backend="$b" --metrics-file="$prom" --interval=0.2 --top-files=$((K + 4))
	pf=$fleet_pid
	sleep 1
	inodes=
	i=1
	while [ "$i" -le "$K" ]; do
		# exactly i pages, each one major fault (--exact: evicted, MADV_RANDOM)
		"$PFWATCH_WORKLOAD" --file="$dir/f$i" --size=$((i * 4))K --pattern=seq --exact \
			--keep >/dev/null 2>&1
		inodes="$inodes $(stat -c %i "$dir/f$i" 2>/dev/null)"
		rm -f "$dir/f$i"
		i=$((i + 1))
	done
	distinct=$(printf '%s\n' $inodes | sort -u | wc -l)
	diag "$b: $K files, inode numbers:$inodes ($distinct distinct)"
	if [ "$distinct" -lt "$K" ]; then
		ok "$b: the filesystem reused inode numbers ($distinct distinct for $K files)"
	else
		skip "$b: the filesystem reused inode numbers" "$(df -T "$dir" | awk 'NR == 2 { print $2 }') gave $K distinct inode numbers"
	fi
	i=1
	while [ "$i" -le "$K" ]; do
		got=$(fleet_wait_sample "$prom" pfwatch_file_faults_total "file=\"$dir/f$i\",kind=\"major\"" "$i" 50)
		is_num_eq "$b: file $i of $K (same inode number, new generation) has exactly $i major faults" "$got" "$i"
		i=$((i + 1))
	done
	fleet_stop "$pf"
	check $? "$b: pfwatch exits 0 on SIGTERM" "$(cat "$pfw_tmp/pfwatch.err")"
done

done_testing
