#!/bin/sh
# pfwatch inside a container's namespaces, made with unshare(1): as root a
# pid namespace (with its own /proc), as anyone else a user + pid namespace
# (root inside, no capability over the kernel: the rootless container).
# Each case gives the exact major faults per file and per thread, with the
# pids as pfwatch's namespace sees them, or exits 3 with the reason where
# the backend cannot give right pids there (ftrace records global pids). No
# case may exit 0 with a wrong count.
#
#   1-5  pfwatch -- COMMAND inside the namespace
#   6-8  a COMMAND in a pid namespace nested inside pfwatch's
#   9-12 system-wide inside the namespace: the namespace's workload exactly,
#        nothing of a process outside it
#   13   nothing left behind
. "${0%/*}/lib.sh"

pfw_setup noroot
plan 13

if [ "$(id -u)" -eq 0 ]; then
	ns="unshare -pf --mount-proc"
	what="pid namespace"
else
	ns="unshare -Urpf --mount-proc"
	what="user + pid namespace"
fi
# shellcheck disable=SC2086
$ns true 2>"$pfw_tmp/ns.err" ||
	skip_all "cannot make a $what here: $(head -n 1 "$pfw_tmp/ns.err")"

data=$pfw_tmp/data.dat
args="--exact --size=8M --accesses=300 --file=$data --json"

# is the backend (and mode) available inside the namespace, and why not?
# shellcheck disable=SC2046,SC2086
row=$($ns "$PFWATCH" --list-backends --format=json $(pfw_attach_opts) 2>/dev/null |
	grep "\"backend\":\"$pfw_backend\"" | head -n 1)
case "$row" in
*'"available":true'*) avail=1 ;;
*) avail=0 ;;
esac
why=$(json_str detail "$row")
diag "in a $what: $pfw_backend ${PFW_BPF_ATTACH:-}${PFW_FTRACE_ATTACH:-} available=$avail ${why:+($why)}"

# the thread row of @tid: "pid major"
thread_of() { # out.json tid
	"$JSONCHECK" get "$1" thread tid pid major | awk -v t="$2" '$1 == t {print $2, $3}'
}

refused() { # description status errfile
	if [ "$2" = 3 ] && grep -q -i 'namespace' "$3"; then
		ok "$1: exit 3 with the reason ($(head -n 1 "$3" | cut -c1-100)...)"
	else
		not_ok "$1: exit 3 with the reason" "exit $2" "$(diag_file "$3")"
	fi
}

# --- 1-5: pfwatch -- COMMAND inside the namespace ---
# shellcheck disable=SC2046,SC2086
$ns "$PFWATCH" --backend="$pfw_backend" $(pfw_attach_opts) -f json -o "$pfw_tmp/a.json" \
	-- "$REAP" "$pfw_tmp/reap" "$PFWATCH_WORKLOAD" $args >"$pfw_tmp/a.wl" 2>"$pfw_tmp/a.err"
st=$?
if [ $avail = 1 ]; then
	check $st "COMMAND in a $what: exit 0" "exit $st" "$(diag_file "$pfw_tmp/a.err")"
	touched=$(sed -n 's/.*"touched":\([0-9]*\),"expected".*/\1/p' "$pfw_tmp/a.wl")
	wpid=$(sed -n 's/^{"pid":\([0-9]*\),.*/\1/p' "$pfw_tmp/a.wl")
	wtid=$(sed -n 's/.*"tids":\[{"tid":\([0-9]*\),.*/\1/p' "$pfw_tmp/a.wl")
	# the workload's threads hold every major of its process, which may
	# take one of its own beside the file's (a text page read back in, a
	# retried fault at its exit): the kernel's majflt to its exit (reap, its
	# parent, reads it) is the truth for the process and the thread's own
	# for the thread, the pages touched for the file
	majflt=$(reap_num "$pfw_tmp/reap" majflt)
	tmaj=$(sed -n 's/.*"tids":\[{[^}]*"thread_majflt":\([0-9]*\),.*/\1/p' "$pfw_tmp/a.wl")
	is_num_eq "COMMAND in a $what: the workload's thread rows = its majflt" \
		"$("$JSONCHECK" get "$pfw_tmp/a.json" thread pid major |
			awk -F'\t' -v p="${wpid:-x}" '$1 == p {m += $2} END {print m + 0}')" "${majflt:-?}"
	is_eq "COMMAND in a $what: the touching thread's row, with its pid as the namespace sees it" \
		"$(thread_of "$pfw_tmp/a.json" "$wtid")" "$wpid ${tmaj:-?}"
	is_num_eq "COMMAND in a $what: the data file's row" \
		"$("$JSONCHECK" get "$pfw_tmp/a.json" file path major |
			awk -v p="$data" '$1 == p {print $2}')" "${touched:-?}"
	# pfwatch is pid 1 there and forked reap, pid 2, which forked the
	# workload: pid 3, never the kernel's
	is_num_eq "COMMAND in a $what: the workload is pid 3 of the namespace" "$wpid" 3
else
	refused "COMMAND in a $what" $st "$pfw_tmp/a.err"
	skip "COMMAND in a $what: run major" "$pfw_backend unavailable there"
	skip "COMMAND in a $what: thread row" "$pfw_backend unavailable there"
	skip "COMMAND in a $what: file row" "$pfw_backend unavailable there"
	skip "COMMAND in a $what: pid 3" "$pfw_backend unavailable there"
fi

# --- 6-8: the COMMAND in a pid namespace of its own, nested in pfwatch's ---
if [ $avail = 1 ]; then
	# shellcheck disable=SC2046,SC2086
	$ns "$PFWATCH" --backend="$pfw_backend" $(pfw_attach_opts) -f json -o "$pfw_tmp/b.json" \
		-- unshare -pf --mount-proc "$PFWATCH_WORKLOAD" $args >"$pfw_tmp/b.wl" \
		2>"$pfw_tmp/b.err"
	st=$?
	check $st "nested pid namespace: exit 0" "exit $st" "$(diag_file "$pfw_tmp/b.err")"
	touched=$(sed -n 's/.*"touched":\([0-9]*\),"expected".*/\1/p' "$pfw_tmp/b.wl")
	# unshare(1) runs in the traced tree too and may take a major of its
	# own: the file row is exact, the touching thread's row is its majflt
	is_num_eq "nested pid namespace: the data file's row = the pages touched" \
		"$("$JSONCHECK" get "$pfw_tmp/b.json" file path major |
			awk -v p="$data" '$1 == p {print $2}')" "${touched:-?}"
	tmaj=$(sed -n 's/.*"tids":\[{[^}]*"thread_majflt":\([0-9]*\),.*/\1/p' "$pfw_tmp/b.wl")
	# the workload is pid 1 of its own namespace; pfwatch names it by the outer one
	rows=$("$JSONCHECK" get "$pfw_tmp/b.json" thread pid major |
		awk -v n="${tmaj:-x}" '$2 == n && $1 > 1 {c++} END {print c + 0}')
	is_num_eq "nested pid namespace: one thread row with every major, pid as pfwatch sees it" \
		"$rows" 1
else
	for _i in 1 2 3; do
		skip "nested pid namespace" "$pfw_backend unavailable in a $what"
	done
fi

# --- 9-12: system-wide inside the namespace ---
# A process outside the namespace faults all along; it must not show.
cp "$PFWATCH_WORKLOAD" "$pfw_tmp/pfwoutsider"
(
	i=0
	while [ ! -e "$pfw_tmp/stop-outsider" ] && [ $i -lt 600 ]; do
		"$pfw_tmp/pfwoutsider" --size=256K --file="$pfw_tmp/outside.dat" >/dev/null 2>&1
		i=$((i + 1))
	done
) &
outsider=$!
# How long pfwatch takes to arm system-wide in this namespace (BPF under
# qemu TCG, or beside CI's other lanes: seconds), measured the way it runs
# below; twice that, and it is armed before the workload starts. The run
# ends when the workload has (SIGTERM: a background job of sh ignores
# SIGINT), not at a fixed duration the workload might outlast; -d only
# bounds a hang.
t0=$(date +%s)
# shellcheck disable=SC2046
$ns "$PFWATCH" --backend="$pfw_backend" $(pfw_attach_opts) --faults=all -f json -o /dev/null \
	-d 1 >/dev/null 2>&1
settle=$((2 + 2 * ($(date +%s) - t0)))
PFW_WL_OUT=$pfw_tmp/c.wl
export PFW_WL_OUT
# shellcheck disable=SC2016
$ns sh -c '
	"$1" --backend="$2" $3 --faults=all -f json -o "$4" -d "$5" 2>"$6" &
	p=$!
	sleep "$7"
	shift 7
	"$@" >"$PFW_WL_OUT"
	kill -TERM $p 2>/dev/null
	wait $p
' sh "$PFWATCH" "$pfw_backend" "$(pfw_attach_opts)" "$pfw_tmp/c.json" $((settle + 300)) \
	"$pfw_tmp/c.err" "$settle" "$PFWATCH_WORKLOAD" $args 2>/dev/null &
wait $!
st=$?
: >"$pfw_tmp/stop-outsider"
wait $outsider
if [ $avail = 1 ] && [ "$(id -u)" -eq 0 ]; then
	check $st "system-wide in a $what: exit 0" "exit $st" "$(diag_file "$pfw_tmp/c.err")"
	touched=$(sed -n 's/.*"touched":\([0-9]*\),"expected".*/\1/p' "$pfw_tmp/c.wl")
	row=$("$JSONCHECK" get "$pfw_tmp/c.json" file path major | awk -v p="$data" '$1 == p {print $2}')
	is_num_eq "system-wide in a $what: the data file's row" "$row" "${touched:-?}"
	[ "$row" = "${touched:-?}" ] ||
		diag "the file rows: $("$JSONCHECK" get "$pfw_tmp/c.json" file path major | head -n 8 |
			tr '\n\t' '; ')" "the run: $(grep '"record":"run"' "$pfw_tmp/c.json" | cut -c1-300)" \
			"the workload: $(cut -c1-300 "$pfw_tmp/c.wl")" "$(diag_file "$pfw_tmp/c.err")"
	is_num_eq "system-wide in a $what: no row of the process outside it" \
		"$("$JSONCHECK" get "$pfw_tmp/c.json" thread comm | grep -c pfwoutsider)" 0
	is_num_eq "system-wide in a $what: no row without a pid there (0)" \
		"$("$JSONCHECK" get "$pfw_tmp/c.json" thread pid | grep -c -x 0)" 0
elif [ $avail = 1 ]; then
	# a user namespace grants nothing system-wide: perf needs CAP_PERFMON for it
	refused "system-wide in a $what" $st "$pfw_tmp/c.err"
	for _i in 1 2 3; do
		skip "system-wide in a $what" "refused, as it must be without CAP_PERFMON"
	done
else
	refused "system-wide in a $what" $st "$pfw_tmp/c.err"
	for _i in 1 2 3; do
		skip "system-wide in a $what" "$pfw_backend unavailable there"
	done
fi
leak_check
done_testing
