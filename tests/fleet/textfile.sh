#!/bin/sh
# pfwatch --metrics-file for node_exporter's textfile collector (Debian's
# prometheus-node-exporter): the file is replaced atomically, node_exporter
# parses it without error and reports exactly the workload file's major
# faults and refaults (pfwatch_file_refaults_total: the workload reads its
# file twice, evicting it in between); after SIGTERM the file holds the final
# counts and no temporary file is left behind.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/fleet/lib-fleet.sh"

fleet_setup
command -v prometheus-node-exporter >/dev/null 2>&1 ||
	skip_all "prometheus-node-exporter is not installed (bootstrap.sh installs it)"

set -- $fleet_b
plan $(($# * 7))

n=0
for b in "$@"; do
	n=$((n + 1))
	dir=$pfw_tmp/textfile-$b
	mkdir -p "$dir"
	prom=$dir/pfwatch.prom
	fleet_pfwatch --backend="$b" --metrics-file="$prom" --interval=0.2
	pf=$fleet_pid

	data=$pfw_tmp/data-$b
	wl="--file=$data --size=4M --pattern=stride --exact --rounds=2"
	# shellcheck disable=SC2086
	ex=$("$PFWATCH_WORKLOAD" $wl --expect)
	expect=$(echo "$ex" | sed -n 1p)
	refaults=$(echo "$ex" | sed -n 's/^refaults //p')
	sleep 1
	# shellcheck disable=SC2086
	"$PFWATCH_WORKLOAD" $wl >/dev/null 2>&1

	line="pfwatch_file_faults_total{file=\"$data\",kind=\"major\"}"
	got=$(fleet_wait_sample "$prom" pfwatch_file_faults_total "file=\"$data\",kind=\"major\"" "$expect" 100)
	is_num_eq "$b: --metrics-file holds the file's exact major faults" "$got" "$expect"
	got=$(fleet_sample pfwatch_file_refaults_total "file=\"$data\"" <"$prom")
	is_num_eq "$b: --metrics-file holds the file's exact refaults" "$got" "$refaults"

	nport=$(fleet_port $((n + 70)))
	prometheus-node-exporter --web.listen-address="127.0.0.1:$nport" \
		--collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$dir" >"$dir/../ne-$b.log" 2>&1 &
	ne=$!
	fleet_helpers="$fleet_helpers $ne"
	fleet_wait_url "http://127.0.0.1:$nport/metrics" 10
	curl -fs "http://127.0.0.1:$nport/metrics" >"$dir/../ne-$b.out"
	err=$(fleet_sample node_textfile_scrape_error "" <"$dir/../ne-$b.out")
	[ -n "$err" ] || err=$(awk '$1 == "node_textfile_scrape_error" { print $2 }' "$dir/../ne-$b.out")
	is_eq "$b: node_exporter parses the file (node_textfile_scrape_error 0)" "$err" 0
	[ "$err" = 0 ] || diag_file "$dir/../ne-$b.log" 20
	got=$(fleet_sample pfwatch_file_faults_total "file=\"$data\",kind=\"major\"" <"$dir/../ne-$b.out")
	is_num_eq "$b: node_exporter reports the file's exact major faults" "$got" "$expect"
	kill -TERM "$ne" 2>/dev/null
	wait "$ne" 2>/dev/null

	fleet_stop "$pf"
	check $? "$b: pfwatch exits 0 on SIGTERM" "$(cat "$pfw_tmp/pfwatch.err")"
	got=$(fleet_sample pfwatch_file_faults_total "file=\"$data\",kind=\"major\"" <"$prom")
	is_num_eq "$b: the file keeps the final count after exit" "$got" "$expect"
	left=$(find "$dir" -name '.pfwatch.prom.*' | wc -l)
	is_num_eq "$b: no temporary file left beside it" "$left" 0
	rm -f "$data"
done
done_testing
