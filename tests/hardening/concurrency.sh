#!/bin/sh
# Concurrency (issue 7): two pfwatch runs at once, with the same backend and
# with different ones, each tracing its own workload: both exact (every page
# one major fault, as the workload's own majflt says) and neither disturbs
# the other (no fault of the other's file, nothing left behind).
. "${top_srcdir:-.}/tests/hardening/lib-hardening.sh"
pfw_setup
backends=$(available_backends)
[ -n "$backends" ] || skip_all "no backend available here"
pairs=
for a in $backends; do
	for b in $backends; do
		case " $pairs " in *" $b+$a "*) continue ;; esac
		pairs="$pairs $a+$b"
	done
done
plan $(($(echo $pairs | wc -w) + 1))

one() { # backend tag: 1 MiB, 256 pages, 2 ms between accesses so the runs overlap
	pfw_run -b "$1" -f json --view=summary -o "$pfw_tmp/$2.json" -- "$REAP" "$pfw_tmp/$2.reap" \
		"$PFWATCH_WORKLOAD" --exact --size=1M --delay=2000 --file="$pfw_tmp/$2.dat" --json \
		>"$pfw_tmp/$2.w" 2>"$pfw_tmp/$2.err"
}

file_major() { # json path
	grep '"record":"file"' "$1" | grep -F "\"path\":\"$2\"" | sed -n 's/.*"major":\([0-9]*\).*/\1/p'
}

for p in $pairs; do
	a=${p%+*} b=${p#*+}
	one "$a" A &
	ja=$!
	one "$b" B &
	jb=$!
	wait $ja
	sa=$?
	wait $jb
	sb=$?
	why=
	for t in A B; do
		want=$(reap_total "$pfw_tmp/$t.reap")
		got=$(json_last "$pfw_tmp/$t.json" run major)
		mine=$(file_major "$pfw_tmp/$t.json" "$pfw_tmp/$t.dat")
		other=A
		[ $t = A ] && other=B
		theirs=$(file_major "$pfw_tmp/$t.json" "$pfw_tmp/$other.dat")
		# the run holds the process's every major (a text page read back in
		# beside the file's, or at its exit), and reap's: the run is their
		# majflt, the file its 256 pages
		[ "$got" = "$want" ] && [ "$mine" = 256 ] || why="$why $t: run major '$got', majflt of the workload and reap '$want', file major '$mine' (want 256);"
		[ -z "$theirs" ] || why="$why $t saw $theirs faults of the other run's file;"
	done
	[ "$sa$sb" = 00 ] || why="$why exit $sa/$sb;"
	why="$why$(state_left)"
	if ! ok_why "$a and $b at once: both exact (256 majors each), neither sees the other" "$why"; then
		diag_file "$pfw_tmp/A.err" 3
		diag_file "$pfw_tmp/B.err" 3
	fi
	rm -f "$pfw_tmp"/A.* "$pfw_tmp"/B.*
done
leak_check
done_testing
