#!/bin/sh
# Nothing of the bpf backend survives pfwatch: its programs, maps and links
# are owned by file descriptors and nothing is pinned, so they must be gone
# after a normal exit, Ctrl-C (SIGINT) and SIGKILL. The objects are first
# seen while pfwatch runs, so the check cannot pass by looking at nothing.
. "${top_srcdir:-.}/tests/bpf/lib-bpf.sh"

pfw_setup
require_backend
BPFTOOL=$(command -v bpftool 2>/dev/null || true)
[ -n "$BPFTOOL" ] || for b in /usr/sbin/bpftool /sbin/bpftool; do [ -x "$b" ] && BPFTOOL=$b; done
[ -n "$BPFTOOL" ] || skip_all "bpftool not found: cannot list BPF objects"
"$BPFTOOL" prog show >/dev/null 2>&1 || skip_all "bpftool prog show fails here"
plan 7
diag "bpf attach mode: $pfw_attach"

# "prog ID", "map ID", "link ID" of everything named like ours
objects() {
	"$BPFTOOL" prog show 2>/dev/null | sed -n 's/^\([0-9]*\): .* name pfw_[a-z_]* .*/prog \1/p'
	"$BPFTOOL" map show 2>/dev/null |
		sed -n 's/^\([0-9]*\): .* name \(targets\|tp_entries\|inflights\|events\|scratch\|counters\|agg_[a-z]*\|pfwatch_[a-z.]*\) .*/map \1/p'
	_progs=$("$BPFTOOL" prog show 2>/dev/null | sed -n 's/^\([0-9]*\): .* name pfw_.*/\1/p')
	for _p in $_progs; do
		"$BPFTOOL" link show 2>/dev/null | sed -n "s/^\([0-9]*\): .* prog $_p\( .*\)*\$/link \1/p"
	done
}

# other pfwatch processes (not ours) may own objects named like ours
others_running() {
	for _d in /proc/[0-9]*; do
		_p=${_d#/proc/}
		[ "$(cat "$_d/comm" 2>/dev/null)" = pfwatch ] || continue
		[ "$_p" = "${run_pid:-}" ] && continue
		return 0
	done
	return 1
}

# lines of $2 that are (not) lines of $1, whole-line matches (not
# NR == FNR: with $1 empty that holds all through $2)
lines_not_in() { awk 'FILENAME == ARGV[1] { s[$0] = 1; next } !($0 in s)' "$1" "$2"; }
lines_in() { awk 'FILENAME == ARGV[1] { s[$0] = 1; next } $0 in s' "$1" "$2"; }

scenario() { # name signal(none|INT|KILL)
	objects | sort >"$pfw_tmp/before"
	# shellcheck disable=SC2046
	"$PFWATCH" --backend=bpf $(pfw_attach_opts) -q -o /dev/null -- sleep 5 &
	run_pid=$!
	echo "$run_pid" >>"$pfw_tmp/pids"
	_i=0
	: >"$pfw_tmp/new"
	# under TCG loading and verifying takes seconds: wait while pfwatch lives
	while [ $_i -lt 300 ] && kill -0 "$run_pid" 2>/dev/null; do
		objects | sort >"$pfw_tmp/during"
		# busybox in the guests has no comm(1), and its grep -v -f with an
		# empty pattern file (nothing before) prints nothing
		lines_not_in "$pfw_tmp/before" "$pfw_tmp/during" >"$pfw_tmp/new"
		grep -q '^prog' "$pfw_tmp/new" && grep -q '^map' "$pfw_tmp/new" &&
			{ grep -q '^link' "$pfw_tmp/new" || [ $_i -ge 20 ]; } && break
		sleep 0.1
		_i=$((_i + 1))
	done
	_n=$(wc -l <"$pfw_tmp/new")
	if [ "$_n" -eq 0 ]; then
		diag "$1: nothing new in $_i polls; bpftool prog show now: $("$BPFTOOL" prog show 2>&1 | head -n 4 | tr '\n' '|')"
		diag "  before: $(tr '\n' ' ' <"$pfw_tmp/before") during: $(tr '\n' ' ' <"$pfw_tmp/during")"
	fi
	# Programs and maps must be seen, or the check below looks at nothing.
	# Links are reported but not required: how an attachment shows up in
	# `bpftool link show` depends on the kernel and bpftool versions (perf
	# event links of older kernels are not listed by Debian 12's bpftool),
	# and a link holds a reference to its program, so "no program left"
	# below already means "no link left".
	grep -q '^prog' "$pfw_tmp/new" && grep -q '^map' "$pfw_tmp/new"
	_seen=$?
	diag "$1: $(grep -c '^prog' "$pfw_tmp/new") programs, $(grep -c '^map' "$pfw_tmp/new") maps, $(grep -c '^link' "$pfw_tmp/new") links seen while running"
	[ "$2" = none ] || kill "-$2" "$run_pid" 2>/dev/null
	wait "$run_pid" 2>/dev/null
	# freeing is deferred (RCU, workqueues): give it a moment
	_i=0
	while [ $_i -lt 50 ]; do
		objects | sort >"$pfw_tmp/after"
		left=$(lines_in "$pfw_tmp/new" "$pfw_tmp/after" | tr '\n' ' ')
		[ -z "$left" ] && break
		if others_running; then
			sleep 0.5
		else
			sleep 0.1
		fi
		_i=$((_i + 1))
	done
	[ "$_seen" = 0 ]
	check $? "$1: programs and maps seen while pfwatch runs ($_n objects)"
	[ -z "$left" ]
	check $? "$1: none of them left afterwards" "left: $left"
}

scenario "normal exit" none
scenario "SIGINT" INT
scenario "SIGKILL" KILL
leak_check
done_testing
