#!/bin/sh
# Privileges (issue 7): -u USER sets uid, gid and the user's supplementary
# groups and nothing of root reaches the command (no root variable, no fd
# beyond 0-2); --list-backends names what each backend needs; with
# CAP_BPF+CAP_PERFMON as a non-root user pfwatch traces where the kernel
# allows it. A planted symlink at --output is refused (bad-input.sh).
. "${top_srcdir:-.}/tests/hardening/lib-hardening.sh"
pfw_setup
plan 10

# -u nobody: ids and groups; root's variables gone, the login ones set
exec 9</etc/hostname
SECRET_TOKEN=hunter2 XAUTHORITY=/root/.Xauthority LD_LIBRARY_PATH=/root/lib LANG=C.UTF-8 \
	pfw_run -q -o /dev/null -u nobody -- "$PROBE" report >"$pfw_tmp/u.txt" 2>"$pfw_tmp/u.err"
st=$?
exec 9<&-
nobody_gid=$(id -g nobody)
want_groups=$(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ')
got_groups=$(sed -n 's/^groups //p' "$pfw_tmp/u.txt" | tr ' ' '\n' | sort -n | tr '\n' ' ')
is_eq "-u nobody: exit 0, real and effective uid" "$st $(sed -n 's/^uid //p' "$pfw_tmp/u.txt")" "0 $(id -u nobody) $(id -u nobody)"
is_eq "-u nobody: real and effective gid, no root group" "$(sed -n 's/^gid //p' "$pfw_tmp/u.txt") [$got_groups]" "$nobody_gid $nobody_gid [$want_groups]"
leaked=$(grep -E '^env (SECRET_TOKEN|XAUTHORITY|LD_LIBRARY_PATH|PFW_IT_MARK)=' "$pfw_tmp/u.txt")
home=$(getent passwd nobody | cut -d: -f6)
if [ -z "$leaked" ] && grep -qx "env HOME=$home" "$pfw_tmp/u.txt" && grep -qx 'env USER=nobody' "$pfw_tmp/u.txt" &&
	grep -qx 'env LOGNAME=nobody' "$pfw_tmp/u.txt" && grep -qx 'env LANG=C.UTF-8' "$pfw_tmp/u.txt"; then
	ok "-u nobody: root's variables dropped, HOME/USER/LOGNAME are nobody's, the locale kept"
else
	not_ok "-u nobody: root's variables dropped, HOME/USER/LOGNAME are nobody's, the locale kept" "leaked: $leaked"
	diag_file "$pfw_tmp/u.txt" 30
fi
is_eq "-u nobody: no fd beyond 0-2 (an inherited fd 9 included)" "$(grep '^fd ' "$pfw_tmp/u.txt")" ""

# supplementary groups: a user who has some, if this system has one
sup_user=
for u in $(getent passwd | cut -d: -f1); do
	[ "$u" = root ] && continue
	[ "$(id -G "$u" 2>/dev/null | wc -w)" -ge 2 ] && sup_user=$u && break
done
if [ -n "$sup_user" ]; then
	pfw_run -q -o /dev/null -u "$sup_user" -- "$PROBE" report >"$pfw_tmp/g.txt" 2>&1
	is_eq "-u $sup_user: exactly the user's supplementary groups" \
		"$(sed -n 's/^groups //p' "$pfw_tmp/g.txt" | tr ' ' '\n' | sort -n | tr '\n' ' ')" \
		"$(id -G "$sup_user" | tr ' ' '\n' | sort -n | tr '\n' ' ')"
else
	skip "-u USER: supplementary groups" "no user with supplementary groups on this system"
fi

# every backend: no fd pfwatch opened (output file, perf events, BPF maps,
# tracefs files) reaches the command; pfwatch starts with fds 0-2 only
fds_ok=1
for b in $(available_backends); do
	"$PROBE" clean "$PFWATCH" -b "$b" -q -o "$pfw_tmp/out.$b" -- "$PROBE" report >"$pfw_tmp/f.$b" 2>&1
	if grep -q '^fd ' "$pfw_tmp/f.$b"; then
		fds_ok=0
		diag "$b: $(grep '^fd ' "$pfw_tmp/f.$b" | tr '\n' ' ')"
	fi
done
[ $fds_ok = 1 ] && ok "no fd of pfwatch's reaches the command, on every available backend" ||
	not_ok "no fd of pfwatch's reaches the command, on every available backend"

# --list-backends names the privileges each backend needs
"$PFWATCH" --list-backends --format=json >"$pfw_tmp/lb.json" 2>&1
bpfl=$(grep '"backend":"bpf"' "$pfw_tmp/lb.json")
perfl=$(grep '"backend":"perf"' "$pfw_tmp/lb.json")
ftl=$(grep '"backend":"ftrace"' "$pfw_tmp/lb.json")
case "$bpfl" in *CAP_BPF+CAP_PERFMON*) r1=1 ;; *) r1=0 ;; esac
case "$perfl" in *CAP_PERFMON*) r2=1 ;; *) r2=0 ;; esac
case "$ftl" in *root*) r3=1 ;; *) r3=0 ;; esac
is_eq "--list-backends names the capabilities: bpf CAP_BPF+CAP_PERFMON, perf CAP_PERFMON, ftrace root" "$r1$r2$r3" 111

# CAP_BPF+CAP_PERFMON instead of root, as nobody, on bpf and perf: exact
if ! command -v setpriv >/dev/null 2>&1 || ! setpriv --help 2>&1 | grep -q ambient-caps; then
	skip "bpf with CAP_BPF+CAP_PERFMON as nobody" "setpriv with --ambient-caps missing"
	skip "perf with CAP_PERFMON as nobody" "setpriv with --ambient-caps missing"
else
	chmod 0755 "$pfw_tmp"
	mkdir -p "$pfw_tmp/nb"
	chown 65534:65534 "$pfw_tmp/nb"
	for b in bpf perf; do
		caps=+bpf,+perfmon
		[ $b = perf ] && caps=+perfmon
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=$caps --ambient-caps=$caps \
			"$PFWATCH" --list-backends --format=json 2>/dev/null | grep "\"backend\":\"$b\"" >"$pfw_tmp/cap.$b"
		if ! grep -q '"available":true' "$pfw_tmp/cap.$b"; then
			skip "$b with capabilities ($caps) as nobody" "unavailable here: $(json_str detail "$(cat "$pfw_tmp/cap.$b")")"
			continue
		fi
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=$caps --ambient-caps=$caps \
			"$PFWATCH" -b $b -f json -o "$pfw_tmp/nb/cap.$b.json" -- "$PFWATCH_WORKLOAD" --exact --size=1M \
			--file="$pfw_tmp/nb/cap.$b.dat" >/dev/null 2>"$pfw_tmp/cap.$b.err"
		st=$?
		is_eq "$b with capabilities ($caps) as nobody: exit 0, 256 major faults on the file" \
			"$st $(grep '"record":"file"' "$pfw_tmp/nb/cap.$b.json" | grep -F "\"path\":\"$pfw_tmp/nb/cap.$b.dat\"" |
				sed -n 's/.*"major":\([0-9]*\).*/\1/p')" "0 256"
	done
fi
leak_check
done_testing
