#!/bin/sh
# Unprivileged: as nobody (or as ourselves when not root), pfwatch traces its
# own child with exact major counts on perf (perf_event_paranoid <= 2 allows
# per-task software events with exclude_kernel), and the run record's
# "limits" says what it cannot see. A backend that needs privilege must
# instead exit 3 with a one-line reason.
. "${0%/*}/lib.sh"

pfw_setup noroot
plan 9

paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo unknown)

if [ "$(id -u)" -eq 0 ]; then
	# numeric ids: a busybox guest may have no passwd entry for nobody
	uid=$(id -u nobody 2>/dev/null || echo 65534)
	gid=$(id -g nobody 2>/dev/null || echo 65534)
	as_user() {
		"$RUNAS" "$uid" "$gid" "$@"
	}
	who=nobody
	chmod 755 "$pfw_tmp"
	chmod 666 "$pfw_tmp/pids"
	# the binaries must be readable and executable by nobody: copy them if
	# a directory on their path is private
	pw=$PFWATCH
	wl=$PFWATCH_WORKLOAD
	rp=$REAP
	if ! as_user test -x "$pw" || ! as_user test -x "$wl" || ! as_user test -x "$rp"; then
		mkdir "$pfw_tmp/bin"
		cp "$PFWATCH" "$pfw_tmp/bin/pfwatch"
		cp "$PFWATCH_WORKLOAD" "$pfw_tmp/bin/pfwatch-workload"
		cp "$REAP" "$pfw_tmp/bin/reap"
		chmod 755 "$pfw_tmp/bin" "$pfw_tmp/bin/pfwatch" "$pfw_tmp/bin/pfwatch-workload" \
			"$pfw_tmp/bin/reap"
		pw=$pfw_tmp/bin/pfwatch
		wl=$pfw_tmp/bin/pfwatch-workload
		rp=$pfw_tmp/bin/reap
	fi
	ud=$pfw_tmp/u
	mkdir "$ud"
	chown "$uid:$gid" "$ud"
else
	as_user() {
		"$@"
	}
	who="uid $(id -u)"
	pw=$PFWATCH
	wl=$PFWATCH_WORKLOAD
	rp=$REAP
	ud=$pfw_tmp
fi

data=$ud/data.dat
args="--exact --size=4M --pattern=random --threads=2 --seed=7"
# shellcheck disable=SC2086
expect=$("$wl" $args --expect)
# shellcheck disable=SC2046,SC2086
as_user sh -c 'echo $$ >>"$0"; exec "$@"' "$pfw_tmp/pids" \
	"$pw" --backend="$pfw_backend" $(pfw_attach_opts) --format=json -o "$ud/out.json" -- \
	"$rp" "$ud/reap" "$wl" $args --file="$data" --json >"$pfw_tmp/wl.json" 2>"$pfw_tmp/err"
st=$?
diag "as $who, backend $pfw_backend, perf_event_paranoid=$paranoid: pfwatch exit $st"

must_work=no
[ "$pfw_backend" = perf ] && [ "$paranoid" != unknown ] && [ "$paranoid" -le 2 ] && must_work=yes

if [ "$st" -eq 3 ] && [ "$must_work" = no ]; then
	ok "$pfw_backend as $who: unavailable, exit 3"
	if [ "$(wc -l <"$pfw_tmp/err" | tr -d ' ')" -ge 1 ] && grep -q '^pfwatch: .*'"$pfw_backend" "$pfw_tmp/err"; then
		ok "$pfw_backend as $who: stderr names the backend and the reason"
	else
		not_ok "$pfw_backend as $who: stderr names the backend and the reason" "$(diag_file "$pfw_tmp/err")"
	fi
	diag "$(head -n 3 "$pfw_tmp/err")"
	for d in "JSON valid" "run major = majflt" "run major = --expect" "file record" "limits and ip"; do
		skip "$pfw_backend as $who: $d" "backend unavailable unprivileged"
	done
else
	check "$st" "$pfw_backend as $who: pfwatch -- pfwatch-workload exits 0" "exit status $st" \
		"$(diag_file "$pfw_tmp/err")"
	json_valid "$pfw_backend as $who: output is valid JSON Lines" "$ud/out.json"
	# reap, the workload's parent, reads its majflt up to its exit (which
	# pfwatch traces too) and its own: the run's
	majflt=$(reap_total "$ud/reap")
	run_major=$(json_last "$ud/out.json" run major 2>/dev/null)
	diag "expected $expect, majflt $majflt, pfwatch $run_major"
	is_num_eq "$pfw_backend as $who: run major = majflt of the workload and reap" "$run_major" "$majflt"
	is_expected "$pfw_backend as $who: run major = --expect" "$run_major" "$majflt" "$expect" \
		"the workload's own majflt $majflt differs from --expect $expect"
	file_record_is "$pfw_backend as $who: file record major, pages = expected" "$ud/out.json" "$data" "$expect"
	limits=$(json_last "$ud/out.json" run limits 2>/dev/null)
	case "$limits" in
	"" | missing | null)
		if [ "$(id -u)" -eq 0 ] || [ "$pfw_backend" != perf ]; then
			skip "$pfw_backend as $who: run record says what it cannot see" "not the perf backend without privilege"
		else
			not_ok "$pfw_backend as $who: run record says what it cannot see" "limits: $limits"
		fi
		;;
	*)
		ok "$pfw_backend as $who: run record says what it cannot see"
		diag "limits: $limits"
		;;
	esac
	# exclude_kernel: whatever is reported was taken in user mode, so every
	# fault record on the data file has a user ip (the workload's code)
	"$JSONCHECK" get "$ud/out.json" fault x:path ip 2>/dev/null | grep "^$(hexof "$data")	" >"$pfw_tmp/ips"
	nip=$(grep -c '	null$' "$pfw_tmp/ips")
	if [ -s "$pfw_tmp/ips" ] && [ "$nip" -eq 0 ]; then
		ok "$pfw_backend as $who: every fault on the data file has a user ip"
	else
		not_ok "$pfw_backend as $who: every fault on the data file has a user ip" \
			"$(wc -l <"$pfw_tmp/ips") faults on the file, $nip without ip"
	fi
fi

# unprivileged, -p on a process of another user must be refused, with exit 1
if [ "$(id -u)" -eq 0 ]; then
	# shellcheck disable=SC2046
	as_user "$pw" --backend="$pfw_backend" $(pfw_attach_opts) -q -o /dev/null -d 1 -p 1 2>"$pfw_tmp/err"
	st=$?
	case $st in
	1 | 3) ok "$pfw_backend as $who: -p 1 (root's init) refused with exit $st" ;;
	*) not_ok "$pfw_backend as $who: -p 1 (root's init) refused with exit 1 or 3" "exit status $st" "$(diag_file "$pfw_tmp/err")" ;;
	esac
else
	skip "-p of another user's process" "not root: no second user to compare with"
fi

leak_check
done_testing
