#!/bin/sh
# The layering rule of doc/ARCHITECTURE.md, checked on the sources: a file
# includes pfwatch headers from its own layer or below, never above.
#   compat (0) < common/lib (1) < common/host (2) < common/model (3)
#   < backends/, perf/, bpf/, ftrace/ (4) < common/output (5)
#   < common/fleet (6) < common/frontend (7)
# One test point per source file; a failure names the include that points
# up. No privileges, no build needed.
set -u
src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src" || exit 99

rank() {
	case "$1" in
	compat/*) echo 0 ;;
	common/lib/*) echo 1 ;;
	common/host/*) echo 2 ;;
	common/model/*) echo 3 ;;
	backends/* | perf/* | bpf/* | ftrace/*) echo 4 ;;
	common/output/*) echo 5 ;;
	common/fleet/*) echo 6 ;;
	common/frontend/*) echo 7 ;;
	esac
}

# every pfwatch header by name -> its path (names are unique in the tree)
headers=$(find compat common backends perf bpf ftrace -name '*.h' ! -name '*.skel.h' | sort)
files=$(find common backends perf bpf ftrace -name '*.[ch]' ! -name '*.skel.h' ! -name '*.bpf.c' |
	sort)
dups=$(for h in $headers; do basename "$h"; done | sort | uniq -d)
n=1
for f in $files; do n=$((n + 1)); done
echo "1..$n"
if [ -z "$dups" ]; then
	echo "ok 1 - every header name is unique, so an include names one layer"
else
	echo "not ok 1 - header names used twice: $dups"
fi
i=1
for f in $files; do
	i=$((i + 1))
	r=$(rank "$f")
	up=
	for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		hp=$(printf '%s\n' $headers | grep "/$h\$" | head -n 1)
		[ -n "$hp" ] || continue # config.h, a skeleton, a system header
		hr=$(rank "$hp")
		[ "$hr" -gt "$r" ] && up="$up $hp"
	done
	if [ -z "$up" ]; then
		echo "ok $i - $f includes nothing from a layer above its own"
	else
		echo "not ok $i - $f includes from above its layer:$up"
	fi
done
