#!/bin/sh
# make check-valgrind (issue 7): the unprivileged lane (tests/vm/
# lane-unprivileged.sh: nobody, no capabilities) with every pfwatch run under
# valgrind memcheck. Passes when the lane passes and no run reported a
# memory error or a definite leak. TAP on stdout.
set -u
src=${top_srcdir:?}
bld=${top_builddir:?}
command -v valgrind >/dev/null 2>&1 || {
	echo "1..0 # SKIP valgrind not installed (apt-get install valgrind)"
	exit 0
}
mkdir -p "$bld/tests/vm"
vg=$(mktemp -d "$bld/tests/vm/valgrind.XXXXXX") && [ -n "$vg" ] || {
	echo "Bail out! cannot make a directory under $bld/tests/vm"
	exit 99
}
echo "1..2"
chmod 0755 "$vg"
mkdir "$vg/logs"
chmod 1777 "$vg/logs"
# the lane runs everything as nobody: the wrapper and the logs must be theirs to use
cat >"$vg/pfwatch" <<EOW
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
	--errors-for-leak-kinds=definite --log-file=$vg/logs/vg.%p $bld/pfwatch "\$@"
EOW
chmod 0755 "$vg/pfwatch"
PFWATCH=$vg/pfwatch PFW_RUN_TIMEOUT=${PFW_RUN_TIMEOUT:-600} sh "$src/tests/vm/lane-unprivileged.sh" >"$vg/lane.tap" 2>&1
rc=$?
nr=$(ls "$vg/logs" | wc -l)
if [ $rc = 0 ] && ! grep -q '^not ok' "$vg/lane.tap"; then
	echo "ok 1 - the unprivileged lane passes with pfwatch under valgrind ($nr runs)"
else
	echo "not ok 1 - the unprivileged lane passes with pfwatch under valgrind (exit $rc)"
	grep '^not ok' "$vg/lane.tap" | head -n 20 | sed 's/^/# /'
fi
bad=
for f in "$vg"/logs/vg.*; do
	[ -s "$f" ] && bad="$bad $f"
done
if [ -z "$bad" ] && [ "$nr" -gt 0 ]; then
	echo "ok 2 - valgrind: no memory error, no definite leak in $nr pfwatch runs"
	rm -rf "$vg"
	exit $((rc != 0))
fi
echo "not ok 2 - valgrind: no memory error, no definite leak in $nr pfwatch runs"
for f in $bad; do
	head -n 30 "$f" | sed 's/^/# /'
done
echo "# logs kept in $vg"
exit 1
