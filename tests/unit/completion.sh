#!/bin/sh
# The bash completion (dist/bash-completion/pfwatch) against the binary it
# completes: every long option `pfwatch --help` lists is offered and nothing
# else; each option with a fixed set of values offers exactly the values
# --help names, which are exactly those the parser's own "choose ..." error
# lists; every option --help shows taking a value has its argument skipped
# when the completion looks for the traced command; --opt=value, short
# options with their argument, a pid list and the traced command (after "--"
# or the first non-option word, completed as that command would be)
# complete as a user expects. Runs the completion
# function under bash with bash-completion's library loaded, as an
# interactive shell would; no privileges.
[ -n "${BASH_VERSION:-}" ] || {
	command -v bash >/dev/null 2>&1 || { echo "1..0 # SKIP bash is not installed"; exit 0; }
	exec bash "$0" "$@"
}
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-$src}
comp=$src/dist/bash-completion/pfwatch
lib=${PFW_BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}
[ -r "$lib" ] || { echo "1..0 # SKIP bash-completion is not installed ($lib; apt-get install bash-completion)"; exit 0; }
[ -x "$build/pfwatch" ] || { echo "1..1"; echo "not ok 1 - $build/pfwatch is not built"; exit 1; }

# bash-completion's library expects an interactive shell's settings
shopt -s extglob progcomp
# shellcheck disable=SC1090
. "$lib"
# shellcheck disable=SC1090
. "$comp"
PATH=$build:$PATH

# TAP helpers (POSIX sh, fine under bash)
# shellcheck disable=SC1090
. "$src/tests/integration/lib.sh"

# complete LINE (the cursor at its end) as readline would: the words split
# at COMP_WORDBREAKS, the function bound to the first word called; prints
# the candidates sorted, one line, space-separated
complete_line() { # line
	COMP_LINE=$1
	COMP_POINT=${#1}
	# the word under the cursor is empty when the line ends in a space
	eval "COMP_WORDS=($1)"
	case $1 in *' ') COMP_WORDS+=("") ;; esac
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	local f
	f=$(complete -p "${COMP_WORDS[0]}" 2>/dev/null | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
	[ -n "$f" ] || { echo "(no completion for ${COMP_WORDS[0]})"; return; }
	"$f" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
	printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

help=$("$build/pfwatch" --help)

# 1. the long options: exactly those --help lists (with "=" where they take
# a value, as bash-completion offers them)
want=$(printf '%s\n' "$help" | grep -E '^ +(-[a-zA-Z], )?--' |
	sed -E 's/^ +(-[a-zA-Z], )?(--[a-z-]+)(=|\[=)?.*/\2\3/; s/\[=$//' | sort -u | tr '\n' ' ' | sed 's/ $//')
got=$(complete_line 'pfwatch --')
is_eq "pfwatch --<TAB> offers exactly the long options of --help ($(echo "$want" | wc -w))" "$got" "$want"

# 2. each option with a fixed set of values: exactly those --help names
# ("auto, bpf, perf or ftrace (default: auto)", over continuation lines:
# 20 spaces spelled out, mawk has no {n,} intervals)
help_values() { # option
	printf '%s\n' "$help" | awk -v o="$1" '
		$0 ~ "^ +(-[a-zA-Z], )?" o "=" { on = 1; sub(/^ +(-[a-zA-Z], )?--[a-z-]+=[A-Z]+ +/, ""); t = $0; next }
		on && /^                    / { sub(/^ +/, ""); t = t " " $0; next }
		on { exit }
		END {
			sub(/\(default.*/, "", t); gsub(/\([^)]*\)/, "", t); gsub(/;.*/, "", t)
			gsub(/,| or /, " ", t); print t }' | tr ' ' '\n' | grep . | sort | tr '\n' ' ' | sed 's/ $//'
}
# and the parser accepts exactly those: its "choose ..." message lists them
# from the tables it matches against (the registry, the views, the formats)
parser_values() { # option
	"$build/pfwatch" "$1=@" 2>&1 | sed -n 's/.*(choose \(.*\))$/\1/p' |
		sed 's/,//g; s/ or / /' | tr ' ' '\n' | grep . | sort | tr '\n' ' ' | sed 's/ $//'
}
for o in backend bpf-attach ftrace-attach faults view format; do
	want=$(help_values "--$o")
	got=$(complete_line "pfwatch --$o ")
	if [ -n "$want" ]; then
		is_eq "pfwatch --$o <TAB> offers exactly what --help names: $want" "$got" "$want"
	else
		not_ok "--help names the values of --$o" "$help"
	fi
	is_eq "--help names exactly the values the parser accepts for --$o" "$want" "$(parser_values "--$o")"
done

# every option --help shows with a value to give (not --serve[=..]) is
# known to take the next word: what follows it is still pfwatch's own, not
# the start of the traced command
takes_arg=$(printf '%s\n' "$help" | grep -E '^ +(-[a-zA-Z], )?--[a-z-]+=' |
	sed -E 's/^ +(-([a-zA-Z]), )?(--[a-z-]+)=.*/\3 -\2/; s/ -$//')
bad=
n=0
for opt in $takes_arg; do
	n=$((n + 1))
	got=$(complete_line "pfwatch $opt x --for")
	[ "$got" = "--format=" ] || bad="$bad $opt ($got)"
done
is_eq "each of the $n options (long and short) that take a value skips it: 'pfwatch OPT x --for<TAB>'" "$bad" ""

# 3. the other spellings of an option with a value
is_eq "pfwatch --backend=p<TAB> completes the value" "$(complete_line 'pfwatch --backend=p')" "perf"
is_eq "pfwatch -f j<TAB> (short option, separate argument)" "$(complete_line 'pfwatch -f j')" "json"
is_eq "an earlier option and its argument are skipped" "$(complete_line 'pfwatch -b bpf --view=s')" "summary"
# (pids come and go while the test runs: the form, and pid 1, not the set)
got=$(complete_line 'pfwatch -p 1,')
echo " $got " | grep -q ' 1,1 ' && [ -z "$(echo "$got" | tr ' ' '\n' | grep -v -E '^1,[0-9]+$')" ]
check $? "pfwatch -p 1,<TAB>: the pid list's next element, pid 1 among them ($(echo "$got" | wc -w) pids)" "got: $got"

# 4. the traced command: its name, then its own completion
is_eq "pfwatch <command><TAB> completes a command" "$(complete_line 'pfwatch pfwatch-work')" "pfwatch-workload"
is_eq "after --, a command" "$(complete_line 'pfwatch -b perf -- pfwatch-work')" "pfwatch-workload"
is_eq "the traced command's arguments complete as that command's (here pfwatch's own)" \
	"$(complete_line 'pfwatch -d 5 -- pfwatch --backend=b')" "bpf"
is_eq "without --, the first word that is not an option starts the command" \
	"$(complete_line 'pfwatch -q pfwatch --for')" "--format="

echo "1..$_tap_n"
done_testing
