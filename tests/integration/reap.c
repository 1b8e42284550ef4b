// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * reap REPORT PROGRAM [ARG]...: run PROGRAM as a child and write the
 * kernel's fault counts of its whole life to REPORT.
 *
 * A process cannot count the faults of its own exit: exit handlers, a
 * sanitizer's leak check and the C library's teardown run after the last
 * getrusage(RUSAGE_SELF) it can print, and they may fault on a page of a
 * library that nothing had read yet. A tracer counts those too, so a test
 * that compares it with the workload's own report is one fault short now and
 * then. wait4() of the parent is the count up to the very end; the test
 * shell cannot be that parent (dash reaps its background children before
 * /proc/PID/stat of the zombie can be read).
 *
 * REPORT first holds "pid N" (written before PROGRAM is executed, so a
 * reader who sees PROGRAM's own output sees the pid too), then, once the
 * child is reaped, "pid N", "majflt N", "minflt N" and "status N" lines
 * (status as the shell gives it: the exit code, or 128 + the signal), and
 * reap's own "reaper PID" and "reaper_majflt N": a tracer of reap's whole
 * tree counts majflt + reaper_majflt. reap's count is final: it leaves by
 * _exit() right after it, so no exit handler (a sanitizer's leak check)
 * runs in user space after it. Both versions of REPORT are written whole
 * and renamed into place. reap exits with the child's status; the child
 * dies with reap (PR_SET_PDEATHSIG) so a killed test leaves nothing behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_report(const char *path, const char *text)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fputs(text, f);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int go[2], status, code;
	struct rusage ru, self;
	char text[256], c;
	pid_t pid, parent = getpid();

	if (argc < 3) {
		fprintf(stderr, "usage: reap REPORT PROGRAM [ARG]...\n");
		return 2;
	}
	if (pipe(go)) {
		fprintf(stderr, "reap: pipe: %s\n", strerror(errno));
		return 126;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "reap: fork: %s\n", strerror(errno));
		return 126;
	}
	if (pid == 0) {
		close(go[1]);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(126);
		/* the pid is on record before PROGRAM runs: wait for EOF */
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		close(go[0]);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "reap: %s: %s\n", argv[2], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(go[0]);
	snprintf(text, sizeof(text), "pid %d\n", (int)pid);
	if (write_report(argv[1], text)) {
		fprintf(stderr, "reap: cannot write %s: %s\n", argv[1], strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 126;
	}
	close(go[1]);

	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "reap: wait4: %s\n", strerror(errno));
			return 126;
		}
	}
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	/* what runs after this (the report, as the pid's was) has run before */
	getrusage(RUSAGE_SELF, &self);
	snprintf(text, sizeof(text),
		 "pid %d\nmajflt %ld\nminflt %ld\nstatus %d\nreaper %d\nreaper_majflt %ld\n",
		 (int)pid, ru.ru_majflt, ru.ru_minflt, code, (int)parent, self.ru_majflt);
	if (write_report(argv[1], text)) {
		fprintf(stderr, "reap: cannot write %s: %s\n", argv[1], strerror(errno));
		_exit(126);
	}
	_exit(code);
}
