#!/bin/sh
# What pfwatch's BPF programs cost per fault of a minor-fault storm, from
# the kernel's own per-program accounting (kernel.bpf_stats_enabled:
# run_time_ns and run_cnt of every program): the hot path's cost without
# the fault's. A wall-time ratio measures little where a fault costs 40
# times what the programs do (this machine under PVM since 2026-12-05: a
# fault exits to the hypervisor, ~12 us); the programs' own time does.
# busybox sh, so it runs in the VM lanes' guests too.
#
#   prog-cost.sh [OUT.md]   (PFWATCH, PFWATCH_BASE, PFW_STORM, BPFTOOL,
#                            PFW_BENCH_MODES, PFW_BENCH_REPS, PFW_BENCH_SIZE)
#
# Each repetition runs every attach mode x configuration (default,
# all-summary, all-events), alternating pfwatch and PFWATCH_BASE (an A/B in
# one run) when that is set; the storm runs as pfwatch's command between two
# snapshots of `bpftool prog show`; the difference, over the runs of the
# program that sees every fault's entry, is the cost per fault (the storm's
# faults, and the second bpftool's, the same for both binaries). Medians.
# kernel.bpf_stats_enabled is restored on exit, also on a signal.
set -u
out=${1:-}
reps=${PFW_BENCH_REPS:-5}
size=${PFW_BENCH_SIZE:-256M}
pw=${PFWATCH:-./pfwatch}
base=${PFWATCH_BASE:-}
storm=${PFW_STORM:-./bench/pfw-storm}
bpftool=${BPFTOOL:-$(command -v bpftool || echo /usr/sbin/bpftool)}
modes=${PFW_BENCH_MODES:-fentry kprobe tp}
stats=/proc/sys/kernel/bpf_stats_enabled
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pfw-pc.XXXXXX")

[ -x "$bpftool" ] || { echo "prog-cost.sh: no bpftool" >&2; exit 77; }
[ -w "$stats" ] || { echo "prog-cost.sh: cannot write $stats (root?)" >&2; exit 77; }
old=$(cat "$stats")
restore() {
	echo "$old" >"$stats"
	rm -rf "$tmp"
}
trap restore EXIT
trap 'exit 130' INT TERM
echo 1 >"$stats"

cfg_args() {
	case "$1" in
	# the views the issue's table names: pfwatch's own default view is
	# events, which would stream (and print) every fault instead
	default) echo "--faults=major --view=summary -o $tmp/sum.txt" ;;
	all-summary) echo "--faults=all --view=summary -o $tmp/sum.txt" ;;
	all-events) echo "--faults=all --view=events -f json -o $tmp/ev.json" ;;
	esac
}

# one run: appends "fault MODE CFG BIN NS_PER_FAULT" and "prog MODE CFG BIN
# NAME NS_PER_RUN RUNS" rows to $tmp/runs
run() { # bin label mode cfg
	rm -f "$tmp/before" "$tmp/after" "$tmp/storm.json"
	# shellcheck disable=SC2046
	"$1" --backend=bpf --bpf-attach="$3" $(cfg_args "$4") -- sh -c '
		"$0" >"$1/before"; "$2" --size="$3" >"$1/storm.json"; "$0" >"$1/after"' \
		"$tmp/snap.sh" "$tmp" "$storm" "$size" >/dev/null 2>"$tmp/err" || return 1
	faults=$(sed -n 's/.*"touch_minflt":\([0-9]*\).*/\1/p' "$tmp/storm.json")
	[ -n "$faults" ] && [ "$faults" -gt 0 ] || return 1
	# per fault: every program's time over the runs of the entry programs,
	# which run once per fault (the storm's, and the second bpftool's)
	awk -v key="$3 $4 $2" '
		NR == FNR { t0[$1] = $2; c0[$1] = $3; next }
		{ dt = $2 - t0[$1]; dc = $3 - c0[$1]; tot += dt
		  if ($1 ~ /^pfw_(tp_entry|tp_entry_user|tp_entry_kernel|fentry|kprobe)$/) f += dc
		  if (dc > 0) printf "prog %s %s %.1f %d\n", key, $1, dt / dc, dc }
		END { if (f > 0) printf "fault %s %.1f\n", key, tot / f }' "$tmp/before" "$tmp/after" >>"$tmp/runs"
}

# `bpftool prog show` as "name run_time_ns run_cnt" for pfwatch's programs,
# a program the traced command runs before and after the storm
cat >"$tmp/snap.sh" <<EOF
#!/bin/sh
"$bpftool" prog show 2>/dev/null | awk '
	/^[0-9]+:/ { name = ""; for (i = 1; i < NF; i++) if (\$i == "name") name = \$(i + 1) }
	/run_time_ns/ && name ~ /^pfw_/ {
		for (i = 1; i < NF; i++) {
			if (\$i == "run_time_ns") t = \$(i + 1)
			if (\$i == "run_cnt") c = \$(i + 1)
		}
		print name, t, c
	}'
EOF
chmod +x "$tmp/snap.sh"

: >"$tmp/runs"
avail=
for m in $modes; do
	if "$pw" --backend=bpf --bpf-attach="$m" -- true >/dev/null 2>&1; then
		avail="$avail $m"
	else
		echo "prog-cost.sh: bpf/$m does not run here: skipped" >&2
	fi
done
[ -n "$avail" ] || { echo "prog-cost.sh: no bpf attach mode runs here" >&2; exit 77; }
r=0
while [ $r -lt "$reps" ]; do
	for m in $avail; do
		for c in default all-summary all-events; do
			run "$pw" pfwatch "$m" "$c" || echo "prog-cost.sh: $m $c: run failed" >&2
			[ -n "$base" ] && { run "$base" base "$m" "$c" || echo "prog-cost.sh: $m $c base: run failed" >&2; }
		done
	done
	r=$((r + 1))
done

# medians
med() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
{
	echo "## BPF programs' own time per storm fault (kernel.bpf_stats_enabled)"
	echo
	echo "pfw-storm --size=$size (each page one minor fault), $reps repetitions, medians; kernel $(uname -r)."
	echo
	if [ -n "$base" ]; then
		echo "| mode | configuration | pfwatch ns/fault | baseline ns/fault | pfwatch/baseline |"
		echo "|---|---|---|---|---|"
	else
		echo "| mode | configuration | ns/fault |"
		echo "|---|---|---|"
	fi
	for m in $avail; do
		for c in default all-summary all-events; do
			a=$(awk -v k="$m $c pfwatch" '$1 == "fault" && $2 " " $3 " " $4 == k { print $5 }' "$tmp/runs" | med)
			if [ -n "$base" ]; then
				b=$(awk -v k="$m $c base" '$1 == "fault" && $2 " " $3 " " $4 == k { print $5 }' "$tmp/runs" | med)
				q=$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.3f", a / b }')
				echo "| $m | $c | $a | $b | $q |"
			else
				echo "| $m | $c | $a |"
			fi
		done
	done
	echo
	echo "Per program (ns per run, runs in one storm), medians; a program one binary"
	echo "does not load has no value in its column:"
	echo
	if [ -n "$base" ]; then
		echo "| mode | configuration | program | pfwatch ns/run | baseline ns/run | pfwatch runs |"
		echo "|---|---|---|---|---|---|"
	else
		echo "| mode | configuration | program | ns/run | runs |"
		echo "|---|---|---|---|---|"
	fi
	awk '$1 == "prog" { print $2, $3, $5 }' "$tmp/runs" | sort -u |
		while read -r m c p; do
			ns=$(awk -v k="$m $c pfwatch $p" '$1 == "prog" && $2 " " $3 " " $4 " " $5 == k { print $6 }' "$tmp/runs" | med)
			n=$(awk -v k="$m $c pfwatch $p" '$1 == "prog" && $2 " " $3 " " $4 " " $5 == k { print $7 }' "$tmp/runs" | med)
			if [ -n "$base" ]; then
				b=$(awk -v k="$m $c base $p" '$1 == "prog" && $2 " " $3 " " $4 " " $5 == k { print $6 }' "$tmp/runs" | med)
				echo "| $m | $c | $p | ${ns:--} | ${b:--} | ${n:--} |"
			else
				echo "| $m | $c | $p | $ns | $n |"
			fi
		done
} | if [ -n "$out" ]; then cat >"$out"; else cat; fi
