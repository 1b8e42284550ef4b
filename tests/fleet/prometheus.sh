#!/bin/sh
# A real Prometheus (Debian's package) scrapes pfwatch --serve on loopback
# while the deterministic workload runs; its own query API must return
# exactly the major faults the workload's file took (pfwatch-workload
# --exact --expect, and the workload's getrusage majflt), per backend.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/fleet/lib-fleet.sh"

fleet_setup
command -v prometheus >/dev/null 2>&1 ||
	skip_all "prometheus is not installed (Debian package prometheus; bootstrap.sh installs it)"
command -v jq >/dev/null 2>&1 || skip_all "jq is not installed"

set -- $fleet_b
plan $(($# * 6))

# PromQL through the HTTP API; prints the value of the first result or nothing
promql() { # port query
	curl -fs "http://127.0.0.1:$1/api/v1/query" --data-urlencode "query=$2" 2>/dev/null |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}

n=0
for b in "$@"; do
	n=$((n + 1))
	port=$(fleet_port "$n")
	fleet_pfwatch --backend="$b" --serve="127.0.0.1:$port" --interval=0.2
	pf=$fleet_pid
	if fleet_wait_url "http://127.0.0.1:$port/metrics" 10; then
		ok "$b: pfwatch --serve answers /metrics"
	else
		not_ok "$b: pfwatch --serve answers /metrics" "$(cat "$pfw_tmp/pfwatch.err")"
	fi

	pport=$(fleet_port $((n + 50)))
	mkdir -p "$pfw_tmp/prom-$b"
	cat >"$pfw_tmp/prom-$b.yml" <<EOC
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pfwatch
    static_configs:
      - targets: ['127.0.0.1:$port']
EOC
	prometheus --config.file="$pfw_tmp/prom-$b.yml" --storage.tsdb.path="$pfw_tmp/prom-$b" \
		--web.listen-address="127.0.0.1:$pport" >"$pfw_tmp/prom-$b.log" 2>&1 &
	prom=$!
	fleet_helpers="$fleet_helpers $prom"
	up=
	for _ in $(seq 1 300); do
		up=$(promql "$pport" 'up{job="pfwatch"}')
		[ "$up" = 1 ] && break
		sleep 0.1
	done
	is_eq "$b: Prometheus scrapes pfwatch (up == 1)" "$up" 1
	[ "$up" = 1 ] || diag_file "$pfw_tmp/prom-$b.log" 30

	data=$pfw_tmp/data-$b
	expect=$("$PFWATCH_WORKLOAD" --file="$data" --size=4M --pattern=random --exact --expect)
	js=$("$PFWATCH_WORKLOAD" --file="$data" --size=4M --pattern=random --exact --json 2>/dev/null)
	# the touch phase's: the process's may hold a text page read back in
	majflt=$(printf '%s\n' "$js" | sed -n 's/.*"touch_majflt":\([0-9]*\).*/\1/p')
	is_num_eq "$b: the workload's own majflt while touching is its --expect" "$majflt" "$expect"

	q="pfwatch_file_faults_total{kind=\"major\",file=\"$data\"}"
	got=
	for _ in $(seq 1 150); do
		got=$(promql "$pport" "$q")
		[ "$got" = "$expect" ] && break
		sleep 0.2
	done
	is_num_eq "$b: Prometheus' query API returns the file's exact major faults" "$got" "$expect"
	[ "$got" = "$expect" ] || curl -s "http://127.0.0.1:$port/metrics" | grep -F "$data" | diag_file /dev/stdin

	# the backend and attach mode are there as an info metric
	info=$(promql "$pport" "pfwatch_info{backend=\"$b\"}")
	is_eq "$b: pfwatch_info names the backend" "$info" 1

	kill -TERM "$prom" 2>/dev/null
	wait "$prom" 2>/dev/null
	fleet_stop "$pf"
	check $? "$b: pfwatch exits 0 on SIGTERM" "$(cat "$pfw_tmp/pfwatch.err")"
	rm -f "$data"
done
done_testing
