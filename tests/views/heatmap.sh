#!/bin/sh
# Refaults and the heatmap as a new user meets them: a file larger than the
# memory a cgroup grants (memory.max, or memory.limit_in_bytes on cgroup v1)
# read in rounds, the kernel evicting what does not fit. The workload counts
# its majors and refaults as they happen (--kernel-evicts: mincore before
# each touch); the summary must name the file with exactly those, and the
# heatmap's cells must add up to them. Then the README's examples, one per
# access pattern (a scan, random reads, a hot band, thrash), each checked the
# same way; on the host the ASCII grids go to doc/heatmap-examples.txt and
# the thrash SVG to doc/images/heatmap.png in the build tree
# (PFW_UPDATE_DOC=1: the PNG to the source tree too; the README quotes the
# text).
#
# PFW_BACKEND (and the attach mode), as tests/vm/suite.sh sets them: test
# that one; unset: every backend in its default mode.
. "${top_srcdir:-.}/tests/integration/lib.sh"

pfw_setup

backends=${PFW_BACKEND:-perf bpf ftrace}
nb=0
for b in $backends; do nb=$((nb + 1)); done
# the README's examples: once, from make check's own run (the lanes set
# PFW_BACKEND and run this per mode: the memory-limited case is enough there)
examples=
nex=0
[ -z "${PFW_BACKEND:-}" ] && examples=1 nex=5
plan $((4 * nb + 1 + nex))

# --- a memory cgroup of our own, removed at exit
cg=
cg_cleanup() {
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	pfw_cleanup
}
if [ -r /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
	grep -qw memory /sys/fs/cgroup/cgroup.subtree_control ||
		echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
	cg=/sys/fs/cgroup/pfw-heatmap-$$ limit=memory.max
elif [ -d /sys/fs/cgroup/memory ]; then
	cg=/sys/fs/cgroup/memory/pfw-heatmap-$$ limit=memory.limit_in_bytes
fi
if [ -n "$cg" ] && mkdir "$cg" 2>/dev/null; then
	trap cg_cleanup EXIT
else
	cg=
fi
# The limit is 3 MiB of page cache on top of what the workload itself needs:
# a sanitized build (make check-sanitizers) needs some 4 MiB of its own where
# the plain one needs under 1 MiB, and a flat 3 MiB got it OOM-killed. Its own
# need is measured here, in the cgroup, with a 64 KiB run (memory.peak on v2
# since 5.19, memory.max_usage_in_bytes on v1; 0 where neither exists), read
# while it waits after its last touch: not after it exits, where a sanitized
# build's leak check takes memory that never coexists with the data's cache
# (measured: 15.9 MB peak at exit against 4.2 MB while it runs, so the limit
# held all 8 MiB and nothing refaulted). In the cgroup, the workload runs
# without that leak check, which would not fit under the limit (every other
# test still runs it).
# shellcheck disable=SC2016
incg='echo $$ >"$0/cgroup.procs" && ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" && export ASAN_OPTIONS && exec "$@"'
own=0
if [ -n "$cg" ]; then
	probe=$pfw_tmp/probe.dat
	rm -f "$pfw_tmp/probe.st"
	sh -c "$incg" "$cg" "$PFWATCH_WORKLOAD" \
		--file="$probe" --size=64K --accesses=16 --wait-end \
		--status-file="$pfw_tmp/probe.st" >/dev/null 2>&1 &
	pp=$!
	wait_for_line "$pfw_tmp/probe.st" done 30
	for f in memory.peak memory.max_usage_in_bytes; do
		[ -r "$cg/$f" ] && own=$(cat "$cg/$f") && break
	done
	kill -USR1 "$pp" 2>/dev/null
	wait "$pp"
	rm -f "$probe"
	case "$own" in '' | *[!0-9]*) own=0 ;; esac
	diag "the workload's own memory, measured in the cgroup: $own bytes"
	echo $((own + (3 << 20))) >"$cg/$limit" 2>/dev/null || { rmdir "$cg"; cg=; }
fi

data=$pfw_tmp/index.dat
size=8M
"$PFWATCH_WORKLOAD" --file="$data" --size=$size --keep --no-evict --accesses=1 2>/dev/null ||
	bail "cannot create $data"
hp=$(hexof "$data")
args="--exact --kernel-evicts --rounds=3 --hot=50 --size=$size --pattern=seq --file=$data --json"

for b in $backends; do
	pfw_backend=$b
	if [ -z "$cg" ]; then
		for d in "pfwatch exits 0" "summary: the file's majors and refaults" \
			"heatmap: the cells add up to them" "heatmap: refault cells drawn"; do
			skip "$b: memory limit: $d" "no memory cgroup to limit (cgroup v2 memory controller or v1 memory hierarchy)"
		done
		continue
	fi
	# shellcheck disable=SC2086
	pfw_trace --faults=all -f json -o "$pfw_tmp/rec.json" -- \
		sh -c "$incg" "$cg" "$PFWATCH_WORKLOAD" $args \
		>"$pfw_tmp/wl.json" 2>"$pfw_tmp/err"
	st=$?
	check $st "$b: memory limit: pfwatch exits 0" "exit $st" "$(diag_file "$pfw_tmp/err")"
	# the README's thrash example is the examples' backend's run
	[ "$b" = "${PFW_BACKEND:-perf}" ] && cp "$pfw_tmp/rec.json" "$pfw_tmp/thrash.json"
	want=$(sed -n 's/.*"seen_major":\([0-9]*\),"seen_refaults":\([0-9]*\),"majflt".*/\1 \2/p' "$pfw_tmp/wl.json")
	got=$("$JSONCHECK" get "$pfw_tmp/rec.json" file x:path major refaults | grep "^$hp	" |
		cut -f2- | tr '\t' ' ')
	diag "$b: with 3 MiB of page cache, 8 MiB read 3 times: majors and refaults $want"
	case "$want" in
	*" 0" | "") not_ok "$b: memory limit: summary: the file's majors and refaults" \
		"the workload saw no refault ('$want'): the limit did not bite" ;;
	*) is_eq "$b: memory limit: summary: the file's majors and refaults, as the workload saw them" \
		"$got" "$want" ;;
	esac
	"$PFWATCH" --input="$pfw_tmp/rec.json" --faults=all --view=heatmap -f csv >"$pfw_tmp/hm.csv" 2>/dev/null
	cells=$("$JSONCHECK" csvget "$pfw_tmp/hm.csv" x:path major refaults |
		awk -F'\t' -v p="$hp" '$1 == p { m += $2; r += $3 } END { print m + 0, r + 0 }')
	is_eq "$b: memory limit: heatmap: the cells add up to them" "$cells" "$want"
	"$PFWATCH" --input="$pfw_tmp/rec.json" --view=heatmap >"$pfw_tmp/hm.txt" 2>/dev/null
	grep -q '[-+xX]' "$pfw_tmp/hm.txt"
	check $? "$b: memory limit: heatmap: refault cells drawn" "$(head -n 5 "$pfw_tmp/hm.txt")"
done

if [ -n "$examples" ]; then
	# --- the README's examples: a scan, random reads, a hot band, thrash
	b=${PFW_BACKEND:-perf}
	pfw_backend=$b
	docs=${top_builddir:-.}/doc
	mkdir -p "$docs/images" 2>/dev/null
	: >"$pfw_tmp/examples.txt"
	for ex in "scan:--pattern=seq" "random:--pattern=random" \
		"hot band, read again:--pattern=random --accesses=1500 --rounds=4 --hot=20"; do
		title=${ex%%:*}
		# shellcheck disable=SC2086
		pfw_trace --faults=all -f json -o "$pfw_tmp/ex.json" -- "$PFWATCH_WORKLOAD" --exact \
			--size=8M --delay=50 ${ex#*:} --file="$data" --json >"$pfw_tmp/wl.json" 2>"$pfw_tmp/err"
		e=$(sed -n 's/.*"expected":\([0-9]*\),"expected_refaults":\([0-9]*\),.*/\1 \2/p' "$pfw_tmp/wl.json")
		"$PFWATCH" --input="$pfw_tmp/ex.json" --faults=all --view=heatmap -f csv >"$pfw_tmp/hm.csv" 2>/dev/null
		cells=$("$JSONCHECK" csvget "$pfw_tmp/hm.csv" x:path major refaults |
			awk -F'\t' -v p="$hp" '$1 == p { m += $2; r += $3 } END { print m + 0, r + 0 }')
		is_eq "$b: example '$title': heatmap cells = the workload's expected majors and refaults" \
			"$cells" "$e"
		{
			echo "\$ pfwatch --view=heatmap -- pfwatch-workload --exact --size=8M --delay=50 ${ex#*:}"
			"$PFWATCH" --input="$pfw_tmp/ex.json" --view=heatmap --ascii 2>/dev/null |
				sed "s|$pfw_tmp/|/var/tmp/demo/|g" | grep -v '^run:'
		} >>"$pfw_tmp/examples.txt"
	done
	# thrash: the memory-limited run above (the kernel evicting), its recording
	if [ -n "$cg" ] && [ -s "$pfw_tmp/thrash.json" ]; then
		{
			echo "\$ pfwatch --view=heatmap -- pfwatch-workload $args  # in a cgroup: 3 MiB over its own memory" |
				sed "s|$pfw_tmp/|/var/tmp/demo/|g"
			"$PFWATCH" --input="$pfw_tmp/thrash.json" --view=heatmap --ascii 2>/dev/null |
				sed "s|$pfw_tmp/|/var/tmp/demo/|g" | grep -v '^run:'
		} >>"$pfw_tmp/examples.txt"
		"$PFWATCH" --input="$pfw_tmp/thrash.json" --view=heatmap --svg="$pfw_tmp/thrash.svg" >/dev/null 2>&1
		check $? "$b: example 'thrash': the memory-limited run's heatmap as SVG"
	else
		skip "$b: example 'thrash': the memory-limited run's heatmap as SVG" "no memory cgroup"
	fi
	cp "$pfw_tmp/examples.txt" "$docs/heatmap-examples.txt" 2>/dev/null
	if command -v rsvg-convert >/dev/null 2>&1 && [ -s "$pfw_tmp/thrash.svg" ]; then
		sed "s|$pfw_tmp/|/var/tmp/demo/|g" "$pfw_tmp/thrash.svg" >"$docs/images/heatmap.svg" &&
			rsvg-convert -o "$docs/images/heatmap.png" "$docs/images/heatmap.svg"
		check $? "$b: the thrash heatmap renders (rsvg-convert) for the README"
		if [ "${PFW_UPDATE_DOC:-0}" = 1 ] && [ -n "${top_srcdir:-}" ]; then
			cp "$docs/images/heatmap.png" "$top_srcdir/doc/images/heatmap.png"
		fi
	else
		skip "$b: the thrash heatmap renders (rsvg-convert) for the README" \
			"rsvg-convert not installed (librsvg2-bin) or no SVG written"
	fi
fi
leak_check
done_testing
