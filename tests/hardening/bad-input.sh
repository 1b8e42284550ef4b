#!/bin/sh
# The bad-input matrix (issue 7): every row one test asserting the exact
# message line (with its remedy), the documented exit code and that no
# tracing state is left. The CLI value table itself lives in
# tests/unit/test-cli.c; here each kind of bad input goes end to end through
# the real binary, and the rows that reach a backend run on every backend
# available here.
. "${top_srcdir:-.}/tests/hardening/lib-hardening.sh"
pfw_timeout=${PFW_RUN_TIMEOUT:-20}
pfw_setup
backends=$(available_backends)
nb=$(echo $backends | wc -w)
plan $((20 + 11 * nb + 4))

U="Try 'pfwatch --help' for more information."
# usage errors (2): non-numeric, negative, overflow, empty, unknown names
row "--pid non-numeric" 2 "pfwatch: invalid --pid 'abc': 'abc' is not a process id" --usage -- pfw_run --pid=abc
row "--pid negative" 2 "pfwatch: invalid --pid '-5': '-5' is not a process id" --usage -- pfw_run --pid=-5
row "--pid overflow" 2 "pfwatch: invalid --pid '99999999999': '99999999999' is out of range" --usage -- pfw_run --pid=99999999999
row "--pid empty" 2 "pfwatch: invalid --pid '': expected PID[,PID...]" --usage -- pfw_run --pid=
row "--duration non-numeric" 2 "pfwatch: invalid --duration 'ten': expected seconds, like 10 or 0.5" --usage -- pfw_run --duration=ten
row "--duration negative" 2 "pfwatch: invalid --duration '-1': expected seconds, like 10 or 0.5" --usage -- pfw_run --duration=-1
row "--duration overflow" 2 "pfwatch: --duration '99999999999999999999' is out of range" --usage -- pfw_run --duration=99999999999999999999
row "--duration zero" 2 "pfwatch: invalid --duration '0': must be greater than 0" --usage -- pfw_run --duration=0
row "--interval empty" 2 "pfwatch: invalid --interval '': expected seconds, like 10 or 0.5" --usage -- pfw_run --interval=
row "--backend unknown" 2 "pfwatch: invalid --backend 'dtrace' (choose auto, bpf, perf or ftrace)" --usage -- pfw_run --backend=dtrace
row "--view unknown" 2 "pfwatch: invalid --view 'pie' (choose events, summary, top, hist, folded, callsites or heatmap)" --usage -- pfw_run --view=pie
row "--format unknown" 2 "pfwatch: invalid --format 'xml' (choose text, json or csv)" --usage -- pfw_run --format=xml
row "--faults unknown" 2 "pfwatch: invalid --faults 'some' (choose major, minor or all)" --usage -- pfw_run --faults=some
row "--bpf-attach unknown" 2 "pfwatch: invalid --bpf-attach 'uprobe' (choose auto, fentry, kprobe, tp or kprobe-nobtf)" --usage -- pfw_run --bpf-attach=uprobe
row "--ftrace-attach unknown" 2 "pfwatch: invalid --ftrace-attach 'fprobe' (choose auto, graph or events)" --usage -- pfw_run --ftrace-attach=fprobe
row "--comm too long" 2 "pfwatch: invalid --comm 'abcdefghijklmnopq': the kernel keeps at most 15 bytes of a command name" --usage -- pfw_run --comm=abcdefghijklmnopq
row "--output empty" 2 "pfwatch: invalid --output '': expected a file name" --usage -- pfw_run --output= -- true
row "unknown option" 2 "pfwatch: unrecognized option '--frobnicate'" --usage -- pfw_run --frobnicate
row "--cgroup that does not exist" 1 "pfwatch: --cgroup '/sys/fs/cgroup/pfw-no-such-cgroup': no such cgroup under *" -- pfw_run --cgroup=/sys/fs/cgroup/pfw-no-such-cgroup -- true
row "-u unknown user" 1 "pfwatch: unknown user 'pfw-no-such-user'" -- pfw_run -u pfw-no-such-user -- true

# a pid that does not exist: one that just exited (pid reuse within the
# test is practically impossible)
sh -c 'exit 0' &
gone=$!
wait $gone
mkdir -p "$pfw_tmp/ro"
mkfifo "$pfw_tmp/fifo"
echo precious >"$pfw_tmp/victim"
ln -s "$pfw_tmp/victim" "$pfw_tmp/planted"
printf 'not a program\n' >"$pfw_tmp/noexec"
chmod 0644 "$pfw_tmp/noexec"
chmod 0755 "$pfw_tmp"
for b in $backends; do
	row "$b: a pid that does not exist" 1 "pfwatch: no such process: $gone; check the pid with ps" -- pfw_run -b "$b" -p "$gone"
	row "$b: a kernel thread's pid" 1 "pfwatch: process 2 has no user address space (a kernel thread or exiting); give a user process" -- pfw_run -b "$b" -p 2
	row "$b: output in a missing directory" 1 "pfwatch: cannot create '$pfw_tmp/no/dir/out': No such file or directory; create the directory first or choose another --output" -- pfw_run -b "$b" -o "$pfw_tmp/no/dir/out" -- true
	row "$b: output is a FIFO without a reader (no hang)" 1 "pfwatch: cannot create '$pfw_tmp/fifo': it is a FIFO with no reader; start the reader first" -- pfw_run -b "$b" -o "$pfw_tmp/fifo" -- true
	row "$b: output is a planted symlink" 1 "pfwatch: cannot create '$pfw_tmp/planted': it is a symbolic link; give the real path" -- pfw_run -b "$b" -o "$pfw_tmp/planted" -- true
	row "$b: COMMAND not found" 127 "pfwatch: cannot run '$pfw_tmp/no-such-cmd': No such file or directory" -- pfw_run -b "$b" -- "$pfw_tmp/no-such-cmd"
	row "$b: COMMAND not executable" 126 "pfwatch: cannot run '$pfw_tmp/noexec': Permission denied" -- pfw_run -b "$b" -- "$pfw_tmp/noexec"
	row "$b: COMMAND not in PATH" 127 "pfwatch: cannot run 'pfw-no-such-command': No such file or directory" -- pfw_run -b "$b" -- pfw-no-such-command
	row "$b: --list-backends output in a missing directory" 1 "pfwatch: cannot create '$pfw_tmp/no/dir/out': No such file or directory; create the directory first or choose another --output" -- pfw_run -b "$b" --list-backends -o "$pfw_tmp/no/dir/out"
	# as nobody: root bypasses permission bits
	row "$b: output without write permission (as nobody)" 1 "pfwatch: cannot create '$pfw_tmp/ro/out': Permission denied; choose another --output" -- pfw_as_nobody -b "$b" -o "$pfw_tmp/ro/out" -- true
	case $b in
	bpf) want="pfwatch: bpf backend unavailable: needs root or CAP_BPF+CAP_PERFMON" ;;
	ftrace) want="pfwatch: ftrace backend unavailable: needs root (tracefs is root-only); run as root or choose --backend=perf" ;;
	perf) want="pfwatch: perf backend system-wide tracing needs root or CAP_PERFMON*" ;;
	esac
	if [ "$b" = perf ] && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -lt 1 ]; then
		skip "$b: system-wide without privileges" "perf_event_paranoid < 1 allows it"
	elif [ "$b" = perf ]; then
		# the row's single line is perf's; the other backends' reasons follow
		_st=0
		pfw_as_nobody -b perf -d 1 >/dev/null 2>"$pfw_tmp/np.err"
		_st=$?
		if [ $_st = 3 ] && [ "$(wc -l <"$pfw_tmp/np.err")" = 1 ] && grep -q "^${want%\*}.*; run as root" "$pfw_tmp/np.err"; then
			ok "$b: system-wide without privileges: exit 3, one line with the remedy"
		else
			not_ok "$b: system-wide without privileges: exit 3, one line with the remedy" "exit $_st"
			diag_file "$pfw_tmp/np.err"
		fi
	else
		row "$b: without the privileges it needs (as nobody)" 3 "$want" -- pfw_as_nobody -b "$b" -- true
	fi
done
ls -l "$pfw_tmp/ro" | grep -q out && not_ok "nothing created in the read-only directory" || ok "nothing created in the read-only directory"
[ -p "$pfw_tmp/fifo" ] && ok "the FIFO is still a FIFO" || not_ok "the FIFO is still a FIFO"
is_eq "the planted symlink's target was not truncated" "$(cat "$pfw_tmp/victim")" precious
leak_check
done_testing
