#!/bin/sh
# Bounded churn (well under 3 minutes): thousands of short-lived processes,
# each with its own command name and binary, each mapping its own data file.
# pfwatch --serve must keep the label set within --top-files/--max-comms/
# --max-cgroups at every scrape, keep its counters monotonic, keep its
# resident memory flat once warmed up, and forget the churned values after
# --label-ttl.
. "${top_srcdir:-.}/tests/integration/lib.sh"
. "${top_srcdir:-.}/tests/fleet/lib-fleet.sh"

fleet_setup
TOP=10 COMMS=10 CGROUPS=5 TTL=4
WARM=${PFW_CHURN_WARM:-400} CHUNK=${PFW_CHURN_CHUNK:-400} CHUNKS=${PFW_CHURN_CHUNKS:-5}
# resident memory may grow this much between the first and the last chunk
# (KiB): with 4 chunks after the baseline, a leak of 700 bytes per exited
# process (two of them per iteration) exceeds it
SLACK=${PFW_CHURN_SLACK_KB:-1024}

set -- $fleet_b
plan $(($# * (CHUNKS * 2 + 5)))

churn() { # dir from count
	_i=$2
	while [ "$_i" -lt $(($2 + $3)) ]; do
		# its own binary (command name c$_i) and its own data file: 4 majors
		cp "$PFWATCH_WORKLOAD" "$1/c$_i"
		"$1/c$_i" --file="$1/f$_i" --size=16K --exact >/dev/null 2>&1
		rm -f "$1/c$_i" "$1/f$_i"
		_i=$((_i + 1))
	done
}

# named series of a family, [other] excluded, one kind so a value counts once
named() { # metrics-file family
	grep -c "^pfwatch_$2_faults_total{$2=\"[^[].*kind=\"major\"}" "$1"
}

n=0
for b in "$@"; do
	n=$((n + 1))
	port=$(fleet_port $((n + 90)))
	d=$pfw_tmp/churn-$b
	mkdir -p "$d"
	start=$(date +%s)
	# major faults only: minor ones of everything else on the machine would
	# make the per-interval tables (live data, not a leak) swing RSS by MiBs
	fleet_pfwatch --backend="$b" --serve="127.0.0.1:$port" --interval=0.5 \
		--top-files=$TOP --max-comms=$COMMS --max-cgroups=$CGROUPS --label-ttl=$TTL
	pf=$fleet_pid
	fleet_wait_url "http://127.0.0.1:$port/metrics" 10 ||
		bail "$b: pfwatch --serve did not answer: $(cat "$pfw_tmp/pfwatch.err")"
	churn "$d" 0 "$WARM"
	sleep 1.5
	prev_tot=0 prev_fo=0 prev_co=0 rss0= rss=
	c=0
	while [ "$c" -lt "$CHUNKS" ]; do
		churn "$d" $((WARM + c * CHUNK)) "$CHUNK"
		sleep 0.7
		m=$pfw_tmp/m-$b-$c
		curl -fs "http://127.0.0.1:$port/metrics" >"$m"
		nf=$(named "$m" file) nc=$(named "$m" comm) ng=$(named "$m" cgroup)
		if [ "$nf" -le "$TOP" ] && [ "$nc" -le "$COMMS" ] && [ "$ng" -le "$CGROUPS" ]; then
			ok "$b: after $((WARM + (c + 1) * CHUNK)) processes: $nf files, $nc comms, $ng cgroups named (bounds $TOP, $COMMS, $CGROUPS)"
		else
			not_ok "$b: label set within bounds after $((WARM + (c + 1) * CHUNK)) processes" \
				"files $nf/$TOP comms $nc/$COMMS cgroups $ng/$CGROUPS"
		fi
		tot=$(fleet_sample pfwatch_faults_total 'kind="major"' <"$m")
		fo=$(fleet_sample pfwatch_file_faults_total 'file="[other]",kind="major"' <"$m")
		co=$(fleet_sample pfwatch_comm_faults_total 'comm="[other]",kind="major"' <"$m")
		if [ -n "$tot" ] && [ -n "$fo" ] && [ -n "$co" ] && [ "$tot" -ge "$prev_tot" ] &&
			[ "$fo" -ge "$prev_fo" ] && [ "$co" -ge "$prev_co" ]; then
			ok "$b: counters monotonic (total $tot, file [other] $fo, comm [other] $co)"
		else
			not_ok "$b: counters monotonic" "total $prev_tot -> $tot" \
				"file [other] $prev_fo -> $fo" "comm [other] $prev_co -> $co"
		fi
		prev_tot=${tot:-0} prev_fo=${fo:-0} prev_co=${co:-0}
		# the baseline is taken after one chunk: the allocator has seen the
		# largest per-interval tables by then
		rss=$(fleet_rss "$pf")
		[ -n "$rss0" ] || rss0=$rss
		diag "$b: chunk $c: rss ${rss} KiB ($(grep -E '^Rss(Anon|File|Shmem):' "/proc/$pf/status" | tr -s ' \t' ' ' | tr '\n' ' '))"
		c=$((c + 1))
	done
	# thousands of distinct files for --top-files=10: the rest must reach [other]
	if [ "${prev_fo:-0}" -gt 0 ]; then
		ok "$b: files beyond --top-files counted in [other] ($prev_fo)"
	else
		not_ok "$b: files beyond --top-files counted in [other]" \
			"file [other] is $prev_fo after $((WARM + CHUNKS * CHUNK)) distinct files:" \
			"the backend merged them (e.g. one (dev, inode) reused by every new file)" \
			"$(grep '^pfwatch_file_faults_total' "$m" | head -n 5)"
	fi
	grow=$((${rss:-0} - ${rss0:-0}))
	if [ -n "$rss" ] && [ "$grow" -le "$SLACK" ]; then
		ok "$b: resident memory flat over $(((CHUNKS - 1) * CHUNK)) processes: $rss0 -> $rss KiB (+$grow, bound +$SLACK)"
	else
		not_ok "$b: resident memory flat over $(((CHUNKS - 1) * CHUNK)) processes" \
			"$rss0 -> $rss KiB (+$grow, bound +$SLACK)"
	fi
	# the churned files and commands are idle now: after the TTL none is named
	sleep $((TTL + 2))
	curl -fs "http://127.0.0.1:$port/metrics" >"$pfw_tmp/m-$b-end"
	left=$(grep -c "^pfwatch_file_faults_total{file=\"$d/" "$pfw_tmp/m-$b-end")
	is_num_eq "$b: churned files aged out of the label set after --label-ttl" "$left" 0
	left=$(grep -c '^pfwatch_comm_faults_total{comm="c[0-9]' "$pfw_tmp/m-$b-end")
	is_num_eq "$b: churned command names aged out after --label-ttl" "$left" 0
	fleet_stop "$pf"
	check $? "$b: pfwatch exits 0 on SIGTERM" "$(cat "$pfw_tmp/pfwatch.err")"
	diag "$b: $(($(date +%s) - start)) s"
done
done_testing
