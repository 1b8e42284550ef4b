// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * File identity at fault entry, for graph mode: the kprobe on
 * handle_mm_fault (x86-64 5.9+: %di = vma) fetches vma->vm_file,
 * file->f_inode->i_ino, ->i_sb->s_dev, vma->vm_start and vma->vm_pgoff
 * with +OFF(...) chains (KERNEL-NOTES §3). kprobe_events before 6.12 have
 * no BTF arguments, so the offsets are computed here from
 * /sys/kernel/btf/vmlinux with libbpf's btf__ API; no program is loaded.
 *
 * 6.1 has no filemap:mm_filemap_fault, and a file mapped for a few
 * milliseconds is unmapped before the records are drained: without these
 * fields its faults could only be named from /proc/PID/maps, which no
 * longer lists it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ftrace.h"

#ifdef HAVE_FTRACE_BTF
#include <bpf/btf.h>

/* typedefs and qualifiers down to the real type */
static const struct btf_type *skip_mods(const struct btf *btf, __u32 id, __u32 *res_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_typedef(t) || btf_is_mod(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (res_id)
		*res_id = id;
	return t;
}

/*
 * Byte offset and type of member @name in struct @id, looking inside
 * anonymous structs and unions (6.12+ puts vm_start in one, 6.1 does not).
 */
static int member_off(const struct btf *btf, __u32 id, const char *name, __u32 *off, __u32 *type)
{
	const struct btf_type *t = skip_mods(btf, id, NULL);
	const struct btf_member *m;

	if (!t || !btf_is_composite(t))
		return -ENOENT;
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *mn = btf__name_by_offset(btf, m->name_off);
		__u32 bits = btf_member_bit_offset(t, i), sub;

		if (mn && mn[0]) {
			if (strcmp(mn, name))
				continue;
			if (btf_member_bitfield_size(t, i) || bits % 8)
				return -EINVAL;
			*off = bits / 8;
			*type = m->type;
			return 0;
		}
		if (!(bits % 8) && !member_off(btf, m->type, name, &sub, type)) {
			*off = bits / 8 + sub;
			return 0;
		}
	}
	return -ENOENT;
}

/* offset of @s.@m; @size: the member's size must be this (0: 4 or 8) */
static int field(const struct btf *btf, const char *s, const char *m, int size, int *off,
		 int *gotsize, char *why, size_t len)
{
	__s32 id = btf__find_by_name_kind(btf, s, BTF_KIND_STRUCT);
	__u32 o, type;
	__s64 sz;

	if (id < 0) {
		snprintf(why, len, "struct %s not in the kernel's BTF", s);
		return -ENOENT;
	}
	if (member_off(btf, id, m, &o, &type)) {
		snprintf(why, len, "%s.%s not in the kernel's BTF", s, m);
		return -ENOENT;
	}
	sz = btf__resolve_size(btf, type);
	if ((size && sz != size) || (!size && sz != 4 && sz != 8)) {
		snprintf(why, len, "%s.%s has size %lld in the kernel's BTF", s, m, (long long)sz);
		return -EINVAL;
	}
	*off = (int)o;
	if (gotsize)
		*gotsize = (int)sz;
	return 0;
}

int pfw_ft_btf_offsets(struct pfw_ft_kfile_offs *o, char *why, size_t len)
{
	struct btf *btf;
	int r;

	memset(o, 0, sizeof(*o));
	btf = btf__load_vmlinux_btf();
	if (!btf) {
		r = -(errno ?: ENOENT);
		snprintf(why, len,
			 "no kernel BTF (/sys/kernel/btf/vmlinux: %s, CONFIG_DEBUG_INFO_BTF)",
			 strerror(-r));
		return r;
	}
	r = field(btf, "vm_area_struct", "vm_file", 8, &o->vm_file, NULL, why, len);
	if (!r)
		r = field(btf, "vm_area_struct", "vm_start", 8, &o->vm_start, NULL, why, len);
	if (!r)
		r = field(btf, "vm_area_struct", "vm_pgoff", 8, &o->vm_pgoff, NULL, why, len);
	if (!r)
		r = field(btf, "file", "f_inode", 8, &o->f_inode, NULL, why, len);
	if (!r)
		r = field(btf, "inode", "i_ino", 0, &o->i_ino, &o->i_ino_size, why, len);
	if (!r)
		r = field(btf, "inode", "i_sb", 8, &o->i_sb, NULL, why, len);
	if (!r)
		r = field(btf, "super_block", "s_dev", 4, &o->s_dev, NULL, why, len);
	btf__free(btf);
	return r;
}
#else
int pfw_ft_btf_offsets(struct pfw_ft_kfile_offs *o, char *why, size_t len)
{
	memset(o, 0, sizeof(*o));
	snprintf(why, len, "pfwatch was built without libbpf, which reads the kernel's BTF");
	return -EOPNOTSUPP;
}
#endif

int pfw_ft_kfile_fetchargs(const struct pfw_ft_kfile_offs *o, char *buf, size_t len)
{
	int n;

	/*
	 * A NULL vm_file (anonymous memory) makes the inner reads fault; the
	 * event is still recorded but those fields are undefined, so the
	 * decoder trusts ino and dev only when vmf is non-zero.
	 */
	n = snprintf(buf, len,
		     "vmf=+%d(%%di):x64 ino=+%d(+%d(+%d(%%di))):x%d "
		     "dev=+%d(+%d(+%d(+%d(%%di)))):x32 start=+%d(%%di):x64 pgoff=+%d(%%di):x64",
		     o->vm_file, o->i_ino, o->f_inode, o->vm_file, o->i_ino_size * 8, o->s_dev,
		     o->i_sb, o->f_inode, o->vm_file, o->vm_start, o->vm_pgoff);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
