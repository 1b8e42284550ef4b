// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One tracing session end to end (common/run.h). The order matters:
 * the command is forked first and held before execvp(), the backend arms
 * its events on that pid with inheritance, and only then is the child let
 * go, so the very first fault of the command (the dynamic loader's) is seen.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "backend.h"
#include "cgroup.h"
#include "log.h"
#include "maps.h"
#include "output.h"
#include "run.h"
#include "session.h"

#define POLL_MS 100
/*
 * While faults stream in, drain at most this often. A BPF ring buffer
 * wakes its reader (irq_work, then a wake-up) for the first record after
 * the reader caught up, so a reader that drains as soon as it is woken is
 * woken for nearly every fault of a storm (bpf/tp here: 17.6 us of
 * pfwatch CPU per major fault, 2.0 us with this). Sleeping between drains
 * leaves the reader behind the producer, which then writes without waking
 * anyone. 10 ms of a storm fit the rings (8 MiB bpf, 4 MiB per CPU perf:
 * ~100 B per record).
 */
#define DRAIN_NS 10000000ull

static volatile sig_atomic_t got_signal;
static struct pfw_session *volatile cur_session;

static void on_signal(int sig)
{
	got_signal = sig;
	if (cur_session)
		cur_session->stop = 1;
}

struct sigsave {
	struct sigaction intr, term, hup, pipe;
};

static void install_signals(struct sigsave *old)
{
	struct sigaction sa = {.sa_handler = on_signal};

	/* no SA_RESTART: a signal must wake poll()/epoll_wait() in the backend */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old->intr);
	sigaction(SIGTERM, &sa, &old->term);
	sigaction(SIGHUP, &sa, &old->hup);
	/* a closed output pipe is seen as EPIPE from the writes, and handled */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old->pipe);
}

static void restore_signals(const struct sigsave *old)
{
	sigaction(SIGINT, &old->intr, NULL);
	sigaction(SIGTERM, &old->term, NULL);
	sigaction(SIGHUP, &old->hup, NULL);
	sigaction(SIGPIPE, &old->pipe, NULL);
}

/* what the held child tells the parent when it cannot become the command */
struct child_report {
	int stage; /* STAGE_* */
	int err;   /* errno */
};

enum {
	STAGE_USER,
	STAGE_EXEC,
};

struct user {
	char name[256];
	uid_t uid;
	gid_t gid;
	char home[1024];
	char shell[256];
};

struct child {
	pid_t pid;
	int release_fd; /* write end: one byte lets the child go, EOF makes it _exit */
	int report_fd;	/* read end: EOF = exec succeeded, else a struct child_report */
	bool reaped;
	int status;
	struct rusage ru;
};

static void child_report(int fd, int stage, int err)
{
	struct child_report r = {.stage = stage, .err = err};
	ssize_t n = write(fd, &r, sizeof(r));

	(void)n;
}

/*
 * -u: the command gets a login-like environment, as sudo's env_reset gives
 * it: root's variables (XAUTHORITY, KRB5CCNAME, SSH_AUTH_SOCK, LD_PRELOAD,
 * tokens) must not reach another user's program. Locale, terminal, time
 * zone and PATH are kept: they say how to run, not who runs.
 */
static void user_environ(const struct user *u)
{
	static const char *const keep[] = {
		"PATH=", "TERM=", "COLORTERM=", "LANG=", "LANGUAGE=", "LC_", "TZ=", "DISPLAY="};
	extern char **environ;
	size_t n = 0, k = 0;
	char **kept;

	while (environ && environ[n])
		n++;
	kept = calloc(n + 1, sizeof(*kept));
	for (size_t i = 0; kept && i < n; i++)
		for (size_t j = 0; j < sizeof(keep) / sizeof(keep[0]); j++)
			if (!strncmp(environ[i], keep[j], strlen(keep[j]))) {
				kept[k++] = environ[i];
				break;
			}
	clearenv();
	for (size_t i = 0; i < k; i++)
		putenv(kept[i]);
	setenv("HOME", u->home, 1);
	setenv("USER", u->name, 1);
	setenv("LOGNAME", u->name, 1);
	setenv("SHELL", u->shell, 1);
}

/* -u: no descriptor beyond 0-2 crosses to another user (sudo's closefrom) */
static void close_from_3(int except)
{
#ifdef HAVE_CLOSE_RANGE
	if (except > 3)
		close_range(3, (unsigned)except - 1, 0);
	if (close_range((unsigned)except + 1, ~0u, 0) == 0)
		return;
#endif
	for (int fd = 3; fd < 65536; fd++)
		if (fd != except)
			close(fd);
}

static __attribute__((noreturn)) void child_main(char **argv, const struct user *u, int rel_fd,
						 int rep_fd)
{
	char b;

	if (read(rel_fd, &b, 1) != 1)
		_exit(127); /* the parent gave up (no backend): never run untraced */
	close(rel_fd);
	if (u) {
		if (initgroups(u->name, u->gid) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0) {
			child_report(rep_fd, STAGE_USER, errno);
			_exit(126);
		}
		/* a setuid() that silently left a saved root uid would be a hole */
		if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid ||
		    (u->uid != 0 && setuid(0) == 0)) {
			child_report(rep_fd, STAGE_USER, EPERM);
			_exit(126);
		}
		user_environ(u);
		close_from_3(rep_fd);
	}
	execvp(argv[0], argv);
	child_report(rep_fd, STAGE_EXEC, errno);
	_exit(errno == ENOENT ? 127 : 126);
}

static int spawn(struct child *c, char **argv, const struct user *u)
{
	int rel[2], rep[2];

	if (pipe2(rel, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(rep, O_CLOEXEC) < 0) {
		int e = errno;

		close(rel[0]);
		close(rel[1]);
		return -e;
	}
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0) {
		int e = errno;

		close(rel[0]);
		close(rel[1]);
		close(rep[0]);
		close(rep[1]);
		return -e;
	}
	if (c->pid == 0) {
		close(rel[1]);
		close(rep[0]);
		child_main(argv, u, rel[0], rep[1]);
	}
	close(rel[0]);
	close(rep[1]);
	c->release_fd = rel[1];
	c->report_fd = rep[0];
	return 0;
}

static void child_abort(struct child *c)
{
	if (c->pid <= 0 || c->reaped)
		return;
	/* closing the release pipe makes it _exit; SIGKILL in case it is elsewhere */
	if (c->release_fd >= 0)
		close(c->release_fd);
	c->release_fd = -1;
	kill(c->pid, SIGKILL);
	if (wait4(c->pid, &c->status, 0, &c->ru) == c->pid)
		c->reaped = true;
}

static bool child_poll(struct child *c, int flags)
{
	pid_t r;

	if (c->reaped)
		return true;
	do
		r = wait4(c->pid, &c->status, flags, &c->ru);
	while (r < 0 && errno == EINTR && !flags);
	if (r == c->pid)
		c->reaped = true;
	return c->reaped;
}

/* wait up to @ms for the child; true when it was reaped */
static bool child_wait(struct child *c, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (child_poll(c, WNOHANG))
			return true;
		usleep(10000);
	}
	return child_poll(c, WNOHANG);
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return PFW_EXIT_RUNTIME;
}

static int resolve_user(const char *name, struct user *u)
{
	struct passwd *pw = getpwnam(name);
	char *end;

	if (!pw) {
		unsigned long uid = strtoul(name, &end, 10);

		if (*name && !*end)
			pw = getpwuid((uid_t)uid);
	}
	if (!pw)
		return -ENOENT;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	snprintf(u->home, sizeof(u->home), "%s", pw->pw_dir ? pw->pw_dir : "/");
	snprintf(u->shell, sizeof(u->shell), "%s",
		 pw->pw_shell && pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

/*
 * 0 if @pid has a user address space, -ESRCH if it does not exist, -EINVAL if
 * it has no mm (a kernel thread, or a zombie): /proc/PID/maps reads empty.
 */
static int check_pid(pid_t pid)
{
	char path[64], b;
	ssize_t n;
	int fd;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH
				       : 0; /* EACCES: someone else's, let the backend say */
	n = read(fd, &b, 1);
	close(fd);
	return n == 0 ? -EINVAL : 0;
}

/* a -p target is gone when /proc says so or it is a zombie waiting for its parent */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	/* comm may hold ')' itself: the state follows the last one */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/*
 * Open @b for @s. Return 0, or -errno with the one-line reason in @why.
 */
static int try_backend(struct pfw_session *s, const struct pfw_backend *b, char *why, size_t whylen)
{
	struct pfw_probe_result pr;
	char err[PFW_DETAIL_LEN] = "";
	void *priv = NULL;
	int r;

	memset(&pr, 0, sizeof(pr));
	pfw_backend_probe(b, s->opts, &pr);
	if (!pr.available) {
		snprintf(why, whylen, "unavailable: %s",
			 pr.detail[0] ? pr.detail : "no reason given");
		return -ENOTSUP;
	}
	if (!b->open) {
		snprintf(why, whylen, "not built in this version");
		return -ENOTSUP;
	}
	s->backend = b;
	s->backend_name = b->name;
	r = b->open(s, &priv, err, sizeof(err));
	if (r < 0) {
		snprintf(why, whylen, "%s", err[0] ? err : strerror(-r));
		if (b->close)
			b->close(priv);
		s->backend = NULL;
		s->backend_name = NULL;
		return r;
	}
	s->priv = priv;
	return 0;
}

static int choose_backend(struct pfw_session *s, const struct pfw_backend *forced)
{
	const struct pfw_opts *o = s->opts;
	char why[PFW_DETAIL_LEN + 64];
	char reasons[PFW_NR_BACKENDS][PFW_DETAIL_LEN + 128];
	size_t n = 0;
	int r;

	if (!forced && strcmp(o->backend, "auto"))
		forced = pfw_backend_find(o->backend);
	if (forced) {
		/* an explicit choice never falls back to another backend */
		r = try_backend(s, forced, why, sizeof(why));
		if (r == 0)
			return 0;
		pfw_err("%s backend %s", forced->name, why);
		return r == -ESRCH ? PFW_EXIT_RUNTIME : PFW_EXIT_NOBACKEND;
	}
	for (size_t i = 0; pfw_backends[i]; i++) {
		const struct pfw_backend *b = pfw_backends[i];

		r = try_backend(s, b, why, sizeof(why));
		if (r == 0)
			return 0;
		pfw_info(1, "%s backend %s", b->name, why);
		if (r == -ESRCH) {
			pfw_err("%s backend: %s", b->name, why);
			return PFW_EXIT_RUNTIME;
		}
		if (n < PFW_NR_BACKENDS)
			snprintf(reasons[n++], sizeof(reasons[0]), "%s backend %s", b->name, why);
	}
	pfw_err("no backend can run here:");
	for (size_t i = 0; i < n; i++)
		pfw_err("%s", reasons[i]);
	return PFW_EXIT_NOBACKEND;
}

static void preload_proc(pid_t pid, void *maps)
{
	pfw_maps_load_proc(maps, "/proc", pid);
}

int pfw_run(const struct pfw_opts *opts, const struct pfw_backend *backend,
	    const struct pfw_view *view, bool keep_agg, struct pfw_run_result *res)
{
	struct pfw_session s = {.opts = opts};
	struct child c = {.pid = -1, .release_fd = -1, .report_fd = -1};
	struct pfw_output out;
	struct pfw_run_info info = {0};
	struct utsname uts;
	struct sigsave old;
	struct user user;
	bool started = false, signals = false, opened = false;
	const char *attach = NULL, *lag;
	struct timespec read_lag = {0};
	uint64_t end_ns = 0, next_tick, next_gone_check = 0;
	int rc = PFW_EXIT_OK, r;

	memset(res, 0, sizeof(*res));
	memset(&out, 0, sizeof(out));
	got_signal = 0;
	/* fleet mode passes its exporter view (common/fleet/serve.c) */
	pfw_view_attach(&s, view ? view : pfw_view_of(opts->view));
	if (!s.view) {
		pfw_err("this view is not available in this version");
		return res->exit_code = PFW_EXIT_USAGE;
	}

	/* targets first: a missing one is the user's error, not a backend's */
	if (opts->command) {
		s.target.kind = PFW_TARGET_COMMAND;
	} else if (opts->nr_pids) {
		s.target.kind = PFW_TARGET_PIDS;
		s.target.pids = opts->pids;
		s.target.nr_pids = opts->nr_pids;
		for (size_t i = 0; i < opts->nr_pids; i++) {
			r = check_pid(opts->pids[i]);
			if (r == -ESRCH) {
				pfw_err("no such process: %d; check the pid with ps",
					(int)opts->pids[i]);
				return res->exit_code = PFW_EXIT_RUNTIME;
			}
			if (r == -EINVAL) {
				pfw_err("process %d has no user address space (a kernel thread "
					"or exiting); give a user process",
					(int)opts->pids[i]);
				return res->exit_code = PFW_EXIT_RUNTIME;
			}
		}
	} else {
		s.target.kind = PFW_TARGET_SYSTEM;
	}
	if (opts->user && resolve_user(opts->user, &user) < 0) {
		pfw_err("unknown user '%s'", opts->user);
		return res->exit_code = PFW_EXIT_RUNTIME;
	}
	r = pfw_output_open(&out, opts->output, pfw_format_get(opts->format));
	if (r < 0) {
		pfw_output_open_error(opts->output, r);
		return res->exit_code = PFW_EXIT_RUNTIME;
	}
	s.out = &out;
	s.maps = pfw_maps_new();
	s.agg = pfw_agg_new();
	if (!s.maps || !s.agg) {
		pfw_err("out of memory");
		rc = PFW_EXIT_RUNTIME;
		goto out;
	}
	/*
	 * --cgroup: the processes already in it, loaded as -p loads its
	 * targets, so one that faults and exits before the backend's next
	 * read is still named (maps, comm, cgroup) without /proc.
	 */
	if (opts->cgroup && s.target.kind == PFW_TARGET_SYSTEM)
		pfw_cgroup_procs(opts->cgroup, preload_proc, s.maps);
	for (size_t i = 0; i < s.target.nr_pids; i++) {
		r = pfw_maps_load_proc(s.maps, "/proc", s.target.pids[i]);
		if (r == -ESRCH) {
			pfw_err("no such process: %d", (int)s.target.pids[i]);
			rc = PFW_EXIT_RUNTIME;
			goto out;
		}
	}

	/* before the backend opens: it arms its events on this pid */
	if (opts->command) {
		r = spawn(&c, opts->command, opts->user ? &user : NULL);
		if (r < 0) {
			pfw_err("cannot fork: %s", strerror(-r));
			rc = PFW_EXIT_RUNTIME;
			goto out;
		}
		/*
		 * Between its release and execvp() the child faults in our own
		 * image (stack, COW of libc data): give it our maps so those
		 * few faults resolve; the backend's exec event replaces them.
		 */
		if (pfw_maps_load_proc(s.maps, "/proc", getpid()) == 0)
			pfw_maps_fork(s.maps, getpid(), c.pid);
		s.target.child = c.pid;
		s.target.pids = &c.pid;
		s.target.nr_pids = 1;
	}

	rc = choose_backend(&s, backend);
	if (rc) {
		child_abort(&c);
		goto out;
	}
	opened = true;
	attach = s.backend->attach ? s.backend->attach(s.priv) : NULL;
	if (opts->format == PFW_FMT_TEXT) {
		pfw_info(1, "backend %s, attach mode %s", s.backend->name, attach ? attach : "-");
		if (s.limits[0])
			pfw_info(1, "limits: %s", s.limits);
	}

	/* the session first: a signal right after the handlers are in must stop it */
	cur_session = &s;
	install_signals(&old);
	signals = true;
	s.view->begin(&s);
	s.start_ns = pfw_now_ns();
	r = s.backend->start(s.priv);
	if (r < 0) {
		pfw_err("%s backend: cannot start tracing: %s", s.backend->name, strerror(-r));
		child_abort(&c);
		rc = PFW_EXIT_RUNTIME;
		goto stop;
	}
	started = true;
	next_tick = s.start_ns + opts->interval_ns;

	if (opts->command) {
		struct child_report rep;
		ssize_t n;

		if (write(c.release_fd, "g", 1) != 1) {
			pfw_err("cannot start '%s': %s", opts->command[0], strerror(errno));
			child_abort(&c);
			rc = PFW_EXIT_RUNTIME;
			goto stop;
		}
		close(c.release_fd);
		c.release_fd = -1;
		/* EOF: execvp() closed the CLOEXEC pipe, the command runs */
		do
			n = read(c.report_fd, &rep, sizeof(rep));
		while (n < 0 && errno == EINTR);
		close(c.report_fd);
		c.report_fd = -1;
		if (n == sizeof(rep)) {
			child_poll(&c, 0);
			if (rep.stage == STAGE_USER) {
				pfw_err("cannot run '%s' as user '%s': %s", opts->command[0],
					opts->user, strerror(rep.err));
				rc = PFW_EXIT_RUNTIME;
			} else {
				pfw_err("cannot run '%s': %s", opts->command[0], strerror(rep.err));
				rc = rep.err == ENOENT ? PFW_EXIT_NOTFOUND : PFW_EXIT_NOEXEC;
			}
			goto stop;
		}
	}

	/*
	 * A test hook: each read of the backend's buffer comes this much late,
	 * as on a loaded host, so that a short-lived process has exited (its
	 * /proc gone) before its first fault is read.
	 */
	lag = getenv("PFW_TEST_READ_LAG_MS");
	if (lag && atoi(lag) > 0 && atoi(lag) < 1000)
		read_lag.tv_nsec = atoi(lag) * 1000000L;
	while (!s.stop && !got_signal) {
		int timeout = POLL_MS;
		uint64_t now, drain_start;

		if (s.view->input)
			s.view->input(&s);
		if (s.view->tick && pfw_now_ns() >= next_tick) {
			s.view->tick(&s);
			next_tick += opts->interval_ns;
		}

		if (opts->duration_ns) {
			now = pfw_now_ns();
			if (now - s.start_ns >= opts->duration_ns)
				break;
			uint64_t left = (opts->duration_ns - (now - s.start_ns) + 999999) / 1000000;

			if (left < (uint64_t)timeout)
				timeout = (int)left;
		}
		if (read_lag.tv_nsec)
			nanosleep(&read_lag, NULL);
		drain_start = pfw_now_ns();
		r = s.backend->poll(s.priv, timeout);
		if (r < 0 && r != -EINTR) {
			pfw_err("%s backend: reading events failed: %s", s.backend->name,
				strerror(-r));
			rc = PFW_EXIT_RUNTIME;
			break;
		}
		if (r > 0 && !s.stop) {
			struct timespec until = {
				.tv_sec = (time_t)((drain_start + DRAIN_NS) / 1000000000ull),
				.tv_nsec = (long)((drain_start + DRAIN_NS) % 1000000000ull),
			};

			/* a signal ends the sleep (no SA_RESTART) and the loop sees s.stop */
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
		}
		if (s.target.kind == PFW_TARGET_COMMAND && child_poll(&c, WNOHANG))
			break;
		/*
		 * At most every POLL_MS / 2: while a storm streams in, a check
		 * per 10 ms drain (open, read and close of /proc/PID/stat) was
		 * 4-5% of pfwatch's CPU. Idle, each POLL_MS wait checks once.
		 */
		if (s.target.kind == PFW_TARGET_PIDS && (now = pfw_now_ns()) >= next_gone_check) {
			bool all = true;

			next_gone_check = now + POLL_MS * 1000000ull / 2;
			for (size_t i = 0; i < s.target.nr_pids && all; i++)
				all = pid_gone(s.target.pids[i]);
			if (all)
				break;
		}
	}

stop:
	end_ns = pfw_now_ns();
	if (started && s.backend->stop) {
		r = s.backend->stop(s.priv);
		if (r < 0 && !rc) {
			pfw_err("%s backend: draining events failed: %s", s.backend->name,
				strerror(-r));
			rc = PFW_EXIT_RUNTIME;
		}
	}
	if (opts->command && c.pid > 0 && !c.reaped) {
		/*
		 * Tracing ended before the command (--duration, a signal, the
		 * output went away): end it the way timeout(1) does. A SIGINT
		 * from the terminal already reached it (same process group).
		 */
		int sig = got_signal ? got_signal : SIGTERM;

		/*
		 * A SIGINT sent to pfwatch alone (kill -INT, a supervisor) did
		 * not reach the command: pass it on when it is still there.
		 */
		if (got_signal != SIGINT || !child_wait(&c, 500))
			kill(c.pid, sig);
		if (!child_wait(&c, 2000))
			pfw_warn("'%s' (pid %d) is still running; it is no longer traced",
				 opts->command[0], (int)c.pid);
	}
	if (opts->command && !rc)
		rc = c.reaped ? status_code(c.status) : 128 + (got_signal ? got_signal : SIGTERM);
	if (c.reaped) {
		res->have_rusage = true;
		res->rusage = c.ru;
	}

	uname(&uts);
	info.backend = s.backend ? s.backend->name : NULL;
	info.attach = attach;
	info.kernel = uts.release;
	info.limits = s.limits[0] ? s.limits : NULL;
	info.duration_ns = s.start_ns && end_ns > s.start_ns ? end_ns - s.start_ns : 0;
	pfw_run_info_totals(&info, pfw_agg_totals(s.agg));
	info.lost = s.lost;
	info.exit_status = rc;
	if (opened && !out.err)
		s.view->end(&s, &info);

out:
	cur_session = NULL;
	/* the attach name may live in the backend's state (ftrace): copy it before close */
	snprintf(res->attach, sizeof(res->attach), "%s", attach ? attach : "");
	if (s.backend && s.backend->close)
		s.backend->close(s.priv);
	if (c.release_fd >= 0)
		close(c.release_fd);
	if (c.report_fd >= 0)
		close(c.report_fd);
	rc = pfw_output_finish(&out, opts->output, rc);
	if (s.lost && out.err != EPIPE)
		pfw_err("%" PRIu64 " events lost: the kernel or pfwatch dropped them, the counts "
			"above are lower bounds",
			s.lost);
	if (signals)
		restore_signals(&old);
	res->exit_code = rc;
	res->backend = s.backend;
	res->lost = s.lost;
	if (keep_agg) {
		res->agg = s.agg;
		s.agg = NULL;
	}
	pfw_agg_free(s.agg);
	pfw_maps_free(s.maps);
	return rc;
}
