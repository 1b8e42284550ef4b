// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * runas UID GID PROGRAM [ARG]...: drop from root to UID/GID (no
 * supplementary groups, no capabilities, no_new_privs) and exec PROGRAM.
 * The VM guests have busybox only, whose setpriv has no --reuid and whose su
 * needs a passwd entry; numeric ids work everywhere.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int parse_id(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end || *out == 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long uid, gid;

	if (argc < 4 || parse_id(argv[1], &uid) || parse_id(argv[2], &gid)) {
		fprintf(stderr, "usage: runas UID GID PROGRAM [ARG]... (ids > 0)\n");
		return 2;
	}
	/* order matters: groups and gid while still privileged, uid last */
	if (setgroups(0, NULL) || setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid)) {
		fprintf(stderr, "runas: %s\n", strerror(errno));
		return 126;
	}
	/* a uid change from 0 clears the capability sets; no_new_privs keeps them off */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		fprintf(stderr, "runas: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
		return 126;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "runas: %s: %s\n", argv[3], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
