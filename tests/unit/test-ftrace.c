// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ftrace decode + classify + fold without a kernel: event formats as 6.18
 * prints them, records built by hand, fed through the real decoder.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <traceevent/event-parse.h>

#include "ftrace/ftrace.h"
#include "tests/tap.h"

#define COMMON                                                                         \
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"         \
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"         \
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n" \
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"

static const char fmt_pf[] = "name: page_fault_user\nID: 190\nformat:\n" COMMON
			     "\tfield:unsigned long address;\toffset:8;\tsize:8;\tsigned:0;\n"
			     "\tfield:unsigned long ip;\toffset:16;\tsize:8;\tsigned:0;\n"
			     "\tfield:unsigned long error_code;\toffset:24;\tsize:8;\tsigned:0;\n\n"
			     "print fmt: \"address=%lx\", REC->address\n";
static const char fmt_ff[] = "name: mm_filemap_fault\nID: 300\nformat:\n" COMMON
			     "\tfield:unsigned long i_ino;\toffset:8;\tsize:8;\tsigned:0;\n"
			     "\tfield:dev_t s_dev;\toffset:16;\tsize:4;\tsigned:0;\n"
			     "\tfield:unsigned long index;\toffset:24;\tsize:8;\tsigned:0;\n\n"
			     "print fmt: \"ino=%lx\", REC->i_ino\n";
static const char fmt_add[] = "name: mm_filemap_add_to_page_cache\nID: 301\nformat:\n" COMMON
			      "\tfield:unsigned long pfn;\toffset:8;\tsize:8;\tsigned:0;\n"
			      "\tfield:unsigned long i_ino;\toffset:16;\tsize:8;\tsigned:0;\n"
			      "\tfield:unsigned long index;\toffset:24;\tsize:8;\tsigned:0;\n"
			      "\tfield:dev_t s_dev;\toffset:32;\tsize:4;\tsigned:0;\n"
			      "\tfield:unsigned char order;\toffset:36;\tsize:1;\tsigned:0;\n\n"
			      "print fmt: \"ino=%lx\", REC->i_ino\n";

/* a kprobe on handle_mm_fault with the file fields btf.c makes (6.1 layout) */
static const char fmt_hmf[] = "name: hmf\nID: 400\nformat:\n" COMMON
			      "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n"
			      "\tfield:u64 addr;\toffset:16;\tsize:8;\tsigned:0;\n"
			      "\tfield:u32 flags;\toffset:24;\tsize:4;\tsigned:0;\n"
			      "\tfield:u64 regs;\toffset:28;\tsize:8;\tsigned:0;\n"
			      "\tfield:u64 vmf;\toffset:36;\tsize:8;\tsigned:0;\n"
			      "\tfield:u64 ino;\toffset:44;\tsize:8;\tsigned:0;\n"
			      "\tfield:u32 dev;\toffset:52;\tsize:4;\tsigned:0;\n"
			      "\tfield:u64 start;\toffset:56;\tsize:8;\tsigned:0;\n"
			      "\tfield:u64 pgoff;\toffset:64;\tsize:8;\tsigned:0;\n\n"
			      "print fmt: \"(%lx) addr=0x%Lx\", REC->__probe_ip, REC->addr\n";

static unsigned char buf[96];

static struct tep_record *mk(unsigned short id, int pid, uint64_t ts)
{
	static struct tep_record rec;

	memset(buf, 0, sizeof(buf));
	memset(&rec, 0, sizeof(rec));
	memcpy(buf, &id, 2);
	memcpy(buf + 4, &pid, 4);
	rec.data = buf;
	rec.size = 40;
	rec.ts = ts;
	return &rec;
}

static void put64(int off, uint64_t v)
{
	memcpy(buf + off, &v, 8);
}

static void put32(int off, uint32_t v)
{
	memcpy(buf + off, &v, 4);
}

static struct pfw_ft_fault got[16];
static int ngot;

static void collect(void *ctx, const struct pfw_ft_fault *f)
{
	(void)ctx;
	if (ngot < 16)
		got[ngot++] = *f;
}

static void feed(struct pfw_ft_decoder *d, struct pfw_ft_classify *c, struct tep_record *r)
{
	struct pfw_ft_rec fr;

	if (!pfw_ft_decode(d, r, &fr))
		pfw_ft_classify_feed(c, &fr);
}

/* the raw records of the classifier test, laid out as fmt_pf, fmt_ff and fmt_add say */
static void feed_pf(struct pfw_ft_decoder *d, struct pfw_ft_classify *c, int tid, uint64_t ts,
		    uint64_t addr)
{
	struct tep_record *rec = mk(190, tid, ts);

	put64(8, addr);
	feed(d, c, rec);
}

static void feed_ff(struct pfw_ft_decoder *d, struct pfw_ft_classify *c, int tid, uint64_t ts,
		    uint64_t ino, uint32_t dev, uint64_t index)
{
	struct tep_record *rec = mk(300, tid, ts);

	put64(8, ino);
	put32(16, dev);
	put64(24, index);
	feed(d, c, rec);
}

static void feed_add(struct pfw_ft_decoder *d, struct pfw_ft_classify *c, int tid, uint64_t ts,
		     uint64_t ino, uint64_t index, uint32_t dev, unsigned char order)
{
	struct tep_record *rec = mk(301, tid, ts);

	put64(16, ino);
	put64(24, index);
	put32(32, dev);
	buf[36] = order;
	feed(d, c, rec);
}

static void fold_one(struct pfw_ft_fold *f, enum pfw_ft_type t, int tid, uint64_t a, uint64_t b)
{
	struct pfw_ft_rec r = {.type = t, .tid = tid, .ts = a};

	switch (t) {
	case PFW_FT_PF_USER:
		r.addr = b;
		break;
	case PFW_FT_KP_ENTRY:
		r.flags = a;
		r.regs = b;
		r.addr = 0x1000;
		break;
	case PFW_FT_FG_EXIT:
		r.calltime = a;
		r.rettime = b;
		break;
	case PFW_FT_KP_RET:
		r.retval = b;
		break;
	default:
		break;
	}
	pfw_ft_fold_feed(f, &r);
}

int main(void)
{
	struct tep_handle *tep = tep_alloc();
	struct pfw_ft_decoder *d;
	struct pfw_ft_classify *c;
	struct pfw_ft_fold *fo;
	struct pfw_ft_rec r;
	struct tep_event *ev;

	tep_set_long_size(tep, 8);
	tap_ok(!tep_parse_format(tep, &ev, fmt_pf, sizeof(fmt_pf) - 1, "exceptions") &&
		       !tep_parse_format(tep, &ev, fmt_ff, sizeof(fmt_ff) - 1, "filemap") &&
		       !tep_parse_format(tep, &ev, fmt_add, sizeof(fmt_add) - 1, "filemap"),
	       "formats parse");
	d = pfw_ft_decoder_new(tep, NULL);
	tap_ok(pfw_ft_decoder_has(d, PFW_FT_PF_USER) && pfw_ft_decoder_has(d, PFW_FT_ADD_CACHE) &&
		       !pfw_ft_decoder_has(d, PFW_FT_FG_EXIT),
	       "decoder finds exactly the events present");

	{
		struct tep_record *rec = mk(190, 42, 1000);

		put64(8, 0x7f0000001234);
		put64(16, 0x401000);
		tap_ok(!pfw_ft_decode(d, rec, &r) && r.type == PFW_FT_PF_USER && r.tid == 42 &&
			       r.addr == 0x7f0000001234 && r.ip == 0x401000 && r.ts == 1000,
		       "page_fault_user decoded");
		rec->size = 12;
		tap_ok(pfw_ft_decode(d, rec, &r) == -EINVAL, "truncated record rejected");
		tap_ok(pfw_ft_decode(d, mk(999, 1, 1), &r) == -ENOENT, "unknown event id ignored");
	}

	c = pfw_ft_classify_new(collect, NULL);
	/* major: fault, filemap_fault idx 5, add_to_page_cache order 2 at idx 4 */
	{
		ngot = 0;
		feed_pf(d, c, 7, 10, 0x7f0000005000);
		feed_ff(d, c, 7, 11, 99, (8u << 20) | 1, 5);
		feed_add(d, c, 7, 12, 99, 4, (8u << 20) | 1, 2);
		tap_ok(ngot == 1 && got[0].major && got[0].has_file && got[0].index == 5 &&
			       pfw_ft_dev_major(got[0].dev) == 8 && got[0].addr == 0x7f0000005000,
		       "miss then insertion covering the index = major, emitted at once");
		/* the retry's second filemap_fault in the same window: still one fault */
		feed_ff(d, c, 7, 13, 99, (8u << 20) | 1, 5);
		/* insertion of another index in a new window: minor */
		feed_pf(d, c, 7, 20, 0x7f0000009000);
		feed_ff(d, c, 7, 21, 99, (8u << 20) | 1, 9);
		feed_add(d, c, 7, 22, 99, 20, (8u << 20) | 1, 0);
		pfw_ft_classify_flush(c);
		tap_ok(ngot == 2 && !got[1].major && got[1].addr == 0x7f0000009000,
		       "retry is not a second fault; insertion elsewhere leaves a minor");
	}
	pfw_ft_classify_free(c);

	/* graph fold with kprobe: RETRY|MAJOR then a TRIED attempt = one major, latency first call -> last return */
	fo = pfw_ft_fold_new(collect, NULL, true, false, true);
	ngot = 0;
	fold_one(fo, PFW_FT_PF_USER, 5, 100, 0x7f0000001000);
	fold_one(fo, PFW_FT_KP_ENTRY, 5, 0x1000 /* VMA_LOCK */, 0xffff1);
	fold_one(fo, PFW_FT_FG_EXIT, 5, 1000, 5000);
	fold_one(fo, PFW_FT_KP_RET, 5, 0, PFW_VM_FAULT_RETRY | PFW_VM_FAULT_MAJOR);
	fold_one(fo, PFW_FT_KP_ENTRY, 5, PFW_FAULT_FLAG_TRIED, 0xffff1);
	fold_one(fo, PFW_FT_KP_RET, 5, 0, 0);
	fold_one(fo, PFW_FT_FG_EXIT, 5, 6000, 7000);
	tap_ok(ngot == 1 && got[0].major && got[0].has_latency && got[0].latency_ns == 6000,
	       "retried fault folds into one major with latency 6000");
	/* GUP (regs NULL) is not a user fault; an error return is not counted */
	fold_one(fo, PFW_FT_KP_ENTRY, 5, 0, 0);
	fold_one(fo, PFW_FT_FG_EXIT, 5, 8000, 9000);
	fold_one(fo, PFW_FT_KP_RET, 5, 0, PFW_VM_FAULT_MAJOR);
	fold_one(fo, PFW_FT_PF_USER, 5, 10000, 0x7f0000002000);
	fold_one(fo, PFW_FT_KP_ENTRY, 5, 0, 0xffff1);
	fold_one(fo, PFW_FT_KP_RET, 5, 0, PFW_VM_FAULT_SIGSEGV);
	fold_one(fo, PFW_FT_FG_EXIT, 5, 10100, 10200);
	tap_ok(ngot == 1, "GUP call and VM_FAULT_ERROR fault not counted");
	pfw_ft_fold_free(fo);

	/*
	 * kprobe + kretprobe only (top level busy on a 6.1-like kernel): latency
	 * from the page-fault event to the completing return; the file of the
	 * attempt from mm_filemap_fault, never from a GUP call's.
	 */
	fo = pfw_ft_fold_new(collect, NULL, true, false, false);
	ngot = 0;
	fold_one(fo, PFW_FT_PF_USER, 6, 1000, 0x7f0000003000);
	fold_one(fo, PFW_FT_KP_ENTRY, 6, 0x1000, 0xffff1);
	{
		struct pfw_ft_rec fr = {.type = PFW_FT_FILEMAP_FAULT,
					.tid = 6,
					.ts = 1100,
					.dev = (259u << 20) | 1,
					.ino = 12,
					.index = 3};

		pfw_ft_fold_feed(fo, &fr);
	}
	fold_one(fo, PFW_FT_KP_RET, 6, 4000, PFW_VM_FAULT_RETRY | PFW_VM_FAULT_MAJOR);
	fold_one(fo, PFW_FT_KP_ENTRY, 6, PFW_FAULT_FLAG_TRIED, 0xffff1);
	fold_one(fo, PFW_FT_KP_RET, 6, 9000, 0);
	tap_ok(ngot == 1 && got[0].major && got[0].has_latency && got[0].latency_ns == 8000 &&
		       got[0].has_file && got[0].ino == 12 && got[0].index == 3 &&
		       got[0].dev == ((259u << 20) | 1),
	       "kprobe-only fold: one major, latency 8000 from #PF to last return, file from "
	       "filemap");
	fold_one(fo, PFW_FT_KP_ENTRY, 6, 0, 0);
	{
		struct pfw_ft_rec fr = {
			.type = PFW_FT_FILEMAP_FAULT, .tid = 6, .ts = 9100, .ino = 13};

		pfw_ft_fold_feed(fo, &fr);
	}
	fold_one(fo, PFW_FT_KP_RET, 6, 9200, PFW_VM_FAULT_MAJOR);
	fold_one(fo, PFW_FT_PF_USER, 6, 9300, 0x7f0000004000);
	fold_one(fo, PFW_FT_KP_ENTRY, 6, 0x1000, 0xffff1);
	fold_one(fo, PFW_FT_KP_RET, 6, 9500, 0);
	tap_ok(ngot == 2 && !got[1].major && !got[1].has_file && got[1].latency_ns == 200,
	       "GUP's filemap record is not the next fault's file");
	pfw_ft_fold_free(fo);

	/*
	 * File identity from the kprobe: offset = vm_pgoff pages + the page's
	 * distance from vm_start; anonymous (vmf 0) carries no file whatever
	 * the faulted reads left in ino/dev.
	 */
	{
		struct pfw_ft_decoder *dk;
		struct tep_record *rec;

		tap_ok(!tep_parse_format(tep, &ev, fmt_hmf, sizeof(fmt_hmf) - 1, "pfwatch_1"),
		       "kprobe format parses");
		dk = pfw_ft_decoder_new(tep, "pfwatch_1");
		rec = mk(400, 8, 500);
		rec->size = 72;
		put64(16, 0x7f0000005123);
		put32(24, 0x1255);
		put64(28, 0xffffc90000001000);
		put64(36, 0xffff888001234500);
		put64(44, 4242);
		put32(52, (259u << 20) | 2);
		put64(56, 0x7f0000001000);
		put64(64, 16);
		tap_ok(!pfw_ft_decode(dk, rec, &r) && r.type == PFW_FT_KP_ENTRY && r.has_file &&
			       r.ino == 4242 && r.dev == ((259u << 20) | 2) && r.index == 16 + 4 &&
			       r.flags == 0x1255 && r.regs == 0xffffc90000001000,
		       "kprobe file fields: dev, ino, index = pgoff + (addr - start) / 4096");
		put64(36, 0);
		tap_ok(!pfw_ft_decode(dk, rec, &r) && r.type == PFW_FT_KP_ENTRY && !r.has_file,
		       "anonymous vma (vm_file NULL): no file");
		put64(36, 0xffff888001234500);
		put64(56, 0x7f0000009000);
		tap_ok(!pfw_ft_decode(dk, rec, &r) && !r.has_file,
		       "address below vm_start: no file");
		pfw_ft_decoder_free(dk);

		/* the first attempt's file names the fault; a GUP call's never does */
		fo = pfw_ft_fold_new(collect, NULL, true, false, false);
		ngot = 0;
		{
			struct pfw_ft_rec gup = {.type = PFW_FT_KP_ENTRY,
						 .tid = 9,
						 .ts = 10,
						 .addr = 0x7f0000001000,
						 .has_file = true,
						 .ino = 1};
			struct pfw_ft_rec a1 = {.type = PFW_FT_KP_ENTRY,
						.tid = 9,
						.ts = 30,
						.addr = 0x7f0000002000,
						.flags = 0x1000,
						.regs = 0xffff1,
						.has_file = true,
						.dev = 7,
						.ino = 77,
						.index = 5};
			struct pfw_ft_rec a2 = a1;

			pfw_ft_fold_feed(fo, &gup);
			fold_one(fo, PFW_FT_KP_RET, 9, 20, PFW_VM_FAULT_MAJOR);
			fold_one(fo, PFW_FT_PF_USER, 9, 25, 0x7f0000002000);
			pfw_ft_fold_feed(fo, &a1);
			fold_one(fo, PFW_FT_KP_RET, 9, 40, PFW_VM_FAULT_RETRY | PFW_VM_FAULT_MAJOR);
			a2.ts = 50;
			a2.flags = PFW_FAULT_FLAG_TRIED;
			a2.ino = 78;
			pfw_ft_fold_feed(fo, &a2);
			fold_one(fo, PFW_FT_KP_RET, 9, 60, 0);
		}
		tap_ok(ngot == 1 && got[0].major && got[0].has_file && got[0].ino == 77 &&
			       got[0].dev == 7 && got[0].index == 5,
		       "fold: the fault's file is its first attempt's, GUP's ignored");
		pfw_ft_fold_free(fo);
	}

	/* offsets from this kernel's BTF: vm_file is a pointer inside vm_area_struct */
	{
		struct pfw_ft_kfile_offs o;
		char why[256], args[256];
		int rr = pfw_ft_btf_offsets(&o, why, sizeof(why));

		if (rr)
			tap_skip("BTF offsets: %s", why);
		else
			tap_ok(o.vm_file > o.vm_start && o.vm_pgoff > o.vm_start &&
				       (o.i_ino_size == 4 || o.i_ino_size == 8) &&
				       !pfw_ft_kfile_fetchargs(&o, args, sizeof(args)) &&
				       strstr(args, "vmf=+") && strstr(args, "(%di)"),
			       "BTF offsets of vm_file, vm_start, vm_pgoff, i_ino, s_dev");
	}

	pfw_ft_decoder_free(d);
	tep_free(tep);
	return tap_done();
}
