# tests/hardening/lib-hardening.sh: what the hardening scripts share on top
# of tests/integration/lib.sh (TAP, pfw_setup, pfw_run, leak_check).
. "${top_srcdir:-.}/tests/integration/lib.sh"

PROBE=${PFW_TESTBIN_HARDENING:-${top_builddir:-.}/tests/hardening}/probe
[ -x "$PROBE" ] || bail "helper $PROBE is not built (make check builds it)"

# the backends available here, in auto order (bpf, perf, ftrace)
available_backends() {
	"$PFWATCH" --list-backends --format=json 2>/dev/null |
		grep '"available":true' | sed 's/.*"backend":"\([a-z]*\)".*/\1/'
}

# The kernel state our pfwatch runs (pids in $pfw_tmp/pids) could leave, as
# one string: those processes still alive (their BPF links and perf events
# live as long as they do), their tracefs instances (pfwatch-PID-*) and
# kprobe groups (pfwatch_PID), a top-level tracer other than nop. Scoped to
# our pids: other developers' and lanes' runs may be live beside us.
tracing_state() {
	for _p in $(cat "$pfw_tmp/pids" 2>/dev/null); do
		pfw_is_ours "$_p" && echo "process $_p"
		for _t in /sys/kernel/tracing /sys/kernel/debug/tracing; do
			[ -e "$_t/trace" ] || continue
			ls "$_t/instances" 2>/dev/null | grep "^pfwatch-$_p-"
			cat "$_t/kprobe_events" "$_t/dynamic_events" 2>/dev/null | grep "pfwatch_$_p/"
		done
	done
	for _t in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -e "$_t/trace" ] && cat "$_t/current_tracer" 2>/dev/null
	done
}

# " state left: ...;" for a list of reasons when our runs left kernel state
# (a top-level tracer other than nop counts), else nothing
state_left() {
	[ -z "$(tracing_state | grep -v '^nop$')" ] || echo " state left: $(tracing_state);"
}

# pfwatch as nobody (root bypasses permission bits), its pid recorded
pfw_as_nobody() {
	sh -c 'echo $$ >>"$0"; exec "$@"' "$pfw_tmp/pids" "$RUNAS" 65534 65534 "$PFWATCH" "$@"
}

# row DESC RC LINE [--usage] -- PFWATCH-ARGS...: one row of the bad-input
# matrix, one TAP test: the exit code, stderr being exactly the one line
# LINE (plus util-linux's --help hint for usage errors), and the kernel state
# the same before and after.
row() {
	_desc=$1 _rc=$2 _line=$3
	shift 3
	_usage=0
	[ "$1" = --usage ] && _usage=1 && shift
	[ "$1" = -- ] && shift
	_before=$(tracing_state)
	"$@" >"$pfw_tmp/row.out" 2>"$pfw_tmp/row.err" </dev/null
	_got=$?
	sleep 0.1
	_after=$(tracing_state)
	_first=$(sed -n 1p "$pfw_tmp/row.err")
	_n=$(wc -l <"$pfw_tmp/row.err")
	_want_n=1
	[ $_usage = 1 ] && _want_n=2
	_why=
	[ "$_got" = "$_rc" ] || _why="$_why exit $_got, want $_rc;"
	case "$_line" in
	*'*') case "$_first" in ${_line%\*}*) ;; *) _why="$_why line does not start as wanted;" ;; esac ;;
	*) [ "x$_first" = "x$_line" ] || _why="$_why wrong line;" ;;
	esac
	[ "$_n" -eq "$_want_n" ] || _why="$_why $_n lines on stderr, want $_want_n;"
	if [ $_usage = 1 ] && [ "$(sed -n 2p "$pfw_tmp/row.err")" != "Try 'pfwatch --help' for more information." ]; then
		_why="$_why no --help hint;"
	fi
	[ "x$_before" = "x$_after" ] || _why="$_why kernel state changed: '$_before' -> '$_after';"
	ok_why "$_desc" "$_why" "want: $_line" || diag_file "$pfw_tmp/row.err" 5
}
