#!/bin/sh
# The traced command's exit status is pfwatch's (SPEC.md "Exit status"):
# exit 3 -> 3, killed by SIGTERM -> 143, 0 -> 0, not found -> 127, not
# executable -> 126; the JSON run record carries the same exit_status.
. "${0%/*}/lib.sh"

pfw_setup
require_backend
plan 11

sh_path=$(command -v sh)

pfw_trace -q --format=json -o "$pfw_tmp/out.json" -- "$sh_path" -c 'exit 3' 2>"$pfw_tmp/err"
is_eq "command exits 3 -> pfwatch exits 3" "$?" 3
is_eq "run record exit_status = 3" "$(json_last "$pfw_tmp/out.json" run exit_status 2>/dev/null)" 3

pfw_trace -q --format=json -o "$pfw_tmp/out.json" -- "$sh_path" -c 'kill -TERM $$' 2>"$pfw_tmp/err"
is_eq "command killed by SIGTERM -> pfwatch exits 143" "$?" 143
is_eq "run record exit_status = 143" "$(json_last "$pfw_tmp/out.json" run exit_status 2>/dev/null)" 143

pfw_trace -q -o "$pfw_tmp/out.txt" -- "$sh_path" -c 'exit 0' 2>"$pfw_tmp/err"
is_eq "command exits 0 -> pfwatch exits 0" "$?" 0

pfw_trace -q -o "$pfw_tmp/out.txt" -- "$pfw_tmp/no/such/command" 2>"$pfw_tmp/err"
st=$?
is_eq "command not found -> 127" "$st" 127
# one line, "pfwatch: " + what + what to do
if [ "$(wc -l <"$pfw_tmp/err" | tr -d ' ')" = 1 ] && grep -q '^pfwatch: ' "$pfw_tmp/err"; then
	ok "command not found: one 'pfwatch: ' line on stderr"
else
	not_ok "command not found: one 'pfwatch: ' line on stderr" "$(diag_file "$pfw_tmp/err")"
fi

pfw_trace -q -o "$pfw_tmp/out.txt" -- no-such-command-pfwatch-test 2>"$pfw_tmp/err"
is_eq "command not in PATH -> 127" "$?" 127

printf '#!/bin/sh\nexit 0\n' >"$pfw_tmp/noexec"
chmod 644 "$pfw_tmp/noexec"
pfw_trace -q -o "$pfw_tmp/out.txt" -- "$pfw_tmp/noexec" 2>"$pfw_tmp/err"
is_eq "command not executable -> 126" "$?" 126

# a directory is not executable either (execve gives EACCES)
pfw_trace -q -o "$pfw_tmp/out.txt" -- "$pfw_tmp" 2>"$pfw_tmp/err"
is_eq "command is a directory -> 126" "$?" 126

leak_check
done_testing
