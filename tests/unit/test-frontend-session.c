// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pfw_session_emit(): the filters, comm and path completion, the file
 * offset arithmetic and the hand-over to the aggregation, on real maps and
 * agg code (no backend needed).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tap.h"
#include "agg.h"
#include "maps.h"
#include "output.h"
#include "session.h"

static const char maps_text[] =
	"55d0a0000000-55d0a0002000 r--p 00000000 fd:01 1234 /usr/bin/tool\n"
	"55d0a0002000-55d0a0010000 r-xp 00002000 fd:01 1234 /usr/bin/tool\n"
	"7f0000000000-7f0000100000 r--s 00400000 103:02 777 /data/big file,1\n"
	"7f0000200000-7f0000300000 rw-p 00000000 00:00 0 \n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n";

static struct pfw_event ev(pid_t pid, enum pfw_kind k, uint64_t addr)
{
	struct pfw_event e = {.pid = pid,
			      .tid = pid,
			      .kind = k,
			      .addr = addr,
			      .flags = PFW_EV_ADDR | PFW_EV_COMM,
			      .time_ns = 5};

	strcpy(e.comm, "tool");
	return e;
}

int main(void)
{
	struct pfw_opts o = {.faults = PFW_WANT_MAJOR};
	struct pfw_session s = {.opts = &o};
	struct pfw_output out;
	const struct pfw_totals *t;
	struct pfw_file_stats *f = NULL;
	struct pfw_event e;
	char *buf = NULL;
	size_t len, n;
	/* a pid that cannot exist: /proc reloads fail, the maps are the text above */
	const pid_t pid = 0x3fffffff;

	memset(&out, 0, sizeof(out));
	out.fmt = &pfw_format_json;
	out.fp = open_memstream(&buf, &len);
	s.out = &out;
	pfw_view_attach(&s, &pfw_view_events);
	s.maps = pfw_maps_new();
	s.agg = pfw_agg_new();
	tap_ok(pfw_maps_parse(s.maps, pid, maps_text, sizeof(maps_text) - 1) == 5, "maps parse");

	e = ev(pid, PFW_MAJOR, 0x7f0000003123);
	pfw_session_emit(&s, &e);
	tap_ok(e.path && !strcmp(e.path, "/data/big file,1") && (e.flags & PFW_EV_FILE) &&
		       e.inode == 777 && e.dev_major == 0x103 && e.dev_minor == 2,
	       "file mapping resolved: path, inode, dev");
	tap_is_u64(e.offset, 0x400000 + 0x3000, "offset = pgoff + page of (addr - start)");

	e = ev(pid, PFW_MINOR, 0x55d0a0002000);
	pfw_session_emit(&s, &e);
	tap_ok(!e.path, "--faults=major drops minor faults before any work");

	o.faults = PFW_WANT_MAJOR | PFW_WANT_MINOR;
	e = ev(pid, PFW_MINOR, 0x7f0000200010);
	pfw_session_emit(&s, &e);
	tap_ok(e.path && !(e.flags & PFW_EV_FILE), "anonymous mapping: no file fields");
	e = ev(pid, PFW_MINOR, 0x7ffd00000008);
	pfw_session_emit(&s, &e);
	tap_is_str(e.path, "[stack]", "stack");
	e = ev(pid, PFW_MAJOR, 0x1000);
	pfw_session_emit(&s, &e);
	tap_is_str(e.path, "[unknown]", "an address in no mapping is [unknown]");

	/* the backend saw the inode but not the name */
	e = ev(pid, PFW_MAJOR, 0x55d0a0003000);
	e.flags |= PFW_EV_FILE;
	e.inode = 1234;
	e.dev_major = 0xfd;
	e.dev_minor = 1;
	e.offset = 4096;
	pfw_session_emit(&s, &e);
	tap_is_str(e.path, "/usr/bin/tool", "path from (dev, inode)");
	tap_is_u64(e.offset, 4096, "the backend's offset is kept");

	/* --comm */
	o.comm = "other";
	e = ev(pid, PFW_MAJOR, 0x7f0000003000);
	pfw_session_emit(&s, &e);
	tap_ok(!e.path, "--comm drops other names");
	o.comm = "tool";
	e = ev(pid, PFW_MAJOR, 0x7f0000004000);
	pfw_session_emit(&s, &e);
	tap_ok(e.path != NULL, "--comm keeps its name");
	o.comm = NULL;

	/* comm unknown to the backend: from the maps' thread names, then /proc */
	pfw_maps_set_comm(s.maps, pid, pid + 1, "worker");
	e = ev(pid, PFW_MAJOR, 0x7f0000005000);
	e.tid = pid + 1;
	e.flags &= ~PFW_EV_COMM;
	memset(e.comm, 0, sizeof(e.comm));
	pfw_session_emit(&s, &e);
	tap_ok((e.flags & PFW_EV_COMM) && !strcmp(e.comm, "worker"), "comm from the maps");
	/* the parent: a live process whose name /proc knows (our own pid is dropped) */
	e = ev(getppid(), PFW_MAJOR, 0x1000);
	e.flags &= ~PFW_EV_COMM;
	memset(e.comm, 0, sizeof(e.comm));
	pfw_session_emit(&s, &e);
	{
		char want[32] = "", path[64];
		FILE *fp;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)getppid());
		fp = fopen(path, "r");
		if (fp && fgets(want, sizeof(want), fp))
			want[strcspn(want, "\n")] = '\0';
		if (fp)
			fclose(fp);
		tap_ok((e.flags & PFW_EV_COMM) && want[0] && !strcmp(e.comm, want),
		       "comm from /proc/PID/task/TID/comm");
	}
	e = ev(getpid(), PFW_MAJOR, 0x7f0000009000);
	pfw_session_emit(&s, &e);
	tap_ok(!e.path, "pfwatch's own faults are dropped");

	t = pfw_agg_totals(s.agg);
	tap_is_u64(t->major, 6, "majors aggregated");
	tap_is_u64(t->minor, 2, "minors aggregated");
	tap_is_u64(s.nr_emitted, 8, "emitted count");
	n = pfw_agg_files(s.agg, &f);
	tap_ok(n >= 3 && !strcmp(f[0].path, "/data/big file,1") && f[0].major == 3 &&
		       f[0].pages == 3,
	       "per-file row: 3 majors on 3 distinct pages");
	free(f);

	fclose(out.fp);
	n = 0;
	for (char *p = buf; *p; p++)
		n += *p == '\n';
	tap_is_u64(n, 8, "the view printed one line per kept fault");
	free(buf);
	pfw_agg_free(s.agg);
	pfw_maps_free(s.maps);
	return tap_done();
}
