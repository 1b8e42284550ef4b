#!/bin/sh
# Every bpf attach mode, forced with --bpf-attach: where it can run, exact
# per-file majors with latency; where it cannot, --list-backends and a forced
# run both say why, and the run exits 3 (no backend) without falling back.
. "${top_srcdir:-.}/tests/bpf/lib-bpf.sh"

pfw_setup
# the lane's forced mode is what this script varies itself
_forced=${PFW_BPF_ATTACH:-}
PFW_BPF_ATTACH=
require_backend
PFW_BPF_ATTACH=$_forced
plan 13

pages=256
avail=0
for mode in fentry kprobe tp kprobe-nobtf; do
	line=$("$PFWATCH" --list-backends --format=json --bpf-attach=$mode 2>/dev/null |
		grep '"backend":"bpf"' | head -n 1)
	detail=$(json_str detail "$line")
	case "$line" in
	*'"available":true'*)
		avail=$((avail + 1))
		is_eq "$mode: --list-backends reports the forced mode" "$(json_str attach "$line")" "$mode"
		rm -f "$pfw_tmp/w.dat"
		# reap: the workload's majflt up to its exit, which pfwatch traces too
		pfw_run --backend=bpf --bpf-attach=$mode -f json -o "$pfw_tmp/$mode.json" -- \
			"$REAP" "$pfw_tmp/reap" "$PFWATCH_WORKLOAD" --file="$pfw_tmp/w.dat" \
			--size=$((pages * 4))K --exact --keep --json >"$pfw_tmp/wl.json" 2>"$pfw_tmp/wl.err"
		hp=$(hexof "$pfw_tmp/w.dat")
		"$JSONCHECK" get "$pfw_tmp/$mode.json" fault kind x:path latency_ns |
			awk -F'\t' '$1 == "major"' >"$pfw_tmp/maj"
		awk -F'\t' -v p="$hp" '$2 == p {print $3}' "$pfw_tmp/maj" >"$pfw_tmp/lat"
		got=$(wc -l <"$pfw_tmp/lat")
		all=$(wc -l <"$pfw_tmp/maj")
		nolat=$(grep -c -v '^[0-9][0-9]*$' "$pfw_tmp/lat")
		kmaj=$(reap_total "$pfw_tmp/reap")
		[ "$got" = "$(wl_num expected)" ] && [ "$all" = "$kmaj" ] && [ "$nolat" = 0 ]
		check $? "$mode: $got majors on the file, all with latency; the run's $all = its majflt $kmaj" \
			"expected $(wl_num expected) on the file; $nolat without latency; $(cat "$pfw_tmp/wl.err")"
		is_eq "$mode: run record names the mode" "$(json_last "$pfw_tmp/$mode.json" run x:attach)" \
			"$(hexof $mode)"
		;;
	*'"available":false'*)
		[ -n "$detail" ]
		check $? "$mode: unavailable here, with a reason: $detail"
		pfw_run --backend=bpf --bpf-attach=$mode -- true >/dev/null 2>"$pfw_tmp/err"
		rc=$?
		is_eq "$mode: forcing it exits 3 (no backend), no silent fallback" "$rc" 3
		grep -q "$mode" "$pfw_tmp/err"
		check $? "$mode: the error names the mode and why" "$(cat "$pfw_tmp/err")"
		;;
	*)
		not_ok "$mode: --list-backends has a bpf row" "$line"
		skip "$mode: forced run" "no bpf row"
		skip "$mode: forced run" "no bpf row"
		;;
	esac
done
[ "$avail" -gt 0 ]
check $? "at least one bpf attach mode runs here ($avail)"
done_testing
