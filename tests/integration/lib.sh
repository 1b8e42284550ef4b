# tests/integration/lib.sh: TAP helpers and requirement checks for the
# integration tests. Sourced by every script; POSIX sh, busybox is enough
# (the VM lanes run these scripts in guests that have nothing else).
#
# Environment:
#   PFWATCH, PFWATCH_WORKLOAD  the binaries under test (required)
#   PFW_TESTBIN                directory of the helper programs (faulter,
#                              jsoncheck); default $top_builddir/tests/integration
#   PFW_BACKEND                backend to test (default perf); PFW_BPF_ATTACH and
#                              PFW_FTRACE_ATTACH force an attach mode
#   PFW_TEST_DIR               a disk-backed directory for data files
#   PFW_LEAK_CHECK=1           strict teardown check (nothing else runs beside us)

set -u

_tap_n=0
_tap_failed=0
_tap_planned=
pfw_tmp=
pfw_pids=

# --- TAP ---------------------------------------------------------------

plan() { # N
	_tap_planned=$1
	echo "1..$1"
}

# Skip the whole script (before plan): the harness counts it as skipped.
skip_all() { # reason
	printf '1..0 # SKIP %s\n' "$*"
	_tap_planned=0
	exit 0
}

bail() { # reason
	printf 'Bail out! %s\n' "$*"
	exit 99
}

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

# diagnostics from a file, at most N lines, control bytes made visible
diag_file() { # file [lines]
	[ -f "$1" ] || return 0
	head -n "${2:-20}" "$1" | tr '\000-\010\013-\037\177' '?' | sed 's/^/#   /'
}

ok() { # description
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s\n' "$_tap_n" "$*"
}

not_ok() { # description [diagnostic...]
	_tap_n=$((_tap_n + 1))
	_tap_failed=$((_tap_failed + 1))
	printf 'not ok %d - %s\n' "$_tap_n" "$1"
	shift
	for _l in "$@"; do
		diag "$_l"
	done
}

skip() { # description reason
	_tap_n=$((_tap_n + 1))
	printf 'ok %d - %s # SKIP %s\n' "$_tap_n" "$1" "$2"
}

# check COND-EXIT-STATUS description: ok when the previous command succeeded
check() { # status description [diagnostic...]
	_st=$1
	shift
	if [ "$_st" -eq 0 ]; then
		ok "$1"
	else
		not_ok "$@"
	fi
}

# is_eq description got want
is_eq() {
	if [ "x$2" = "x$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got:  '$2'" "want: '$3'"
	fi
}

# is_num_eq description got want: both must be counts, and equal (two
# empty values from a failed run must not pass)
is_num_eq() {
	case "$2" in
	'' | *[!0-9]*)
		not_ok "$1" "got '$2': not a count"
		return
		;;
	esac
	case "$3" in
	'' | *[!0-9]*)
		not_ok "$1" "want '$3': not a count (the ground truth is missing)"
		return
		;;
	esac
	is_eq "$@"
}

# near_count got want: GOT equals WANT, or, in ftrace's events mode (which
# says "approximate": it infers major from tracepoints and misses a retry
# the kernel counts as major, KERNEL-NOTES §5), is within 2 of it. Prints
# why not when it is not.
near_count() {
	case "$1" in '' | *[!0-9]*)
		echo "got '$1': not a count"
		return
		;;
	esac
	case "$2" in '' | *[!0-9]*)
		echo "want '$2': not a count (the ground truth is missing)"
		return
		;;
	esac
	[ "$1" = "$2" ] && return
	if [ "${pfw_attach:-}" = "events (approximate)" ]; then
		[ "$1" -le $(($2 + 2)) ] && [ "$1" -ge $(($2 - 2)) ] && return
		echo "got $1, want $2 (approximate mode: within 2)"
	else
		echo "got $1, want $2"
	fi
}

# ok_why description why [diagnostic...]: ok when WHY (the reasons it
# failed, gathered by the caller) is empty; else not ok with them (and the
# diagnostics), and status 1
ok_why() {
	_okw_desc=$1 _okw_why=$2
	shift 2
	if [ -z "$_okw_why" ]; then
		ok "$_okw_desc"
	else
		not_ok "$_okw_desc" "$_okw_why" "$@"
		return 1
	fi
}

# is_expected description got kernel expect reason: GOT = the workload's
# --expect, tested only when the kernel's own count KERNEL agrees with it
# (else skipped for REASON: the kernel counted the workload differently)
is_expected() {
	if [ "$3" = "$4" ]; then
		is_num_eq "$1" "$2" "$4"
	else
		skip "$1" "$5"
	fi
}

# the exit status of the script reflects its failures
done_testing() {
	if [ -n "$_tap_planned" ] && [ "$_tap_planned" -ne "$_tap_n" ]; then
		echo "# planned $_tap_planned tests, ran $_tap_n"
		exit 1
	fi
	[ "$_tap_failed" -eq 0 ] || exit 1
	exit 0
}

# --- requirements --------------------------------------------------------

pfw_backend=${PFW_BACKEND:-perf}

# extra options forcing the attach mode the lane asked for
pfw_attach_opts() {
	case "$pfw_backend" in
	bpf) [ -n "${PFW_BPF_ATTACH:-}" ] && echo "--bpf-attach=$PFW_BPF_ATTACH" ;;
	ftrace) [ -n "${PFW_FTRACE_ATTACH:-}" ] && echo "--ftrace-attach=$PFW_FTRACE_ATTACH" ;;
	esac
	return 0
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (uid $(id -u)): major faults of other tasks, tracefs, BPF"
}

require_binaries() {
	[ -n "${PFWATCH:-}" ] || bail "PFWATCH is not set"
	[ -n "${PFWATCH_WORKLOAD:-}" ] || bail "PFWATCH_WORKLOAD is not set"
	[ -x "$PFWATCH" ] || bail "$PFWATCH is not an executable"
	[ -x "$PFWATCH_WORKLOAD" ] || bail "$PFWATCH_WORKLOAD is not an executable"
	pfw_testbin=${PFW_TESTBIN:-${top_builddir:-.}/tests/integration}
	for _h in faulter jsoncheck runas reap; do
		[ -x "$pfw_testbin/$_h" ] || bail "helper $pfw_testbin/$_h is not built (make check builds it)"
	done
	JSONCHECK=$pfw_testbin/jsoncheck
	FAULTER=$pfw_testbin/faulter
	RUNAS=$pfw_testbin/runas
	REAP=$pfw_testbin/reap
}

# The value of a string member of a one-line JSON object (no nesting).
json_str() { # key line
	printf '%s\n' "$2" | sed -n "s/.*\"$1\":\"\\(\\([^\"\\\\]\\|\\\\.\\)*\\)\".*/\\1/p" |
		sed 's/\\"/"/g; s/\\\\/\\/g'
}

# skip the script unless pfwatch says the backend is available here
require_backend() {
	# shellcheck disable=SC2046
	_line=$("$PFWATCH" --list-backends --format=json $(pfw_attach_opts) 2>/dev/null |
		grep "\"backend\":\"$pfw_backend\"" | head -n 1)
	[ -n "$_line" ] || bail "pfwatch --list-backends --format=json has no row for $pfw_backend"
	case "$_line" in
	*'"available":true'*) ;;
	*) skip_all "backend $pfw_backend unavailable: $(json_str detail "$_line")" ;;
	esac
	pfw_attach=$(json_str attach "$_line")
}

# A directory where mapped files fault from a block device: tmpfs and ramfs
# keep every page in memory, so there would be no major fault at all.
# Checked for real with the workload: 16 pages must give 16 majors.
pfw_disk_dir() {
	for _d in "${PFW_TEST_DIR:-}" "${TMPDIR:-}" /var/tmp \
		"${top_builddir:+$top_builddir/tests/integration/bin}" /tmp; do
		[ -n "$_d" ] || continue
		mkdir -p "$_d" 2>/dev/null || continue
		[ -w "$_d" ] || continue
		case $(stat -f -c %T "$_d" 2>/dev/null) in
		tmpfs | ramfs | "") continue ;;
		esac
		_p=$_d/pfw-probe.$$
		_m=$("$PFWATCH_WORKLOAD" --exact --size=64K --file="$_p" --json 2>/dev/null |
			sed -n 's/.*"majflt":\([0-9]*\).*/\1/p')
		rm -f "$_p"
		if [ "$_m" = 16 ]; then
			echo "$_d"
			return 0
		fi
	done
	return 1
}

# common prologue: root, binaries, a disk-backed temp dir, the backend
pfw_setup() { # [noroot]
	[ "${1:-}" = noroot ] || require_root
	require_binaries
	_dir=$(pfw_disk_dir) || skip_all "no disk-backed writable directory (set PFW_TEST_DIR): tmpfs has no major faults"
	pfw_tmp=$(mktemp -d "$_dir/pfw-it.XXXXXX") || bail "mktemp -d in $_dir failed"
	pfw_tmp=$(cd "$pfw_tmp" && pwd -P)
	trap pfw_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	: >"$pfw_tmp/pids"
	leak_baseline
}

pfw_cleanup() {
	for _p in $(cat "$pfw_tmp/pids" 2>/dev/null); do
		pfw_is_ours "$_p" && kill -INT "$_p" 2>/dev/null
	done
	[ -n "$pfw_tmp" ] && rm -rf "$pfw_tmp"
}

# --- running pfwatch -------------------------------------------------------

# Each pfwatch we start records its pid and carries a marker in its
# environment, so the teardown check can find our leftovers even when other
# tests run pfwatch beside us.
PFW_IT_MARK=pfw-it-$$
export PFW_IT_MARK

pfw_timeout=${PFW_RUN_TIMEOUT:-120}

# run pfwatch under a timeout; the exit status is pfwatch's
pfw_run() { # args...
	if command -v timeout >/dev/null 2>&1; then
		timeout -s TERM "$pfw_timeout" sh -c 'echo $$ >>"$0"; exec "$@"' "$pfw_tmp/pids" "$PFWATCH" "$@"
	else
		sh -c 'echo $$ >>"$0"; exec "$@"' "$pfw_tmp/pids" "$PFWATCH" "$@"
	fi
}

# pfwatch --backend=$B [attach] args...
pfw_trace() {
	# shellcheck disable=SC2046
	pfw_run --backend="$pfw_backend" $(pfw_attach_opts) "$@"
}

pfw_is_ours() { # pid
	[ -r "/proc/$1/environ" ] || return 1
	tr '\000' '\n' <"/proc/$1/environ" 2>/dev/null | grep -qx "PFW_IT_MARK=$PFW_IT_MARK"
}

# --- values ---------------------------------------------------------------

# ok when FILE is valid JSON Lines (jsoncheck's complaint as diagnostic)
json_valid() { # description file
	if "$JSONCHECK" validate "$2" >/dev/null 2>"$pfw_tmp/jerr"; then
		ok "$1"
	else
		not_ok "$1" "$(cat "$pfw_tmp/jerr")"
	fi
}

# the file record of DATA in a JSON output: exactly N majors on N pages
file_record_is() { # description json data n
	_frec=$("$JSONCHECK" get "$2" file x:path major pages 2>/dev/null | grep "^$(hexof "$3")	")
	is_eq "$1" "$(echo "$_frec" | cut -f2,3)" "$4	$4"
}

# a member of the last line of a JSON Lines file whose record is RECORD
json_last() { # file record field
	"$JSONCHECK" get "$1" "$2" "$3" | tail -n 1
}

# majflt of a live process, from /proc/PID/stat (comm may hold spaces)
proc_majflt() { # pid
	sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $10}'
}

# a value of a report that reap wrote (pid, majflt, minflt, status, reaper,
# reaper_majflt)
reap_num() { # report key
	sed -n "s/^$2 //p" "$1" 2>/dev/null
}

# the majors of reap's whole tree, what pfwatch -- reap ... counts in all:
# the workload's to its exit and reap's own
reap_total() { # report
	_m=$(reap_num "$1" majflt)
	_r=$(reap_num "$1" reaper_majflt)
	[ -n "$_m" ] && [ -n "$_r" ] && echo $((_m + _r))
}

hexof() {
	"$JSONCHECK" hex "$1"
}

wait_for_line() { # file text seconds
	_i=0
	while [ "$_i" -lt $(($3 * 10)) ]; do
		grep -q "^$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# text output must not carry any raw control byte but the line feeds
no_control_bytes() { # file
	[ "$(tr -d '\n' <"$1" | tr -d '\040-\176\200-\377' | wc -c)" -eq 0 ]
}

# --- teardown check -----------------------------------------------------

_tracefs_dirs() {
	for _t in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -e "$_t/trace" ] && echo "$_t"
	done
}

leak_baseline() {
	_tracer0=
	for _t in $(_tracefs_dirs); do
		_tracer0="$_tracer0$(cat "$_t/current_tracer" 2>/dev/null)"
	done
}

# Nothing may outlive our runs: pfwatch processes we started, tracefs
# instances "pfwatch-PID-*" and kprobe groups "pfwatch_PID" of those
# processes, a tracer left in current_tracer. With PFW_LEAK_CHECK=1 (a guest
# where nothing else runs) any pfwatch instance or group counts.
leak_check() {
	_leaks=
	sleep 0.2
	for _p in $(cat "$pfw_tmp/pids" 2>/dev/null); do
		pfw_is_ours "$_p" && _leaks="$_leaks pfwatch process $_p still running;"
	done
	for _t in $(_tracefs_dirs); do
		for _i in "$_t"/instances/pfwatch-*; do
			[ -e "$_i" ] || continue
			_n=${_i##*/instances/pfwatch-}
			_pid=${_n%%-*}
			if [ "${PFW_LEAK_CHECK:-0}" = 1 ] || grep -qx "$_pid" "$pfw_tmp/pids"; then
				_leaks="$_leaks tracefs instance ${_i##*/} left;"
			fi
		done
		for _f in kprobe_events dynamic_events; do
			[ -r "$_t/$_f" ] || continue
			while read -r _ev _rest; do
				_g=${_ev#*:}
				_g=${_g%%/*}
				case "$_g" in
				pfwatch_*) ;;
				*) continue ;;
				esac
				_pid=${_g#pfwatch_}
				if [ "${PFW_LEAK_CHECK:-0}" = 1 ] || grep -qx "$_pid" "$pfw_tmp/pids"; then
					_leaks="$_leaks $_f: $_ev left;"
				fi
			done <"$_t/$_f"
		done
		_cur=$(cat "$_t/current_tracer" 2>/dev/null)
		if [ -n "$_cur" ] && [ "$_cur" != nop ]; then
			if [ "${PFW_LEAK_CHECK:-0}" = 1 ] || [ "$_tracer0" = "" ] || [ "$_tracer0" = nop ]; then
				_leaks="$_leaks $_t/current_tracer is $_cur;"
			fi
		fi
	done
	if [ -z "$_leaks" ]; then
		ok "teardown: no pfwatch process, tracefs instance, kprobe event or tracer left behind"
	else
		not_ok "teardown: no pfwatch process, tracefs instance, kprobe event or tracer left behind" "$_leaks"
	fi
}
