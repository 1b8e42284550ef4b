#!/bin/sh
# The minor-fault storm's ratios (issue 13) inside a VM guest, where the
# bpf fentry and kprobe modes run (this machine's kernel has neither):
# pfw-storm untraced and under each tracer configuration, alternated, the
# faulting phase's wall time over the same repetition's untraced run,
# medians. Under TCG every time is slow; the ratios still rank. busybox sh.
#
#   guest-ratios.sh OUT.md   (PFWATCH, PFW_STORM, PERF, PFW_BENCH_REPS, PFW_BENCH_SIZE,
#                             PFW_BENCH_MODES, PFWATCH_BASE)
#
# PFW_BENCH_MODES: the attach modes to run (default: fentry kprobe tp).
# PFWATCH_BASE: another pfwatch (the baseline of an A/B); each of its
# configurations runs as NAME+base beside NAME, alternated in every
# repetition, so a change is read as two ratios of one run.
set -u
out=${1:?usage: guest-ratios.sh OUT.md}
reps=${PFW_BENCH_REPS:-5}
size=${PFW_BENCH_SIZE:-64M}
pw=${PFWATCH:?}
base=${PFWATCH_BASE:-}
storm=${PFW_STORM:?}
perf=${PERF:-}
tmp=${TMPDIR:-/tmp}/pfw-gb.$$
mkdir -p "$tmp"
st=$tmp/status

# a tracer is armed when it sits in poll/ppoll/epoll/nanosleep three times in a row
in_wait() { # pid
	n=$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)
	case "$n" in
	7 | 35 | 230 | 232 | 271 | 281 | 441 | 34) return 0 ;;
	esac
	return 1
}
wait_ready() { # pid
	hits=0 i=0
	while [ $i -lt 1200 ] && kill -0 "$1" 2>/dev/null; do
		if in_wait "$1"; then hits=$((hits + 1)); else hits=0; fi
		[ $hits -ge 3 ] && sleep 0.2 && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# one run: prints the storm's elapsed_ns and faults ("E F"), or "fail"
run() { # config
	rm -f "$st"
	"$storm" --threads=1 --size="$size" --rounds=2 --wait-start --status-file="$st" \
		>"$tmp/storm.json" 2>"$tmp/storm.err" &
	sp=$!
	i=0
	while ! grep -q ready "$st" 2>/dev/null && [ $i -lt 600 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	tp=
	case "$1" in
	untraced) ;;
	perf-stat)
		"$perf" stat -e minor-faults,major-faults -p "$sp" >/dev/null 2>&1 &
		tp=$!
		sleep 2
		;;
	*)
		bin=$pw
		case "$1" in *+base) bin=$base ;; esac
		mode=${1#bpf-}
		mode=${mode%%-*}
		case "$1" in
		*-default | *-default+base) extra="--faults=major --view=summary -o /dev/null" ;;
		*-all-summary | *-all-summary+base) extra="--faults=all --view=summary -o /dev/null" ;;
		*-all-events | *-all-events+base) extra="--faults=all --view=events -f json -o $tmp/events.json" ;;
		esac
		# shellcheck disable=SC2086
		"$bin" -b bpf --bpf-attach="$mode" -p "$sp" $extra 2>"$tmp/pfw.err" &
		tp=$!
		if ! wait_ready "$tp"; then
			kill "$sp" 2>/dev/null
			wait "$sp" 2>/dev/null
			echo fail
			return
		fi
		;;
	esac
	kill -USR1 "$sp"
	wait "$sp"
	if [ -n "$tp" ]; then
		# pfwatch ends with its target; perf stat -p does not
		case "$1" in perf-stat) kill -INT "$tp" 2>/dev/null ;; esac
		wait "$tp" 2>/dev/null
	fi
	e=$(sed -n 's/.*"elapsed_ns":\([0-9]*\).*/\1/p' "$tmp/storm.json")
	f=$(sed -n 's/.*"touch_minflt":\([0-9]*\).*/\1/p' "$tmp/storm.json")
	if [ -n "$e" ] && [ -n "$f" ]; then echo "$e $f"; else echo fail; fi
}

cfgs="untraced"
[ -n "$perf" ] && [ -x "$perf" ] && cfgs="$cfgs perf-stat"
unavail=
for m in ${PFW_BENCH_MODES:-fentry kprobe tp}; do
	if "$pw" --list-backends --format=json --bpf-attach=$m 2>/dev/null |
		grep '"backend":"bpf"' | grep -q '"available":true'; then
		for v in default all-summary all-events; do
			cfgs="$cfgs bpf-$m-$v"
			[ -n "$base" ] && cfgs="$cfgs bpf-$m-$v+base"
		done
	else
		unavail="$unavail $m"
	fi
done

: >"$tmp/runs"
r=0
while [ $r -lt "$reps" ]; do
	# rotate the order, so no configuration always follows the same one
	set -- $cfgs
	k=0
	while [ $k -lt $((r % $#)) ]; do
		first=$1
		shift
		set -- "$@" "$first"
		k=$((k + 1))
	done
	for c in "$@"; do
		echo "$r $c $(run "$c")" >>"$tmp/runs"
	done
	r=$((r + 1))
done

{
	echo "Guest: kernel $(uname -r), qemu TCG, 1 CPU; pfw-storm 1 thread, 2 rounds of $size;" \
		"$reps repetitions, medians of each repetition's ratio to its untraced run."
	[ -n "$unavail" ] && echo "Not available here:$unavail."
	[ -n "$base" ] && echo "NAME+base: the same configuration with the baseline pfwatch ($("$base" --version 2>/dev/null | head -n 1))."
	echo
	echo "| configuration | ratio | added wall ns/fault | runs |"
	echo "|---|---|---|---|"
	for c in $cfgs; do
		awk -v c="$c" '
			$2 == "untraced" && $3 != "fail" { ue[$1] = $3 }
			$2 == c && $3 != "fail" { e[$1] = $3; f[$1] = $4; n++ }
			END {
				m = 0
				for (r in e) if (r in ue) { q[++m] = e[r] / ue[r]; a[m] = (e[r] - ue[r]) / f[r] }
				# medians by insertion sort (busybox awk has no asort)
				for (i = 2; i <= m; i++) for (j = i; j > 1 && q[j] < q[j-1]; j--) {
					t = q[j]; q[j] = q[j-1]; q[j-1] = t }
				for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j] < a[j-1]; j--) {
					t = a[j]; a[j] = a[j-1]; a[j-1] = t }
				if (c == "untraced") { printf "| untraced | 1 | - | %d |\n", n; exit }
				if (!m) { printf "| %s | failed | - | 0 |\n", c; exit }
				mq = (m % 2) ? q[(m + 1) / 2] : (q[m / 2] + q[m / 2 + 1]) / 2
				ma = (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
				printf "| %s | %.3fx | %.0f | %d |\n", c, mq, ma, m
			}' "$tmp/runs"
	done
} >"$out"
rm -rf "$tmp"
