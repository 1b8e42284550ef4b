#!/bin/sh
# Signals and cleanup (issue 7), on every backend available here:
# SIGINT/SIGTERM/SIGHUP drain, write the run record last, end the command and
# leave no kernel state, exit 128+N; a closed output pipe ends pfwatch
# quietly; the traced command killed and a traced pid exiting end the run
# with the right status; after SIGKILL only what the next run removes by
# itself (with a message) is left.
. "${top_srcdir:-.}/tests/hardening/lib-hardening.sh"
pfw_setup
backends=$(available_backends)
[ -n "$backends" ] || skip_all "no backend available here"
plan $(($(echo $backends | wc -w) * 7 + 1))

# the command writes its pid, then makes minor faults until killed

for b in $backends; do
	for sig in INT TERM HUP; do
		case $sig in INT) n=2 ;; TERM) n=15 ;; HUP) n=1 ;; esac
		rm -f "$pfw_tmp/cmd.pid"
		pfw_run -b "$b" -F all --view=summary -f json -o "$pfw_tmp/s.json" -- sh -c "echo \$\$ >$pfw_tmp/cmd.pid; exec $PROBE storm 60" 2>"$pfw_tmp/s.err" &
		bg=$!
		wait_for_pidfile=0
		while [ ! -s "$pfw_tmp/cmd.pid" ] && [ $wait_for_pidfile -lt 100 ]; do sleep 0.1; wait_for_pidfile=$((wait_for_pidfile + 1)); done
		sleep 1
		kill -$sig "$(tail -n 1 "$pfw_tmp/pids")"
		wait $bg
		st=$?
		cmd=$(cat "$pfw_tmp/cmd.pid" 2>/dev/null)
		last=$(tail -n 1 "$pfw_tmp/s.json")
		why=
		[ $st = $((128 + n)) ] || why="$why exit $st, want $((128 + n));"
		[ "$(json_str record "$last")" = run ] || why="$why last line is not the run record: $last;"
		case "$last" in *"\"exit_status\":$((128 + n))"*) ;; *) why="$why run record exit_status;" ;; esac
		case "$last" in *'"faults":0,'*) why="$why no fault drained;" ;; esac
		[ -n "$cmd" ] && kill -0 "$cmd" 2>/dev/null && why="$why the command $cmd still runs;" && kill -KILL "$cmd"
		why="$why$(state_left)"
		ok_why "$b: SIG$sig drains, run record last, command ended, nothing left, exit $((128 + n))" "$why" ||
			diag_file "$pfw_tmp/s.err" 5
	done

	# EPIPE: the reader goes away after one line
	rm -f "$pfw_tmp/cmd.pid"
	t0=$(date +%s)
	pfw_run -b "$b" -F all -- sh -c "echo \$\$ >$pfw_tmp/cmd.pid; exec $PROBE storm 60" 2>"$pfw_tmp/p.err" | head -n 1 >/dev/null
	t1=$(date +%s)
	cmd=$(cat "$pfw_tmp/cmd.pid" 2>/dev/null)
	sleep 0.2
	why=
	[ $((t1 - t0)) -lt 20 ] || why="$why took $((t1 - t0)) s;"
	[ -s "$pfw_tmp/p.err" ] && why="$why stderr not quiet;"
	[ -n "$cmd" ] && kill -0 "$cmd" 2>/dev/null && why="$why the command still runs;" && kill -KILL "$cmd"
	why="$why$(state_left)"
	ok_why "$b: output pipe closed: quiet exit, command ended, nothing left" "$why" ||
		diag_file "$pfw_tmp/p.err" 5

	# the traced command killed
	rm -f "$pfw_tmp/cmd.pid"
	pfw_run -b "$b" -f json -o "$pfw_tmp/k.json" -- sh -c "echo \$\$ >$pfw_tmp/cmd.pid; exec sleep 60" 2>"$pfw_tmp/k.err" &
	bg=$!
	i=0
	while [ ! -s "$pfw_tmp/cmd.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 0.5
	kill -KILL "$(cat "$pfw_tmp/cmd.pid")"
	wait $bg
	st=$?
	last=$(tail -n 1 "$pfw_tmp/k.json")
	case "$st:$last" in
	137:*'"record":"run"'*'"exit_status":137'*) ok "$b: traced command SIGKILLed: exit 137, run record last" ;;
	*) not_ok "$b: traced command SIGKILLed: exit 137, run record last" "exit $st, last: $last" ;;
	esac

	# a traced pid exiting ends the run by itself
	sleep 2 &
	target=$!
	pfw_run -b "$b" -f json -o "$pfw_tmp/p.json" -p "$target" 2>"$pfw_tmp/pe.err"
	st=$?
	wait $target
	last=$(tail -n 1 "$pfw_tmp/p.json")
	case "$st:$last" in
	0:*'"record":"run"'*) ok "$b: -p target exits: pfwatch ends by itself, exit 0, run record last" ;;
	*) not_ok "$b: -p target exits: pfwatch ends by itself, exit 0, run record last" "exit $st, last: $last" ;;
	esac

	# SIGKILL of pfwatch: only what the next run removes itself, with a message
	pfw_run -b "$b" -o /dev/null -p 1 2>/dev/null &
	bg=$!
	sleep 1.5
	victim=$(tail -n 1 "$pfw_tmp/pids")
	kill -KILL "$victim"
	wait $bg 2>/dev/null
	sleep 0.3
	left=$(tracing_state | grep -v '^nop$')
	if [ -z "$left" ]; then
		ok "$b: SIGKILL of pfwatch leaves nothing (its kernel objects die with its fds)"
	else
		pfw_run -b "$b" -v -d 0.3 -o /dev/null -p 1 2>"$pfw_tmp/next.err"
		inst=$(echo "$left" | grep "^pfwatch-$victim-" | head -n 1)
		if [ -n "$inst" ] && grep -q "removed stale tracefs instance $inst" "$pfw_tmp/next.err" &&
			[ -z "$(state_left)" ]; then
			ok "$b: SIGKILL of pfwatch leaves $inst; the next run removes it and says so"
		else
			not_ok "$b: SIGKILL of pfwatch: the next run removes what is left and says so" "left: $left"
			diag_file "$pfw_tmp/next.err" 5
		fi
	fi
done
leak_check
done_testing
