#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""pfwatch benchmarks (issue 8): the cost of watching page faults.

Every workload runs untraced (the floor), under `perf stat` (the counting
floor), under `perf record -c 1 -d` and under pfwatch on every backend and
attach mode this machine can run, with --view=events (JSON to a file) and
--view=summary. The tracers attach with -p to a workload that has done its
set-up and waits for SIGUSR1, so what is timed is the faulting phase only
(the workload's own clock and getrusage), and the tracer's CPU and peak RSS
are its own (wait4 of the tracer, which is not the workload's parent).

The machine is shared and small, so every figure is a difference or a ratio
within one run: configurations are interleaved in each repetition (rotated),
and medians are taken over repetitions. The load average is recorded.

Writes results.json and results.md to --out.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

# syscalls a tracer sits in once it is tracing (x86-64): poll, nanosleep,
# clock_nanosleep, epoll_wait, ppoll, epoll_pwait, epoll_pwait2, pause
WAITING_SYSCALLS = {7, 35, 230, 232, 271, 281, 441, 34}


def now():
    return time.monotonic()


class Bench:
    def __init__(self, a):
        self.a = a
        self.b = a.builddir
        self.out = a.out
        self.pfwatch = os.path.join(self.b, "pfwatch")
        self.workload = os.path.join(self.b, "pfwatch-workload")
        self.storm = os.path.join(self.b, "bench", "pfw-storm")
        self.tmp = os.path.join(self.out, "tmp")
        os.makedirs(self.tmp, exist_ok=True)
        self.status = os.path.join(self.tmp, "status")
        self.perf = shutil.which("perf")
        self.log = open(os.path.join(self.out, "bench.log"), "w")

    def say(self, msg):
        print(msg, flush=True)
        self.log.write(msg + "\n")
        self.log.flush()

    # ---- configurations ----

    def configs(self):
        """(name, kind, extra) for every tracer configuration, and the unavailable ones."""
        cfgs = [("untraced", "none", None)]
        unavail = []
        if self.perf:
            cfgs.append(("perf-stat", "perf-stat", None))
            cfgs.append(("perf-record", "perf-record", None))
        else:
            unavail.append(("perf", "perf not installed (apt-get install linux-perf)"))
        r = subprocess.run([self.pfwatch, "--list-backends", "--format=json"],
                           capture_output=True, text=True)
        rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        for row in rows:
            be = row["backend"]
            if not row["available"]:
                unavail.append(("pfwatch-" + be, row["detail"]))
                continue
            modes = [None]
            if be == "bpf":
                modes = []
                for m in ("fentry", "kprobe", "tp"):
                    if m in row["attach"].split(",") or m == row["attach"]:
                        modes.append(m)
                    elif m + ":" in row["detail"]:
                        why = row["detail"].split(m + ":", 1)[1].split(";")[0].strip()
                        unavail.append(("pfwatch-bpf-" + m, why))
            for m in modes:
                base = "pfwatch-" + be + ("-" + m if m else "")
                for view in ("summary", "events"):
                    cfgs.append((base + "-" + view, "pfwatch",
                                 {"backend": be, "attach": m, "view": view}))
                if be == "perf":
                    # one sample per fault, as perf record takes (latency needs two)
                    cfgs.append((base + "-events-nolat", "pfwatch",
                                 {"backend": be, "attach": m, "view": "events",
                                  "args": ["--no-latency"]}))
        if self.a.baseline:
            # A/B of a change: the same configurations with other builds
            alts = []
            for i, b in enumerate(self.a.baseline.split(",")):
                tag, path = b.split("=", 1) if "=" in b else ("base" if not i else
                                                               "base%d" % i, b)
                alts += [(n + "@" + tag, k, dict(e, bin=path)) for n, k, e in cfgs
                         if k == "pfwatch"]
            cfgs += alts
        if self.a.only:
            keep = set(self.a.only.split(","))
            cfgs = [c for c in cfgs if c[0].split("@")[0] in keep or c[0] == "untraced"]
        return cfgs, unavail

    def ratio_configs(self, cfgs):
        """the minor-fault storm's rows (issue 13): every bpf attach mode that runs, as a
        majors-only summary (the default), an all-faults summary and all-faults events"""
        out = [c for c in cfgs if c[0] in ("untraced", "perf-stat", "perf-record")]
        for name, kind, extra in cfgs:
            if kind != "pfwatch" or extra["backend"] != "bpf" or extra["view"] != "summary":
                continue
            base, tag = (name.split("@") + [None])[:2]
            base = base[:-len("-summary")]
            for row, faults, view in (("default", "major", "summary"),
                                      ("all-summary", "all", "summary"),
                                      ("all-events", "all", "events")):
                n = base + "-" + row + ("@" + tag if tag else "")
                out.append((n, kind, dict(extra, faults=faults, view=view)))
        return out

    # ---- workloads ----

    def workload_cmd(self, wl, p):
        if wl in ("major", "mixed"):
            cmd = [self.workload, "--file=" + os.path.join(self.out, wl + ".dat"),
                   "--size=" + p["size"], "--keep", "--json", "--wait-start",
                   "--status-file=" + self.status, "--threads=%d" % p.get("threads", 1)]
            if wl == "major":
                cmd += ["--pattern=random", "--exact"]
            else:
                cmd += ["--pattern=mixed", "--accesses=%d" % p["accesses"]]
            return cmd
        cmd = [self.storm, "--threads=%d" % p["threads"], "--size=" + p["size"],
               "--rounds=%d" % p["rounds"], "--wait-start", "--status-file=" + self.status]
        if p.get("rate"):
            cmd.append("--rate=%d" % p["rate"])
        return cmd

    @staticmethod
    def faults_of(wl, res):
        if wl == "major":
            return res["touch_majflt"]
        if wl == "storm":
            return res["touch_minflt"]
        return res["touch_majflt"] + res["touch_minflt"]

    @staticmethod
    def events_of(wl):
        return {"major": ["major-faults"], "storm": ["minor-faults"],
                "mixed": ["major-faults", "minor-faults"]}[wl]

    # ---- one measurement ----

    def tracer_cmd(self, kind, extra, wl, pid, outfile):
        evs = self.events_of(wl)
        if kind == "perf-stat":
            return [self.perf, "stat", "-x", ",", "-p", str(pid)] + \
                sum((["-e", e] for e in evs), [])
        if kind == "perf-record":
            return [self.perf, "record", "-c", "1", "-d", "-o", outfile, "-p", str(pid)] + \
                sum((["-e", e] for e in evs), [])
        faults = extra.get("faults") or {"major": "major", "storm": "minor", "mixed": "all"}[wl]
        cmd = [extra.get("bin", self.pfwatch), "-b", extra["backend"], "-p", str(pid), "--faults=" + faults,
               "--view=" + extra["view"], "--format=json", "-o", outfile]
        if extra["attach"]:
            cmd.append("--bpf-attach=" + extra["attach"])
        cmd += extra.get("args", [])
        return cmd

    @staticmethod
    def task_sum(pid, name, value):
        """The sum over pid's threads of value(open /proc/PID/task/TID/name);
        what a thread that went away (or the whole process) leaves is 0."""
        total = 0
        try:
            for t in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/%s" % (pid, t, name)) as f:
                    total += value(f)
        except (OSError, ValueError):
            pass
        return total

    @staticmethod
    def task_cpu_ns(pid):
        return Bench.task_sum(pid, "schedstat", lambda f: int(f.read().split()[0]))

    @staticmethod
    def task_vcsw(pid):
        return Bench.task_sum(pid, "status", lambda f: sum(
            int(line.split()[1]) for line in f if line.startswith("voluntary_ctxt_switches:")))

    @staticmethod
    def vm_hwm_kb(pid):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    @staticmethod
    def in_wait(pid):
        try:
            with open("/proc/%d/syscall" % pid) as f:
                first = f.read().split()[0]
        except (OSError, IndexError):
            return False
        return first.isdigit() and int(first) in WAITING_SYSCALLS

    def wait_ready(self, tr, timeout=60.0):
        """the tracer sits in its wait loop twice in a row 50 ms apart"""
        t0 = now()
        hits = 0
        while now() - t0 < timeout:
            if tr.poll() is not None:
                return False
            hits = hits + 1 if self.in_wait(tr.pid) else 0
            if hits >= 3:
                time.sleep(0.1)
                return True
            time.sleep(0.05)
        return False

    def measure(self, wl, p, cfg):
        name, kind, extra = cfg
        try:
            os.unlink(self.status)
        except FileNotFoundError:
            pass
        outfile = os.path.join(self.tmp, "trace.out")
        errfile = os.path.join(self.tmp, "tracer.err")
        wk = subprocess.Popen(self.workload_cmd(wl, p), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        t0 = now()
        while not (os.path.exists(self.status) and open(self.status).read().startswith("ready")):
            if wk.poll() is not None or now() - t0 > 120:
                wk.kill()
                wk.wait()
                raise RuntimeError("workload did not get ready: " + wk.stderr.read())
            time.sleep(0.02)
        tr = None
        cpu0 = 0
        if kind != "none":
            ef = open(errfile, "w")
            tr = subprocess.Popen(self.tracer_cmd(kind, extra, wl, wk.pid, outfile),
                                  stdout=subprocess.DEVNULL, stderr=ef)
            ef.close()
            if not self.wait_ready(tr):
                wk.kill()
                wk.wait()
                if tr.poll() is None:
                    tr.kill()
                tr.wait()
                raise RuntimeError("tracer did not start: " + open(errfile).read().strip())
            cpu0 = self.task_cpu_ns(tr.pid)
            csw0 = self.task_vcsw(tr.pid)
            # Peak RSS from VmHWM, sampled until it exits: wait4's ru_maxrss
            # starts at our own (python's) RSS, which exec() records as the
            # old mm's high-water mark.
            hwm = [self.vm_hwm_kb(tr.pid)]
            done = threading.Event()

            def sample():
                while not done.wait(0.01):
                    hwm[0] = max(hwm[0], self.vm_hwm_kb(tr.pid))
            sampler = threading.Thread(target=sample)
            sampler.start()
        # The workload's CPU from here to its exit: what tracing adds in the
        # kernel on the faulting threads (BPF programs, perf samples,
        # wake-ups), less disturbed than wall time by a busy machine.
        wcpu0 = self.task_cpu_ns(wk.pid)
        os.kill(wk.pid, signal.SIGUSR1)
        wout = wk.stdout.read()
        werr = wk.stderr.read()
        _, wstatus, wru = os.wait4(wk.pid, 0)
        wk.returncode = os.waitstatus_to_exitcode(wstatus)
        if wk.returncode != 0:
            raise RuntimeError("workload failed: " + werr.strip())
        res = json.loads(wout.strip().splitlines()[-1])
        m = {"elapsed_ns": res["elapsed_ns"], "faults": self.faults_of(wl, res),
             "majflt": res["touch_majflt"], "minflt": res["touch_minflt"],
             "cpu_ns": int((wru.ru_utime + wru.ru_stime) * 1e9) - wcpu0}
        if tr is None:
            return m
        # pfwatch and perf record end with their target; perf stat -p does not
        # (Popen.poll() would reap it and lose the rusage: wait4 only)
        deadline = now() + (0.2 if kind == "perf-stat" else 20.0)
        while True:
            pid, status, ru = os.wait4(tr.pid, os.WNOHANG)
            if pid:
                break
            if now() >= deadline:
                os.kill(tr.pid, signal.SIGINT)
                _, status, ru = os.wait4(tr.pid, 0)
                break
            time.sleep(0.02)
        tr.returncode = os.waitstatus_to_exitcode(status)
        m["tracer_cpu_ns"] = int((ru.ru_utime + ru.ru_stime) * 1e9) - cpu0
        done.set()
        sampler.join()
        m["tracer_maxrss_kb"] = hwm[0]
        # each voluntary context switch is one sleep, so one wake-up
        m["tracer_wakeups"] = ru.ru_nvcsw - csw0
        err = open(errfile).read()
        m.update(self.parse_tracer(kind, wl, outfile, err, m["faults"]))
        if tr.returncode not in (0, -signal.SIGINT, 130):
            m["error"] = "exit %d: %s" % (tr.returncode, err.strip()[-300:])
        for f in (outfile, outfile + ".old"):
            if os.path.exists(f):
                m.setdefault("output_bytes", os.path.getsize(f))
                os.unlink(f)
        return m

    def parse_tracer(self, kind, wl, outfile, err, faults):
        if kind == "perf-stat":
            n = 0
            for line in err.splitlines():
                f = line.split(",")
                if len(f) > 2 and f[0].isdigit() and f[2] in self.events_of(wl):
                    n += int(f[0])
            return {"seen": n}
        if kind == "perf-record":
            mm = re.search(r"\((\d+) samples\)", err)
            seen = int(mm.group(1)) if mm else 0
            lost = 0
            ml = re.search(r"lost (\d+) chunks", err)
            # samples of faults outside the timed phase (exit) make seen > faults
            return {"seen": seen, "lost": max(0, faults - seen),
                    "lost_chunks": int(ml.group(1)) if ml else lost}
        run = None
        try:
            with open(outfile, "rb") as f:
                f.seek(0, 2)
                size = f.tell()
                f.seek(max(0, size - 4096))
                for line in f.read().splitlines():
                    if line.startswith(b'{"record":"run"'):
                        run = json.loads(line)
        except OSError:
            pass
        if not run:
            return {"error": "no run record: " + err.strip()[-300:]}
        return {"seen": run["faults"], "lost": run["lost"]}

    # ---- series ----

    def series(self, wl, p, cfgs, reps, label=None):
        """interleaved repetitions; returns {config: [measurements]}"""
        runs = {c[0]: [] for c in cfgs}
        for r in range(reps):
            order = cfgs[r % len(cfgs):] + cfgs[:r % len(cfgs)]
            for c in order:
                try:
                    m = self.measure(wl, p, c)
                except RuntimeError as e:
                    m = {"error": str(e)[:400]}
                runs[c[0]].append(m)
                self.say("  %-8s %-28s rep %d: %s" % (label or wl, c[0], r,
                         json.dumps({k: v for k, v in m.items() if k != "error"})
                         + (" ERROR " + m["error"] if "error" in m else "")))
        return self.summarize(runs)

    @staticmethod
    def summarize(runs):
        base = [m for m in runs.get("untraced", []) if "error" not in m]
        res = {}
        for name, ms in runs.items():
            ok = [m for m in ms if "error" not in m]
            if not ok:
                res[name] = {"error": ms[0].get("error") if ms else "not run"}
                continue
            faults = statistics.median(m["faults"] for m in ok)
            e = statistics.median(m["elapsed_ns"] for m in ok)
            s = {"reps": len(ok), "faults": int(faults), "elapsed_ns": int(e),
                 "rate": faults / (e / 1e9) if e else 0}
            s["wl_cpu_ns"] = statistics.median(m["cpu_ns"] / max(1, m["faults"]) for m in ok)
            # added ns/fault per repetition against the same repetition's floor
            if base and name != "untraced":
                added, added_cpu = [], []
                for i, m in enumerate(ms):
                    if "error" in m or i >= len(runs["untraced"]) or \
                            "error" in runs["untraced"][i]:
                        continue
                    u = runs["untraced"][i]
                    added.append((m["elapsed_ns"] - u["elapsed_ns"]) / max(1, m["faults"]))
                    added_cpu.append(m["cpu_ns"] / max(1, m["faults"]) -
                                     u["cpu_ns"] / max(1, u["faults"]))
                s["added_ns"] = statistics.median(added) if added else None
                s["added_cpu_ns"] = statistics.median(added_cpu) if added_cpu else None
            # the wall time of the faulting phase over the same repetition's floor
            if base and name != "untraced":
                ratios = [m["elapsed_ns"] / runs["untraced"][i]["elapsed_ns"]
                          for i, m in enumerate(ms)
                          if "error" not in m and i < len(runs["untraced"]) and
                          "error" not in runs["untraced"][i]]
                s["ratio"] = statistics.median(ratios) if ratios else None
                # best over best: the noise of a shared host only ever adds
                # time (a vCPU preempted, a neighbour's cache), so the fastest
                # run of each is the nearest to what the fault itself costs
                s["ratio_best"] = min(m["elapsed_ns"] for m in ok) / \
                    min(m["elapsed_ns"] for m in base)
            if "tracer_cpu_ns" in ok[0]:
                s["cpu_ns"] = statistics.median(m["tracer_cpu_ns"] / max(1, m["faults"])
                                                for m in ok)
                s["maxrss_kb"] = max(m["tracer_maxrss_kb"] for m in ok)
                s["wakeups_per_1k"] = statistics.median(
                    1000.0 * m["tracer_wakeups"] / max(1, m["faults"]) for m in ok)
                s["cost_ns"] = (s.get("added_cpu_ns") or 0) + s["cpu_ns"]
            if "lost" in ok[0]:
                s["lost"] = max(m["lost"] for m in ok)
            if "seen" in ok[0]:
                s["seen"] = int(statistics.median(m["seen"] for m in ok))
            errs = [m["error"] for m in ms if "error" in m]
            if errs:
                s["errors"] = len(errs)
                s["error"] = errs[0]
            res[name] = s
        return res


def fmt(v, nd=0):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--out", default="bench/out")
    ap.add_argument("--reps", type=int, default=int(os.environ.get("PFW_BENCH_REPS", "5")))
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, 2 repetitions: checks the scripts, not the figures")
    ap.add_argument("--only", help="comma-separated configuration names (plus untraced)")
    ap.add_argument("--baseline", metavar="PFWATCH",
                    help="[TAG=]PATH[,...]: also run every pfwatch configuration with these "
                    "builds (named CONFIG@TAG)")
    ap.add_argument("--workloads", help="comma-separated: major,storm,mixed (default all)")
    ap.add_argument("--render", metavar="RESULTS_JSON",
                    help="only print the Markdown of an earlier results.json")
    ap.add_argument("--skip", default="",
                    help="comma-separated parts: ratios,main,rate,threads,size")
    a = ap.parse_args()
    if a.render:
        with open(a.render) as f:
            sys.stdout.write(render(json.load(f)))
        return 0
    if os.geteuid() != 0:
        print("pfw-bench: needs root (pfwatch bpf/ftrace, perf -p on any process)",
              file=sys.stderr)
        return 1
    os.makedirs(a.out, exist_ok=True)
    b = Bench(a)
    q = a.quick
    reps = 2 if q else a.reps
    skip = set(a.skip.split(","))
    cfgs, unavail = b.configs()
    by = {c[0]: c for c in cfgs}
    load0 = os.getloadavg()
    t0 = time.time()
    meta = {"kernel": platform.release(), "cpus": os.cpu_count(), "reps": reps,
            "loadavg_start": load0, "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "perf": subprocess.run([b.perf, "--version"], capture_output=True,
                                   text=True).stdout.strip() if b.perf else None,
            "unavailable": [{"config": n, "reason": r} for n, r in unavail]}
    for n, r in unavail:
        b.say("unavailable: %s: %s" % (n, r))

    W = {
        "major": {"size": "16M" if q else "64M"},
        "storm": {"threads": 2, "size": "32M" if q else "256M", "rounds": 1 if q else 2},
        "mixed": {"size": "32M" if q else "256M", "threads": 2,
                  "accesses": 2000 if q else 20000},
    }
    # issue 13: one thread writing 786k fresh anonymous pages (4 rounds of
    # 768 MiB), about 1.1 s untraced here; the tracer has the other CPU
    W_ratio = {"threads": 1, "size": "128M" if q else "768M", "rounds": 1 if q else 4}
    results = {"meta": meta, "workloads": W, "main": {}, "rate": {}, "threads": {},
               "size": {}, "ratios": {}, "ratio_workload": W_ratio}
    if "ratios" not in skip:
        rc = b.ratio_configs(cfgs)
        b.say("== storm ratios %s" % json.dumps(W_ratio))
        results["ratios"] = b.series("storm", W_ratio, rc, reps if q else max(reps, 7), "ratio")
    if "main" not in skip:
        for wl, p in W.items():
            if a.workloads and wl not in a.workloads.split(","):
                continue
            b.say("== %s %s" % (wl, json.dumps(p)))
            results["main"][wl] = b.series(wl, p, cfgs, reps)
    # growth and rate: the floors and the events/summary configurations of each backend
    events_cfgs = [c for c in cfgs if c[0].split("@")[0].endswith("-events") or
                   c[0] == "perf-record"]
    grow = [c for c in cfgs if c[0] in ("untraced", "perf-stat", "perf-record")
            or c[0].startswith("pfwatch-")]
    if "rate" not in skip:
        total = 200000 if q else 1000000
        for rate in ([500000] if q else [250000, 500000, 1000000, 0]):
            p = {"threads": 2, "size": "%dK" % (total * 4 // 2 // (4 if rate else 1)),
                 "rounds": 4 if rate else 1, "rate": rate}
            lbl = "rate%s" % (rate or "max")
            b.say("== storm at %s faults/s %s" % (rate or "max", json.dumps(p)))
            results["rate"][str(rate or "max")] = b.series(
                "storm", p, [by["untraced"]] + events_cfgs, 1 if q else 2, lbl)
    if "threads" not in skip:
        for t in ([1, 2] if q else [1, 2, 4]):
            total_mb = 64 if q else 512
            p = {"threads": t, "size": "%dM" % (total_mb // t), "rounds": 1}
            b.say("== storm threads=%d %s" % (t, json.dumps(p)))
            results["threads"][str(t)] = b.series("storm", p, grow, 1 if q else 2,
                                                  "thr%d" % t)
    if "size" not in skip:
        for rounds in ([1, 2] if q else [1, 4, 16]):
            p = {"threads": 2, "size": "32M" if q else "128M", "rounds": rounds}
            lbl = "size%d" % rounds
            b.say("== storm mapped=%d MiB %s" % (2 * rounds * (32 if q else 128), json.dumps(p)))
            results["size"][str(2 * rounds * (32 if q else 128))] = b.series(
                "storm", p, grow, 1 if q else 2, lbl)
    meta["loadavg_end"] = os.getloadavg()
    meta["seconds"] = int(time.time() - t0)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    md = render(results)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md)
    print(md)
    return 0


def render(R):
    m = R["meta"]
    L = []
    L.append("pfwatch benchmarks, kernel %s, %d CPUs, %s, %d repetitions (medians), "
             "load average %.2f at start, %.2f at end, %d s." %
             (m["kernel"], m["cpus"], m["date"], m["reps"], m["loadavg_start"][0],
              m["loadavg_end"][0], m["seconds"]))
    L.append("")
    L.append("Per fault: *floor* = the untraced workload's CPU (and wall) time; *in-task* = "
             "CPU the tracing adds to the faulting threads (kernel-side probes, samples, "
             "wake-ups); *tracer* = the tracer process's own CPU while tracing, its final "
             "drain included; *cost* = in-task + tracer, the CPU a fault costs the machine "
             "beyond the floor; *wall* = added wall time of the faulting phase (noisy on "
             "a shared machine). Ratios are cost over the peer's cost. *seen* = faults the "
             "tracer reported, *lost* = faults it says (or we find) it missed; peak RSS is "
             "the tracer's VmHWM. A negative figure is below the noise (a major fault's "
             "CPU time varies by a few us from run to run).")
    if R.get("ratios"):
        L.append("")
        L.append("### minor-fault storm: wall time traced over untraced (%s)" %
                 json.dumps(R["ratio_workload"]))
        L.append("")
        L.append("Each repetition runs every configuration once, in rotated order; the "
                 "ratio is the faulting phase's wall time over the same repetition's "
                 "untraced run, median over repetitions; *best* is the fastest run over "
                 "the fastest untraced one (a shared host's noise only adds time). "
                 "*default* = `--faults=major --view=summary`, *all-summary* = "
                 "`--faults=all --view=summary`, *all-events* = `--faults=all "
                 "--view=events -f json -o FILE`.")
        L.append("")
        L.append("| configuration | ratio | best | added wall ns/fault | in-task CPU ns/fault "
                 "| tracer CPU ns/fault | lost |")
        L.append("|---|---|---|---|---|---|---|")
        for name, s in R["ratios"].items():
            if "error" in s and "reps" not in s:
                L.append("| %s | failed: %s ||||||" % (name, s["error"][:120]))
                continue
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                name, "%.3fx" % s["ratio"] if s.get("ratio") else "1 (floor: %.0f ns)" %
                (s["elapsed_ns"] / max(1, s["faults"])),
                "%.3fx" % s["ratio_best"] if s.get("ratio_best") else "-",
                fmt(s.get("added_ns"), 0), fmt(s.get("added_cpu_ns"), 0),
                fmt(s.get("cpu_ns"), 0), fmt(s.get("lost"))))
    for wl, res in R["main"].items():
        L.append("")
        L.append("### %s (%s)" % (wl, json.dumps(R["workloads"][wl])))
        L.append("")
        L.append("| configuration | faults | floor CPU/wall ns | in-task ns | tracer ns "
                 "| cost ns | x perf stat | x perf record | wall ns | seen | lost "
                 "| peak RSS MiB | wake-ups /1k faults |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        base = res.get("untraced", {})
        ps = res.get("perf-stat", {}).get("cost_ns")
        pr = res.get("perf-record", {}).get("cost_ns")
        floor = "%.0f / %.0f" % (base["wl_cpu_ns"], base["elapsed_ns"] / max(1, base["faults"])) \
            if "wl_cpu_ns" in base else "-"
        for name, s in res.items():
            if "error" in s and "reps" not in s:
                L.append("| %s | failed: %s |||||||||||" % (name, s["error"][:120]))
                continue
            c = s.get("cost_ns")
            L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                name, s["faults"], floor if name == "untraced" else "",
                fmt(s.get("added_cpu_ns"), 0), fmt(s.get("cpu_ns"), 0), fmt(c, 0),
                fmt(c / ps, 2) if c is not None and c > 0 and ps and ps > 0 else "-",
                fmt(c / pr, 2) if c is not None and c > 0 and pr and pr > 0 else "-",
                fmt(s.get("added_ns"), 0),
                fmt(s.get("seen")), fmt(s.get("lost")),
                fmt(s["maxrss_kb"] / 1024, 1) if "maxrss_kb" in s else "-",
                fmt(s.get("wakeups_per_1k"), 1)))
    if R["rate"]:
        L.append("")
        L.append("### lost events vs fault rate (storm, 2 threads; target rate -> achieved "
                 "rate, lost)")
        L.append("")
        names = list(next(iter(R["rate"].values())).keys())
        L.append("| configuration | " + " | ".join("%s/s" % r for r in R["rate"]) + " |")
        L.append("|---|" + "---|" * len(R["rate"]))
        for n in names:
            cells = []
            for r, res in R["rate"].items():
                s = res.get(n, {})
                if "reps" not in s:
                    cells.append("failed")
                else:
                    cells.append("%.0fk/s, lost %s" % (s["rate"] / 1000, fmt(s.get("lost"))))
            L.append("| %s | %s |" % (n, " | ".join(cells)))
    for key, title in (("threads", "threads (storm, 512 MiB in total)"),
                       ("size", "mapped size (storm, MiB faulted in total)")):
        if not R[key]:
            continue
        L.append("")
        L.append("### growth with %s: cost ns/fault / peak RSS MiB" % title)
        L.append("")
        names = list(next(iter(R[key].values())).keys())
        L.append("| configuration | " + " | ".join(R[key].keys()) + " |")
        L.append("|---|" + "---|" * len(R[key]))
        for n in names:
            cells = []
            for k, res in R[key].items():
                s = res.get(n, {})
                if "reps" not in s:
                    cells.append("failed")
                elif n == "untraced":
                    cells.append("floor %.0f ns" % s["wl_cpu_ns"])
                else:
                    cells.append("%s / %s" % (fmt(s.get("cost_ns"), 0),
                                              fmt(s["maxrss_kb"] / 1024, 1)))
            L.append("| %s | %s |" % (n, " | ".join(cells)))
    if m["unavailable"]:
        L.append("")
        L.append("Not measured here: " + "; ".join("%s (%s)" % (u["config"], u["reason"])
                                                    for u in m["unavailable"]) + ".")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
