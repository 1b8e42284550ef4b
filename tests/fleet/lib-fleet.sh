# tests/fleet/lib-fleet.sh: helpers for the exporter tests (issue 9), on
# top of tests/integration/lib.sh. Host only: they start Debian's
# prometheus and prometheus-node-exporter on loopback.

# the backends pfwatch says are available here (PFW_BACKEND narrows it)
fleet_backends() {
	for _b in ${PFW_BACKEND:-bpf perf}; do
		"$PFWATCH" --list-backends --format=json 2>/dev/null |
			grep "\"backend\":\"$_b\"" | grep -q '"available":true' && printf '%s ' "$_b"
	done
	return 0
}

# a loopback TCP port nobody listens on now
fleet_port() {
	_p=$((20000 + ($$ * 7 + ${1:-0} * 131) % 20000))
	while ss -ltnH 2>/dev/null | awk '{print $4}' | grep -q ":$_p\$"; do
		_p=$((_p + 1))
	done
	echo "$_p"
}

# wait up to SECONDS for URL to answer 200
fleet_wait_url() { # url seconds
	_i=0
	while [ "$_i" -lt $(($2 * 10)) ]; do
		curl -fs -o /dev/null "$1" && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# the value of one sample in an exposition on stdin: metric name and exact label set text
fleet_sample() { # name labels   (labels as printed, e.g. kind="major")
	awk -v k="$1{$2}" 'index($0, k " ") == 1 { print $2 }' | head -n 1
}

# the sample NAME{LABELS} of the exposition in FILE, read again every 0.1 s
# (at most TRIES times) until it is WANT: prints the last value read
fleet_wait_sample() { # file name labels want tries
	_got=
	for _ in $(seq 1 "$5"); do
		_got=$(fleet_sample "$2" "$3" <"$1")
		[ "$_got" = "$4" ] && break
		sleep 0.1
	done
	echo "$_got"
}

# start pfwatch in fleet mode in the background; sets fleet_pid
fleet_pfwatch() { # args...
	sh -c 'echo $$ >>"$0"; exec "$@"' "$pfw_tmp/pids" "$PFWATCH" "$@" \
		2>>"$pfw_tmp/pfwatch.err" &
	fleet_pid=$!
}

# SIGTERM, then the exit status (124 when it did not end within 10 s)
fleet_stop() { # pid
	kill -TERM "$1" 2>/dev/null
	_i=0
	while kill -0 "$1" 2>/dev/null && [ "$_i" -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}

# VmRSS of a process in KiB
fleet_rss() { # pid
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# prometheus / node_exporter we started, killed on exit
fleet_helpers=
fleet_cleanup() {
	for _p in $fleet_helpers; do
		kill -TERM "$_p" 2>/dev/null && wait "$_p" 2>/dev/null
	done
	pfw_cleanup
}

fleet_setup() {
	pfw_setup
	trap fleet_cleanup EXIT
	command -v curl >/dev/null 2>&1 || skip_all "curl is not installed (bootstrap.sh installs it)"
	fleet_b=$(fleet_backends)
	[ -n "$fleet_b" ] || skip_all "neither the bpf nor the perf backend is available here"
}
