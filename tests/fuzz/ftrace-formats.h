/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Event formats as kernel 6.18 prints them in tracefs (events/SYSTEM/EVENT/format), for fuzz-ftrace.c. */

/* the fields every event starts with (the format file's first block) */
#define COMMON_FIELDS                                                                  \
	"\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"         \
	"\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"         \
	"\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n" \
	"\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n"                     \
	"\n"

/* the rest of both page_fault_user and page_fault_kernel (one event class) */
#define PAGE_FAULT_FIELDS                                                     \
	"\tfield:unsigned long address;\toffset:8;\tsize:8;\tsigned:0;\n"     \
	"\tfield:unsigned long ip;\toffset:16;\tsize:8;\tsigned:0;\n"         \
	"\tfield:unsigned long error_code;\toffset:24;\tsize:8;\tsigned:0;\n" \
	"\n"                                                                  \
	"print fmt: \"address=%ps ip=%ps error_code=0x%lx\", (void *)REC->address, (void *)REC->ip, REC->error_code\n"

static const struct {
	const char *sys;
	const char *fmt;
} fuzz_formats[] = {
	{"exceptions",
	 "name: page_fault_user\n"
	 "ID: 190\n"
	 "format:\n"
	 COMMON_FIELDS
	 PAGE_FAULT_FIELDS
	 ""},
	{"exceptions",
	 "name: page_fault_kernel\n"
	 "ID: 189\n"
	 "format:\n"
	 COMMON_FIELDS
	 PAGE_FAULT_FIELDS
	 ""},
	{"filemap",
	 "name: mm_filemap_fault\n"
	 "ID: 597\n"
	 "format:\n"
	 COMMON_FIELDS
	 "\tfield:unsigned long i_ino;\toffset:8;\tsize:8;\tsigned:0;\n"
	 "\tfield:dev_t s_dev;\toffset:16;\tsize:4;\tsigned:0;\n"
	 "\tfield:unsigned long index;\toffset:24;\tsize:8;\tsigned:0;\n"
	 "\n"
	 "print fmt: \"dev=%d:%d ino=%lx ofs=%lld\", ((unsigned int) ((REC->s_dev) >> 20)), ((unsigned int) ((REC->s_dev) & ((1U << 20) - 1))), REC->i_ino, ((loff_t)REC->index) << 12\n"
	 ""},
	{"filemap",
	 "name: mm_filemap_add_to_page_cache\n"
	 "ID: 600\n"
	 "format:\n"
	 COMMON_FIELDS
	 "\tfield:unsigned long pfn;\toffset:8;\tsize:8;\tsigned:0;\n"
	 "\tfield:unsigned long i_ino;\toffset:16;\tsize:8;\tsigned:0;\n"
	 "\tfield:unsigned long index;\toffset:24;\tsize:8;\tsigned:0;\n"
	 "\tfield:dev_t s_dev;\toffset:32;\tsize:4;\tsigned:0;\n"
	 "\tfield:unsigned char order;\toffset:36;\tsize:1;\tsigned:0;\n"
	 "\n"
	 "print fmt: \"dev %d:%d ino %lx pfn=0x%lx ofs=%lu order=%u\", ((unsigned int) ((REC->s_dev) >> 20)), ((unsigned int) ((REC->s_dev) & ((1U << 20) - 1))), REC->i_ino, REC->pfn, REC->index << 12, REC->order\n"
	 ""},
	{"filemap",
	 "name: mm_filemap_map_pages\n"
	 "ID: 598\n"
	 "format:\n"
	 COMMON_FIELDS
	 "\tfield:unsigned long i_ino;\toffset:8;\tsize:8;\tsigned:0;\n"
	 "\tfield:dev_t s_dev;\toffset:16;\tsize:4;\tsigned:0;\n"
	 "\tfield:unsigned long index;\toffset:24;\tsize:8;\tsigned:0;\n"
	 "\tfield:unsigned long last_index;\toffset:32;\tsize:8;\tsigned:0;\n"
	 "\n"
	 "print fmt: \"dev=%d:%d ino=%lx ofs=%lld-%lld\", ((unsigned int) ((REC->s_dev) >> 20)), ((unsigned int) ((REC->s_dev) & ((1U << 20) - 1))), REC->i_ino, ((loff_t)REC->index) << 12, ((((loff_t)REC->last_index + 1) << 12) - 1)\n"
	 ""},
	{"readahead",
	 "name: page_cache_sync_ra\n"
	 "ID: 617\n"
	 "format:\n"
	 COMMON_FIELDS
	 "\tfield:unsigned long i_ino;\toffset:8;\tsize:8;\tsigned:0;\n"
	 "\tfield:dev_t s_dev;\toffset:16;\tsize:4;\tsigned:0;\n"
	 "\tfield:unsigned long index;\toffset:24;\tsize:8;\tsigned:0;\n"
	 "\tfield:unsigned int order;\toffset:32;\tsize:4;\tsigned:0;\n"
	 "\tfield:unsigned int size;\toffset:36;\tsize:4;\tsigned:0;\n"
	 "\tfield:unsigned int async_size;\toffset:40;\tsize:4;\tsigned:0;\n"
	 "\tfield:unsigned int ra_pages;\toffset:44;\tsize:4;\tsigned:0;\n"
	 "\tfield:unsigned int mmap_miss;\toffset:48;\tsize:4;\tsigned:0;\n"
	 "\tfield:loff_t prev_pos;\toffset:56;\tsize:8;\tsigned:1;\n"
	 "\tfield:unsigned long req_count;\toffset:64;\tsize:8;\tsigned:0;\n"
	 "\n"
	 "print fmt: \"dev=%d:%d ino=%lx index=%lu req_count=%lu order=%u size=%u async_size=%u ra_pages=%u mmap_miss=%u prev_pos=%lld\", ((unsigned int) ((REC->s_dev) >> 20)), ((unsigned int) ((REC->s_dev) & ((1U << 20) - 1))), REC->i_ino, REC->index, REC->req_count, REC->order, REC->size, REC->async_size, REC->ra_pages, REC->mmap_miss, REC->prev_pos\n"
	 ""},
	{"task",
	 "name: task_newtask\n"
	 "ID: 205\n"
	 "format:\n"
	 COMMON_FIELDS
	 "\tfield:pid_t pid;\toffset:8;\tsize:4;\tsigned:1;\n"
	 "\tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;\n"
	 "\tfield:u64 clone_flags;\toffset:32;\tsize:8;\tsigned:0;\n"
	 "\tfield:short oom_score_adj;\toffset:40;\tsize:2;\tsigned:1;\n"
	 "\n"
	 "print fmt: \"pid=%d comm=%s clone_flags=%llx oom_score_adj=%hd\", REC->pid, REC->comm, REC->clone_flags, REC->oom_score_adj\n"
	 ""},
	{"task",
	 "name: task_rename\n"
	 "ID: 204\n"
	 "format:\n"
	 COMMON_FIELDS
	 "\tfield:pid_t pid;\toffset:8;\tsize:4;\tsigned:1;\n"
	 "\tfield:char oldcomm[16];\toffset:12;\tsize:16;\tsigned:0;\n"
	 "\tfield:char newcomm[16];\toffset:28;\tsize:16;\tsigned:0;\n"
	 "\tfield:short oom_score_adj;\toffset:44;\tsize:2;\tsigned:1;\n"
	 "\n"
	 "print fmt: \"pid=%d oldcomm=%s newcomm=%s oom_score_adj=%hd\", REC->pid, REC->oldcomm, REC->newcomm, REC->oom_score_adj\n"
	 ""},
	{"sched",
	 "name: sched_process_exec\n"
	 "ID: 365\n"
	 "format:\n"
	 COMMON_FIELDS
	 "\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n"
	 "\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n"
	 "\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n"
	 "\n"
	 "print fmt: \"filename=%s pid=%d old_pid=%d\", __get_str(filename), REC->pid, REC->old_pid\n"
	 ""},
	{"sched",
	 "name: sched_process_exit\n"
	 "ID: 369\n"
	 "format:\n"
	 COMMON_FIELDS
	 "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n"
	 "\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n"
	 "\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;\n"
	 "\tfield:bool group_dead;\toffset:32;\tsize:1;\tsigned:0;\n"
	 "\n"
	 "print fmt: \"comm=%s pid=%d prio=%d group_dead=%s\", REC->comm, REC->pid, REC->prio, REC->group_dead ? \"true\" : \"false\"\n"
	 ""},
	{"ftrace",
	 "name: funcgraph_exit\n"
	 "ID: 10\n"
	 "format:\n"
	 COMMON_FIELDS
	 "\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n"
	 "\tfield:unsigned int depth;\toffset:16;\tsize:4;\tsigned:0;\n"
	 "\tfield:unsigned int overrun;\toffset:20;\tsize:4;\tsigned:0;\n"
	 "\tfield:unsigned long long calltime;\toffset:24;\tsize:8;\tsigned:0;\n"
	 "\tfield:unsigned long long rettime;\toffset:32;\tsize:8;\tsigned:0;\n"
	 "\n"
	 "print fmt: \"<-- %ps (%u) (start: %llx  end: %llx) over: %u\", (void *)REC->func, REC->depth, REC->calltime, REC->rettime, REC->depth\n"
	 ""},
};
