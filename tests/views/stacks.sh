#!/bin/sh
# --call-graph end to end on this kernel, per backend that can deliver user
# stacks (perf callchains, bpf_get_stack, ftrace's userstacktrace option):
# stackprog faults A pages in touch_alpha() and B pages in touch_beta()
# (called from run_beta()), at lines marked in its source.
# Checked: exact call-site attribution and line numbers (callsites, text and
# csv), the folded stacks, the flame graph, the JSON frames (the caller's
# line is the call's, not the next statement's), --input of the recording
# reproducing the live summary exactly. ftrace may refuse --call-graph only
# where the kernel has no options/userstacktrace, with that reason (exit 3).
#
# PFW_BACKEND (and PFW_BPF_ATTACH / PFW_FTRACE_ATTACH), as tests/vm/suite.sh
# sets them per lane, backend and mode: test that one; unset: every backend
# in its default mode (the host's make check).
. "${top_srcdir:-.}/tests/integration/lib.sh"

pfw_setup
prog=${PFW_TESTBIN_VIEWS:-$top_builddir/tests/views}/stackprog
[ -x "$prog" ] || bail "$prog is not built (make check builds it)"
src=$top_srcdir/tests/views/stackprog.c
A=3
B=5
l_alpha=$(grep -n 'FAULT-ALPHA \*/' "$src" | cut -d: -f1)
l_beta=$(grep -n 'FAULT-BETA \*/' "$src" | cut -d: -f1)
l_call=$(grep -n 'CALL-BETA \*/' "$src" | cut -d: -f1)
tfs=/sys/kernel/tracing

backends=${PFW_BACKEND:-perf bpf ftrace}
nb=0
for b in $backends; do nb=$((nb + 1)); done
# ftrace: one more, the top-level userstacktrace option is as we found it
# (6.1 borrows the top level for function_graph and sets the option there)
case " $backends " in
*" ftrace "*) plan $((11 * nb + 1)) ;;
*) plan $((11 * nb)) ;;
esac
ust0=$(cat "$tfs/options/userstacktrace" 2>/dev/null)
# tracefs not mounted yet (a fresh machine): pfwatch mounts it, and the
# option is then found at the kernel's default
grep -q " $tfs tracefs " /proc/mounts 2>/dev/null || ust0=unmounted

skip_rest() { # backend from reason
	_i=$2
	while [ "$_i" -le 11 ]; do
		skip "$1: stack test $_i" "$3"
		_i=$((_i + 1))
	done
}

for b in $backends; do
	pfw_backend=$b
	att=$(pfw_attach_opts)
	# shellcheck disable=SC2086
	_line=$("$PFWATCH" --list-backends --format=json $att 2>/dev/null | grep "\"backend\":\"$b\"")
	case "$_line" in
	*'"available":true'*) ;;
	*)
		skip_rest "$b" 1 "backend $b${att:+ ($att)} unavailable: $(json_str detail "$_line")"
		continue
		;;
	esac
	d=$pfw_tmp/$b
	mkdir -p "$d"
	# ftrace learns text mappings from /proc/PID/maps at its drains (no
	# mmap event): stackprog stays alive a while after its faults (500 ms
	# was not enough beside CI's qemu lanes: every frame [unknown])
	if [ "$b" = ftrace ]; then
		STACKPROG_LINGER_MS=2000
		export STACKPROG_LINGER_MS
	else
		unset STACKPROG_LINGER_MS
	fi

	# callsites, csv: count,major,minor,lat_total,lat_max,function,file,line,obj
	# shellcheck disable=SC2086
	pfw_run --backend="$b" $att -g --view=callsites --format=csv -o "$d/cs.csv" -- \
		"$prog" "$d/data" $A $B >"$d/truth" 2>"$d/err"
	st=$?
	if [ "$b" = ftrace ] && [ $st -eq 3 ] && grep -q -- '--call-graph' "$d/err"; then
		# refused: honest only where the kernel really lacks the option
		if [ -e "$tfs/options/userstacktrace" ]; then
			not_ok "ftrace: -g refused although $tfs/options/userstacktrace exists"
			diag_file "$d/err" 3
		else
			ok "ftrace: refuses --call-graph as unavailable, with the reason (exit 3)"
		fi
		skip_rest "$b" 2 "$(head -n 1 "$d/err")"
		continue
	fi
	truth=$(sed -n 's/.*"majflt":\([0-9]*\).*/\1/p' "$d/truth")
	is_num_eq "$b: stackprog ran under pfwatch -g and took A+B majors (getrusage)" "$st$truth" "0$((A + B))"
	[ $st -eq 0 ] || diag_file "$d/err" 5
	got=$(awk -F, '$6 == "touch_alpha" {print $1 ":" $8}' "$d/cs.csv")
	is_eq "$b: callsites: touch_alpha has exactly $A faults at stackprog.c:$l_alpha" "$got" "$A:$l_alpha"
	got=$(awk -F, '$6 == "touch_beta" {print $1 ":" $8}' "$d/cs.csv")
	is_eq "$b: callsites: touch_beta has exactly $B faults at stackprog.c:$l_beta" "$got" "$B:$l_beta"
	got=$(awk -F, '$6 == "touch_beta" {print $7}' "$d/cs.csv")
	case "$got" in
	*/stackprog.c) ok "$b: callsites: the source file is stackprog.c" ;;
	*) not_ok "$b: callsites: the source file is stackprog.c" "got '$got'" ;;
	esac

	# text: most frequent first
	# shellcheck disable=SC2086
	pfw_run --backend="$b" $att -g --view=callsites -- "$prog" "$d/data" $A $B >"$d/cs.txt" 2>"$d/err"
	got=$(awk '/touch_alpha|touch_beta/ {print $6}' "$d/cs.txt" | tr '\n' ' ')
	is_eq "$b: callsites text: touch_beta ($B) before touch_alpha ($A)" "$got" "touch_beta touch_alpha "

	# folded + svg
	# shellcheck disable=SC2086
	pfw_run --backend="$b" $att -g --view=folded --svg="$d/flame.svg" -- "$prog" "$d/data" $A $B \
		>"$d/folded" 2>"$d/err"
	grep -q "^stackprog;.*;main;touch_alpha $A\$" "$d/folded"
	check $? "$b: folded: stackprog;...;main;touch_alpha $A" "$(head -n 5 "$d/folded")"
	grep -q "^stackprog;.*;main;run_beta;touch_beta $B\$" "$d/folded"
	check $? "$b: folded: stackprog;...;main;run_beta;touch_beta $B" "$(head -n 5 "$d/folded")"
	n=0
	grep -qF "<title>touch_alpha ($A faults" "$d/flame.svg" && n=$((n + 1))
	grep -qF "<title>touch_beta ($B faults" "$d/flame.svg" && n=$((n + 1))
	grep -qF "<title>run_beta ($B faults" "$d/flame.svg" && n=$((n + 1))
	if command -v xmllint >/dev/null 2>&1 && xmllint --noout "$d/flame.svg" 2>/dev/null; then
		n=$((n + 1))
	elif ! command -v xmllint >/dev/null 2>&1; then
		n=$((n + 1)) && diag "xmllint missing: XML not parsed"
	fi
	is_num_eq "$b: the flame graph parses and holds touch_alpha/$A, touch_beta/$B, run_beta/$B" "$n" 4

	# JSON frames: run_beta's frame is the call to touch_beta
	# shellcheck disable=SC2086
	pfw_run --backend="$b" $att -g --format=json -o "$d/rec.json" -- "$prog" "$d/data" $A $B \
		>/dev/null 2>"$d/err"
	got=$(grep '"sym":"touch_beta+' "$d/rec.json" | head -n 1 |
		sed -n 's/.*"sym":"run_beta+0x[0-9a-f]*","obj":"[^"]*","file":"[^"]*","line":\([0-9]*\).*/\1/p')
	is_eq "$b: json: the caller frame run_beta is at the call, stackprog.c:$l_call" "$got" "$l_call"
	[ "$got" = "$l_call" ] ||
		diag "the first fault lines: $(grep '"record":"fault"' "$d/rec.json" | head -n 2 | cut -c1-700)" \
			"$(diag_file "$d/err" 5)"

	# --input reproduces the live summary exactly
	"$PFWATCH" --input="$d/rec.json" --view=summary --format=json >"$d/replay.json" 2>"$d/err"
	grep -v '"record":"fault"' "$d/rec.json" >"$d/live.json"
	if cmp -s "$d/live.json" "$d/replay.json" && [ -s "$d/live.json" ]; then
		ok "$b: --input of the recording reproduces its summary and run record exactly"
	else
		not_ok "$b: --input of the recording reproduces its summary and run record exactly"
		diff "$d/live.json" "$d/replay.json" | head -n 10 | sed 's/^/#   /'
	fi
	# the README's flame graph: every fault of the run, loader and libc included
	if [ "$b" = perf ] && command -v rsvg-convert >/dev/null 2>&1; then
		mkdir -p "$top_builddir/doc/images"
		# shellcheck disable=SC2086
	pfw_run --backend="$b" $att -g --faults=all --view=folded --svg="$d/all.svg" -- \
			"$prog" "$d/data" 40 60 >/dev/null 2>&1 &&
			rsvg-convert -o "$top_builddir/doc/images/flamegraph.png" "$d/all.svg" &&
			[ "${PFW_UPDATE_DOC:-0}" = 1 ] &&
			cp "$top_builddir/doc/images/flamegraph.png" "$top_srcdir/doc/images/flamegraph.png"
	fi
	"$PFWATCH" --input="$d/rec.json" --view=callsites --format=csv >"$d/rcs.csv" 2>"$d/err"
	got=$(awk -F, '$6 == "touch_beta" {print $1 ":" $8}' "$d/rcs.csv")
	is_eq "$b: --input --view=callsites: touch_beta $B at line $l_beta, offline" "$got" "$B:$l_beta"
done

case " $backends " in
*" ftrace "*)
	ust1=$(cat "$tfs/options/userstacktrace" 2>/dev/null)
	if [ "$ust0" = unmounted ]; then
		ust0=
		[ -e "$tfs/options/userstacktrace" ] && ust0=0
	fi
	is_eq "ftrace: the top-level options/userstacktrace is left as found" "$ust1" "$ust0"
	;;
esac

done_testing
