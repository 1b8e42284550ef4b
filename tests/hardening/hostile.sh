#!/bin/sh
# Hostile strings (issue 7) in every view and format, on every backend
# available here: a thread name with an escape sequence, a newline and an
# invalid UTF-8 byte faults on four files: a name with quote, comma,
# OSC/CSI escapes, tab, newline, UTF-8 and a fake " (deleted)"; a name with
# invalid UTF-8; a 4095-byte path (PATH_MAX with its NUL); a file deleted
# before it was mapped. JSON stays valid JSON Lines (and decodes back to the
# exact bytes where they are UTF-8), CSV stays rectangular, text has one
# line per fault and no raw control byte. tests/integration/faulter-names.sh
# covers the per-thread exactness of the events view.
. "${top_srcdir:-.}/tests/hardening/lib-hardening.sh"
pfw_setup
backends=$(available_backends)
[ -n "$backends" ] || skip_all "no backend available here"
plan $(($(echo $backends | wc -w) * 10 + 1))

D=$pfw_tmp/h
mkdir -p "$D"
A=$D/$(printf 'q"uo,te \033]0;title\007 \303\251\nnl\ttab (deleted)')
B=$D/$(printf 'bad\377\376utf8')
# 4095 bytes: directories of 200 bytes, then a file name (<= NAME_MAX) filling the rest
L=$D
seg=$(printf '%0200d' 0 | tr 0 d)
while [ $((4095 - ${#L} - 1)) -gt 255 ]; do
	L=$L/$seg
done
mkdir -p "$L" || bail "cannot make the long directory"
rest=$((4095 - ${#L} - 1))
L=$L/$(printf "%0${rest}d" 0 | tr 0 f)
[ ${#L} -eq 4095 ] || bail "long path is ${#L} bytes, want 4095"
E=$D/gone
comm=$(printf 'c\033[2J\n\377x')
hexA=$(hexof "$A")
hexL=$(hexof "$L")
hexE=$(hexof "$E (deleted)")

for b in $backends; do
	for view in events summary hist; do
		for fmt in json csv text; do
			out=$pfw_tmp/o.$b.$view.$fmt
			PROBE_LINGER=300 pfw_run -b "$b" --view=$view -f $fmt -o "$out" -- "$PROBE" touch "$comm" "$A" "$B" "$L" "$E:del" \
				>"$out.probe" 2>"$out.err"
			st=$?
			why= inexact=
			# 64 on the files; the probe's own majflt also holds a text
			# page of its binary or libc read back in, as the run does
			want=$(sed -n 's/^majflt //p' "$out.probe")
			[ -n "$want" ] || want=64
			[ $st = 0 ] || why="$why exit $st;"
			case $fmt in
			json)
				"$JSONCHECK" validate "$out" >/dev/null 2>"$out.jerr" || why="$why invalid JSON: $(cat "$out.jerr");"
				[ "$(json_last "$out" run major)" = "$want" ] || why="$why run major $(json_last "$out" run major), want $want (the probe's majflt);"
				if [ $view != hist ]; then
					"$JSONCHECK" get "$out" file x:path major >"$out.files" 2>/dev/null
					for h in "$hexA" "$hexL" "$hexE"; do
						grep -q "^$h	16$" "$out.files" || inexact="$inexact file $("$JSONCHECK" cescape "$h" | cut -c1-60)... not decoded exactly with 16 majors;"
					done
					[ "$want" != 64 ] || [ "$(wc -l <"$out.files")" = 4 ] || why="$why $(wc -l <"$out.files") file records, want 4;"
				fi
				;;
			csv)
				"$JSONCHECK" csv "$out" >/dev/null 2>"$out.cerr" || why="$why CSV not rectangular: $(cat "$out.cerr");"
				;;
			text)
				no_control_bytes "$out" || why="$why raw control bytes;"
				if [ $view = events ]; then
					# fault lines: from the header to the first empty line
					n=$(awk '/TIME\(s\)/ {on = 1; next} on && /^$/ {exit} on {n++} END {print n + 0}' "$out")
					[ "$n" = "$want" ] || why="$why $n fault lines, want $want (one per fault);"
				fi
				;;
			esac
			if [ -z "$why" ] && [ -z "$inexact" ]; then
				ok "$b: --view=$view --format=$fmt: hostile names stay safe"
			else
				not_ok "$b: --view=$view --format=$fmt: hostile names stay safe" "$why$inexact"
				diag_file "$out.err" 3
			fi
		done
	done
	# the thread name: escaped in text, exact in JSON
	out=$pfw_tmp/o.$b.events.json
	got=$("$JSONCHECK" get "$out" thread x:comm 2>/dev/null | head -n 1)
	# \377 is not UTF-8: it may come back as U+FFFD or U+00FF, never raw
	case "$got" in
	$(hexof "$(printf 'c\033[2J\nx')") | *ff78 | *efbfbd78 | *c3bf78)
		case "$got" in 631b5b324a0a*) ok "$b: thread name decoded with its escape and newline intact" ;;
		*) not_ok "$b: thread name decoded with its escape and newline intact" "got hex $got" ;; esac ;;
	*) not_ok "$b: thread name decoded with its escape and newline intact" "got hex $got" ;;
	esac
done
leak_check
done_testing
