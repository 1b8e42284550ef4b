#!/bin/busybox sh
# /init of the lane initramfs: mount what pfwatch needs, run the suite with
# its data on the NVMe disk (the initramfs is RAM: no major faults there),
# leave the TAP on the disk for the host, power off.
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mkdir -p /proc /sys /dev /tmp /data
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# tracefs may be empty (lockdown=confidentiality): pfwatch must say so, not us
mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
mount -t cgroup2 none /sys/fs/cgroup 2>/dev/null
# as systemd does at boot: until a controller is enabled in the root's
# subtree_control, 6.1 and 6.12 give new cgroups no perf_event state
# (perf_event_open with PERF_FLAG_PID_CGROUP: ENOENT; measured here)
echo "+memory +pids" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null

lane=$(sed -n 's/.*pfw\.lane=\([^ ]*\).*/\1/p' /proc/cmdline)
i=0
while [ ! -b /dev/nvme0n1 ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if ! mount -t ext4 /dev/nvme0n1 /data; then
	echo "PFW-GUEST: cannot mount the NVMe data disk"
	poweroff -f
fi
mkdir -p /data/tmp
chmod 1777 /data/tmp

export PFW_LANE=$lane TMPDIR=/data/tmp HOME=/data/tmp PFW_LEAK_CHECK=1
export top_srcdir=/pfw top_builddir=/pfw PFW_TESTBIN=/pfw/tests/integration
export PFWATCH=/pfw/pfwatch PFWATCH_WORKLOAD=/pfw/pfwatch-workload
export PATH=/pfw:$PATH
export PFW_MATRIX=/data/matrix.txt PFW_TEST_TIMEOUT=$(sed -n 's/.*pfw\.timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$PFW_TEST_TIMEOUT" ] || PFW_TEST_TIMEOUT=300
# debugging filters (tests/vm/suite.sh), passed on the kernel command line
PFW_SUITE_ONLY=$(sed -n 's/.*pfw\.only=\([^ ]*\).*/\1/p' /proc/cmdline)
PFW_SUITE_SCRIPTS=$(sed -n 's/.*pfw\.scripts=\([^ ]*\).*/\1/p' /proc/cmdline)
export PFW_SUITE_ONLY PFW_SUITE_SCRIPTS

if grep -q 'pfw\.bench=1' /proc/cmdline; then
	echo "PFW-GUEST: bench on kernel $(uname -r)"
	base=
	[ -x /pfw/bench/pfwatch-base ] && base=/pfw/bench/pfwatch-base
	modes=$(sed -n 's/.*pfw\.bench_modes=\([^ ]*\).*/\1/p' /proc/cmdline | tr , ' ')
	PFW_BENCH_REPS=$(sed -n 's/.*pfw\.bench_reps=\([0-9]*\).*/\1/p' /proc/cmdline)
	PFW_BENCH_SIZE=$(sed -n 's/.*pfw\.bench_size=\([0-9A-Za-z]*\).*/\1/p' /proc/cmdline)
	export PFW_BENCH_REPS PFW_BENCH_SIZE
	# pfw.bench_kind=progs: the programs' own time (bench/prog-cost.sh), else the ratios
	script=guest-ratios.sh
	grep -q 'pfw\.bench_kind=progs' /proc/cmdline && script=prog-cost.sh
	PFW_STORM=/pfw/bench/pfw-storm PERF=/pfw/bench/perf PFWATCH_BASE=$base PFW_BENCH_MODES=$modes \
		PFWATCH=/pfw/pfwatch BPFTOOL=/pfw/bpftool sh "/pfw/bench/$script" \
		/data/bench.md 2>/data/bench.err
	sync
	umount /data 2>/dev/null || mount -o remount,ro /data
	sync
	poweroff -f
fi
: >/data/matrix.txt
echo "PFW-GUEST: lane $lane kernel $(uname -r) start"
sh /pfw/tests/vm/suite.sh >/data/results.tap 2>/data/suite.err
echo "PFW-GUEST-DONE rc=$?" >>/data/results.tap
echo "PFW-GUEST: suite done"
cat /proc/sys/kernel/tainted >/data/tainted
sync
umount /data 2>/dev/null || mount -o remount,ro /data
sync
poweroff -f
