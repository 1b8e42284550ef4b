#!/bin/sh
# --list-backends on this kernel: the ftrace row says exactly which of
# function_graph and kprobe_events are missing (read from tracefs, not
# guessed from the version), and a forced graph mode is refused with them.
. "${0%/*}/../integration/lib.sh"

require_root
require_binaries
plan 5

T=/sys/kernel/tracing
row=$("$PFWATCH" --list-backends --format=json | grep '"backend":"ftrace"')
[ -n "$row" ] || bail "no ftrace row in --list-backends"
detail=$(json_str detail "$row")
diag "$row"

if [ -e "$T/available_tracers" ]; then
	tracers=$(cat "$T/available_tracers")
	have_kp=no
	[ -e "$T/kprobe_events" ] && have_kp=yes
else
	# not mounted: pfwatch probes in a private mount namespace; look the same way
	tracers=$(unshare -m sh -c "mount --make-rprivate / && mount -t tracefs nodev $T && cat $T/available_tracers")
	have_kp=$(unshare -m sh -c "mount --make-rprivate / && mount -t tracefs nodev $T && [ -e $T/kprobe_events ] && echo yes || echo no")
fi
case " $tracers " in
*" function_graph "*)
	case "$detail" in
	*"function_graph tracer missing"*) not_ok "function_graph present and not reported missing" "$detail" ;;
	*) ok "function_graph present and not reported missing" ;;
	esac
	;;
*)
	case "$detail" in
	*"function_graph tracer missing (CONFIG_FUNCTION_GRAPH_TRACER)"*) ok "function_graph reported missing" ;;
	*) not_ok "function_graph reported missing" "$detail" ;;
	esac
	;;
esac
if [ "$have_kp" = no ]; then
	case "$detail" in
	*"kprobe_events missing (CONFIG_KPROBE_EVENTS)"*) ok "kprobe_events reported missing" ;;
	*) not_ok "kprobe_events reported missing" "$detail" ;;
	esac
else
	case "$detail" in
	*"kprobe_events missing"*) not_ok "kprobe_events present and not reported missing" "$detail" ;;
	*) ok "kprobe_events present and not reported missing" ;;
	esac
fi

grow=$("$PFWATCH" --list-backends --format=json --ftrace-attach=graph | grep '"backend":"ftrace"')
case " $tracers " in
*" function_graph "*) skip "forced graph refused when impossible" "function_graph exists here" ;;
*)
	case "$grow" in
	*'"available":false'*) ok "forced graph mode refused when function_graph is missing" ;;
	*) not_ok "forced graph mode refused when function_graph is missing" "$grow" ;;
	esac
	;;
esac

# graph mode names its sources as this kernel gives them (KERNEL-NOTES §3):
# the return value from funcgraph-retval or a kretprobe, the file from the
# kprobe's BTF-offset fields, mm_filemap_fault, or /proc/PID/maps only
case "$grow" in
*'"available":true'*)
	gdetail=$(json_str detail "$grow")
	have() { if [ -e "$T/available_tracers" ]; then [ -e "$T/$1" ]; else
		unshare -m sh -c "mount --make-rprivate / && mount -t tracefs nodev $T && [ -e $T/$1 ]"; fi; }
	if have options/funcgraph-retval; then want_ret="funcgraph-retval"; else want_ret="a kretprobe"; fi
	if [ "$have_kp" = yes ] && [ -r /sys/kernel/btf/vmlinux ]; then want_file="kprobe + BTF offsets"
	elif have events/filemap/mm_filemap_fault; then want_file="filemap:mm_filemap_fault"
	else want_file="/proc/PID/maps only"; fi
	case "$gdetail" in
	*"kprobe + kretprobe"*) want_ret="a kretprobe" ;;
	esac
	case "$gdetail" in
	*"return value from $want_ret"*"file identity from $want_file"*)
		ok "graph detail: return value from $want_ret, file identity from $want_file" ;;
	*) not_ok "graph detail: return value from $want_ret, file identity from $want_file" "$gdetail" ;;
	esac
	;;
*) skip "graph detail names its sources" "graph unavailable: $(json_str detail "$grow")" ;;
esac

erow=$("$PFWATCH" --list-backends --format=json --ftrace-attach=events | grep '"backend":"ftrace"')
case "$erow" in
*'"available":true'*'"attach":"events (approximate)"'*) ok "events mode labelled 'events (approximate)'" ;;
*'"available":false'*) skip "events mode labelled 'events (approximate)'" "events mode unavailable: $(json_str detail "$erow")" ;;
*) not_ok "events mode labelled 'events (approximate)'" "$erow" ;;
esac
done_testing
