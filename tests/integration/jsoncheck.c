// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * jsoncheck: the integration tests' JSON Lines and CSV reader. Guests have
 * busybox only (no python, no jq), and shell tools cannot decode \u escapes
 * or RFC 4180 quoting, so this does it with strict parsers.
 *
 *   jsoncheck validate FILE              every line one JSON object (RFC 8259, UTF-8)
 *   jsoncheck get FILE RECORD FIELD...   one line per object whose "record" is RECORD:
 *                                        the fields, tab separated
 *   jsoncheck csv FILE                   RFC 4180, rectangular: prints "RECORDS FIELDS"
 *   jsoncheck csvget FILE COLUMN...      the named columns of every data record
 *   jsoncheck faults FILE HEXPATH SIZE   check the fault records of one file: offsets
 *                                        page aligned and < SIZE, addr - offset constant
 *   jsoncheck hex STRING                 STRING hex encoded
 *   jsoncheck cescape HEX                the bytes HEX as SPEC.md's text escape would
 *                                        show them (\n \t \r \\ \xHH; UTF-8 kept)
 *
 * Output values: a field written "x:NAME" prints a string value hex encoded
 * (so any byte survives the shell), "-" for the empty string; strings are
 * printed raw otherwise. null prints "null", a missing member "missing",
 * arrays and objects "array"/"object". Exit 0 on success, 1 on a malformed
 * input or failed check (with the reason on stderr), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum jtype { J_MISSING, J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct member {
	char *key;
	size_t key_len;
	enum jtype type;
	char *val; /* decoded string, or the number/bool text */
	size_t val_len;
};

struct obj {
	struct member *m;
	size_t n, cap;
};

struct parser {
	const char *p, *end;
	const char *err;
};

static void obj_free(struct obj *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->m[i].key);
		free(o->m[i].val);
	}
	free(o->m);
	o->m = NULL;
	o->n = o->cap = 0;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n'))
		ps->p++;
}

static bool fail(struct parser *ps, const char *why)
{
	if (!ps->err)
		ps->err = why;
	return false;
}

/* length of a well-formed UTF-8 sequence at p (RFC 3629), 0 if malformed */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool parse_u4(struct parser *ps, uint32_t *out)
{
	uint32_t v = 0;

	if (ps->end - ps->p < 4)
		return fail(ps, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		int h = hexval(ps->p[i]);

		if (h < 0)
			return fail(ps, "bad hex digit in \\u escape");
		v = v << 4 | (uint32_t)h;
	}
	ps->p += 4;
	*out = v;
	return true;
}

static void put_utf8(char *out, size_t *len, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*len)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*len)++] = (char)(0xc0 | cp >> 6);
		out[(*len)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*len)++] = (char)(0xe0 | cp >> 12);
		out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*len)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*len)++] = (char)(0xf0 | cp >> 18);
		out[(*len)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*len)++] = (char)(0x80 | (cp & 0x3f));
	}
}

/* a JSON string at ps->p (on the quote); decoded into a malloc'd buffer if out */
static bool parse_string(struct parser *ps, char **out, size_t *out_len)
{
	const char *start = ++ps->p;
	/* decoded text is never longer than the source */
	char *buf = malloc((size_t)(ps->end - start) + 1);
	size_t len = 0;

	if (!buf)
		return fail(ps, "out of memory");
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p;

		if (c < 0x20) {
			free(buf);
			return fail(ps, "raw control character in a string");
		}
		if (c == '\\') {
			uint32_t cp, lo;

			if (++ps->p >= ps->end)
				break;
			switch (*ps->p++) {
			case '"':
				buf[len++] = '"';
				break;
			case '\\':
				buf[len++] = '\\';
				break;
			case '/':
				buf[len++] = '/';
				break;
			case 'b':
				buf[len++] = '\b';
				break;
			case 'f':
				buf[len++] = '\f';
				break;
			case 'n':
				buf[len++] = '\n';
				break;
			case 'r':
				buf[len++] = '\r';
				break;
			case 't':
				buf[len++] = '\t';
				break;
			case 'u':
				if (!parse_u4(ps, &cp)) {
					free(buf);
					return false;
				}
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (ps->end - ps->p < 6 || ps->p[0] != '\\' ||
					    ps->p[1] != 'u') {
						free(buf);
						return fail(ps, "lone high surrogate");
					}
					ps->p += 2;
					if (!parse_u4(ps, &lo)) {
						free(buf);
						return false;
					}
					if (lo < 0xdc00 || lo > 0xdfff) {
						free(buf);
						return fail(ps, "bad low surrogate");
					}
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp <= 0xdfff) {
					free(buf);
					return fail(ps, "lone low surrogate");
				}
				put_utf8(buf, &len, cp);
				break;
			default:
				free(buf);
				return fail(ps, "unknown escape");
			}
			continue;
		}
		size_t n = utf8_len((const unsigned char *)ps->p, (const unsigned char *)ps->end);

		if (!n) {
			free(buf);
			return fail(ps, "invalid UTF-8 in a string");
		}
		memcpy(buf + len, ps->p, n);
		len += n;
		ps->p += n;
	}
	if (ps->p >= ps->end) {
		free(buf);
		return fail(ps, "unterminated string");
	}
	ps->p++;
	buf[len] = 0;
	if (out) {
		*out = buf;
		*out_len = len;
	} else {
		free(buf);
	}
	return true;
}

static bool parse_number(struct parser *ps)
{
	const char *p = ps->p;

	if (p < ps->end && *p == '-')
		p++;
	if (p >= ps->end)
		return fail(ps, "bad number");
	if (*p == '0') {
		p++;
	} else if (*p >= '1' && *p <= '9') {
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return fail(ps, "bad number");
	}
	if (p < ps->end && *p == '.') {
		p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return fail(ps, "bad fraction");
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return fail(ps, "bad exponent");
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	ps->p = p;
	return true;
}

static bool parse_value(struct parser *ps, int depth, struct member *m);

static bool parse_object(struct parser *ps, int depth, struct obj *o)
{
	ps->p++; /* { */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == '}') {
		ps->p++;
		return true;
	}
	for (;;) {
		struct member m = {0};

		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != '"')
			return fail(ps, "expected a member name");
		if (!parse_string(ps, o ? &m.key : NULL, &m.key_len))
			return false;
		skip_ws(ps);
		if (ps->p >= ps->end || *ps->p != ':') {
			free(m.key);
			return fail(ps, "expected ':'");
		}
		ps->p++;
		skip_ws(ps);
		if (!parse_value(ps, depth + 1, o ? &m : NULL)) {
			free(m.key);
			free(m.val);
			return false;
		}
		if (o) {
			for (size_t i = 0; i < o->n; i++) {
				if (o->m[i].key_len == m.key_len &&
				    !memcmp(o->m[i].key, m.key, m.key_len)) {
					free(m.key);
					free(m.val);
					return fail(ps, "duplicate member");
				}
			}
			if (o->n == o->cap) {
				size_t cap = o->cap ? o->cap * 2 : 16;
				struct member *nm = realloc(o->m, cap * sizeof(*nm));

				if (!nm) {
					free(m.key);
					free(m.val);
					return fail(ps, "out of memory");
				}
				o->m = nm;
				o->cap = cap;
			}
			o->m[o->n++] = m;
		}
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == '}') {
			ps->p++;
			return true;
		}
		return fail(ps, "expected ',' or '}'");
	}
}

static bool parse_array(struct parser *ps, int depth)
{
	ps->p++; /* [ */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == ']') {
		ps->p++;
		return true;
	}
	for (;;) {
		skip_ws(ps);
		if (!parse_value(ps, depth + 1, NULL))
			return false;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return true;
		}
		return fail(ps, "expected ',' or ']'");
	}
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return fail(ps, "bad literal");
	ps->p += n;
	return true;
}

static bool parse_value(struct parser *ps, int depth, struct member *m)
{
	const char *start = ps->p;

	if (depth > 64)
		return fail(ps, "nested too deep");
	if (ps->p >= ps->end)
		return fail(ps, "expected a value");
	switch (*ps->p) {
	case '"':
		if (m)
			m->type = J_STR;
		return parse_string(ps, m ? &m->val : NULL, m ? &m->val_len : NULL);
	case '{':
		if (m)
			m->type = J_OBJ;
		return parse_object(ps, depth, NULL);
	case '[':
		if (m)
			m->type = J_ARR;
		return parse_array(ps, depth);
	case 't':
	case 'f':
		if (m)
			m->type = J_BOOL;
		if (!literal(ps, *ps->p == 't' ? "true" : "false"))
			return false;
		break;
	case 'n':
		if (m)
			m->type = J_NULL;
		return literal(ps, "null");
	default:
		if (m)
			m->type = J_NUM;
		if (!parse_number(ps))
			return false;
	}
	if (m) {
		m->val_len = (size_t)(ps->p - start);
		m->val = strndup(start, m->val_len);
		if (!m->val)
			return fail(ps, "out of memory");
	}
	return true;
}

/* one line, one object, nothing else */
static bool parse_line(const char *line, size_t len, struct obj *o, const char **err)
{
	struct parser ps = {.p = line, .end = line + len};

	skip_ws(&ps);
	if (ps.p >= ps.end || *ps.p != '{') {
		*err = "a line is not a JSON object";
		return false;
	}
	if (!parse_object(&ps, 0, o)) {
		*err = ps.err;
		obj_free(o);
		return false;
	}
	skip_ws(&ps);
	if (ps.p != ps.end) {
		*err = "trailing text after the object";
		obj_free(o);
		return false;
	}
	return true;
}

static const struct member *obj_get(const struct obj *o, const char *key)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->m[i].key_len == strlen(key) && !memcmp(o->m[i].key, key, o->m[i].key_len))
			return &o->m[i];
	return NULL;
}

static void print_hex(const char *s, size_t n)
{
	if (!n)
		putchar('-');
	for (size_t i = 0; i < n; i++)
		printf("%02x", (unsigned char)s[i]);
}

static void print_member(const struct member *m, bool hex)
{
	if (!m) {
		fputs("missing", stdout);
		return;
	}
	switch (m->type) {
	case J_NULL:
		fputs("null", stdout);
		break;
	case J_ARR:
		fputs("array", stdout);
		break;
	case J_OBJ:
		fputs("object", stdout);
		break;
	case J_STR:
		if (hex)
			print_hex(m->val, m->val_len);
		else
			fwrite(m->val, 1, m->val_len, stdout);
		break;
	default:
		fwrite(m->val, 1, m->val_len, stdout);
	}
}

/* field spec "x:name" means print hex */
static const char *field_name(const char *spec, bool *hex)
{
	*hex = !strncmp(spec, "x:", 2);
	return *hex ? spec + 2 : spec;
}

typedef bool (*line_fn)(const struct obj *o, size_t lineno, void *arg);

static int each_line(const char *file, line_fn fn, void *arg)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int ret = 0;

	if (!f) {
		fprintf(stderr, "jsoncheck: %s: %s\n", file, strerror(errno));
		return 1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct obj o = {0};
		const char *err = NULL;

		lineno++;
		if (len == 0 || line[len - 1] != '\n') {
			fprintf(stderr, "jsoncheck: %s:%zu: line not terminated by a newline\n",
				file, lineno);
			ret = 1;
			break;
		}
		if (memchr(line, 0, (size_t)len)) {
			fprintf(stderr, "jsoncheck: %s:%zu: NUL byte\n", file, lineno);
			ret = 1;
			break;
		}
		if (!parse_line(line, (size_t)len - 1, &o, &err)) {
			fprintf(stderr, "jsoncheck: %s:%zu: %s\n", file, lineno, err);
			ret = 1;
			break;
		}
		if (fn && !fn(&o, lineno, arg))
			ret = 1;
		obj_free(&o);
		if (ret)
			break;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (!ret && !lineno) {
		fprintf(stderr, "jsoncheck: %s: empty\n", file);
		ret = 1;
	}
	if (!ret && !fn)
		printf("%zu\n", lineno);
	return ret;
}

struct get_args {
	const char *record;
	char **fields;
	int nr_fields;
};

static bool get_line(const struct obj *o, size_t lineno, void *arg)
{
	struct get_args *a = arg;
	const struct member *r = obj_get(o, "record");

	if (!r || r->type != J_STR) {
		fprintf(stderr, "jsoncheck: line %zu has no string \"record\" member\n", lineno);
		return false;
	}
	if (strcmp(a->record, "*") && strcmp(r->val, a->record))
		return true;
	for (int i = 0; i < a->nr_fields; i++) {
		bool hex;
		const char *name = field_name(a->fields[i], &hex);

		if (i)
			putchar('\t');
		print_member(obj_get(o, name), hex);
	}
	putchar('\n');
	return true;
}

static bool parse_u64(const char *s, int base, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, base);
	return !errno && end != s && !*end;
}

struct fault_args {
	const char *path; /* decoded */
	size_t path_len;
	uint64_t size;
	uint64_t n, base;
	bool have_base;
	unsigned char *pages; /* distinct page bitmap */
	uint64_t distinct;
};

static bool fault_line(const struct obj *o, size_t lineno, void *arg)
{
	struct fault_args *a = arg;
	const struct member *r = obj_get(o, "record"), *p = obj_get(o, "path");
	const struct member *off = obj_get(o, "offset"), *addr = obj_get(o, "addr");
	uint64_t offset, va, base, page = 4096, pg;

	if (!r || r->type != J_STR || strcmp(r->val, "fault"))
		return true;
	if (!p || p->type != J_STR || p->val_len != a->path_len ||
	    memcmp(p->val, a->path, a->path_len))
		return true;
	a->n++;
	if (!off || off->type != J_NUM || !parse_u64(off->val, 10, &offset)) {
		fprintf(stderr, "jsoncheck: line %zu: fault on the file without a numeric offset\n",
			lineno);
		return false;
	}
	if (!addr || addr->type != J_STR || strncmp(addr->val, "0x", 2) ||
	    !parse_u64(addr->val + 2, 16, &va)) {
		fprintf(stderr, "jsoncheck: line %zu: addr is not a \"0x...\" string\n", lineno);
		return false;
	}
	if (offset % page) {
		fprintf(stderr, "jsoncheck: line %zu: offset %" PRIu64 " not page aligned\n",
			lineno, offset);
		return false;
	}
	if (offset >= a->size) {
		fprintf(stderr,
			"jsoncheck: line %zu: offset %" PRIu64 " >= file size %" PRIu64 "\n",
			lineno, offset, a->size);
		return false;
	}
	/* one mapping of the file: page(addr) - offset is the mapping's start for all */
	base = (va & ~(page - 1)) - offset;
	if (base % page) {
		fprintf(stderr, "jsoncheck: line %zu: mapping base 0x%" PRIx64 " not aligned\n",
			lineno, base);
		return false;
	}
	if (!a->have_base) {
		a->base = base;
		a->have_base = true;
	} else if (base != a->base) {
		fprintf(stderr,
			"jsoncheck: line %zu: addr %s - offset %" PRIu64 " = 0x%" PRIx64
			", earlier faults gave 0x%" PRIx64 "\n",
			lineno, addr->val, offset, base, a->base);
		return false;
	}
	pg = offset / page;
	if (!(a->pages[pg / 8] & (1u << (pg % 8)))) {
		a->pages[pg / 8] |= (unsigned char)(1u << (pg % 8));
		a->distinct++;
	}
	return true;
}

static int unhex(const char *s, char **out, size_t *len)
{
	size_t n = strlen(s);
	char *b;

	if (n % 2)
		return -1;
	b = malloc(n / 2 + 1);
	if (!b)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return -1;
		}
		b[i] = (char)(hi << 4 | lo);
	}
	b[n / 2] = 0;
	*out = b;
	*len = n / 2;
	return 0;
}

/* ---- CSV, RFC 4180 ---- */

struct csv_field {
	char *s;
	size_t len;
};

struct csv_rec {
	struct csv_field *f;
	size_t n, cap;
};

static void rec_free(struct csv_rec *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->f[i].s);
	free(r->f);
	memset(r, 0, sizeof(*r));
}

static bool rec_add(struct csv_rec *r, const char *s, size_t len)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct csv_field *nf = realloc(r->f, cap * sizeof(*nf));

		if (!nf)
			return false;
		r->f = nf;
		r->cap = cap;
	}
	r->f[r->n].s = malloc(len + 1);
	if (!r->f[r->n].s)
		return false;
	memcpy(r->f[r->n].s, s, len);
	r->f[r->n].s[len] = 0;
	r->f[r->n].len = len;
	r->n++;
	return true;
}

/*
 * One record from *pp. Records end with CRLF or LF (LF accepted: RFC 4180
 * says CRLF, most producers on Unix write LF). Quoted fields may hold
 * commas, quotes (doubled) and line breaks; a quote inside an unquoted
 * field, or text after a closing quote, is an error.
 */
static int csv_record(const char **pp, const char *end, struct csv_rec *r, const char **err)
{
	const char *p = *pp;
	char *buf = malloc((size_t)(end - p) + 1);
	size_t len;

	if (!buf) {
		*err = "out of memory";
		return -1;
	}
	for (;;) {
		len = 0;
		if (p < end && *p == '"') {
			p++;
			for (;;) {
				if (p >= end) {
					*err = "unterminated quoted field";
					free(buf);
					return -1;
				}
				if (*p == '"') {
					if (p + 1 < end && p[1] == '"') {
						buf[len++] = '"';
						p += 2;
						continue;
					}
					p++;
					break;
				}
				buf[len++] = *p++;
			}
			if (p < end && *p != ',' && *p != '\n' && *p != '\r') {
				*err = "text after a closing quote";
				free(buf);
				return -1;
			}
		} else {
			while (p < end && *p != ',' && *p != '\n' && *p != '\r') {
				if (*p == '"') {
					*err = "quote inside an unquoted field";
					free(buf);
					return -1;
				}
				buf[len++] = *p++;
			}
		}
		if (!rec_add(r, buf, len)) {
			*err = "out of memory";
			free(buf);
			return -1;
		}
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == '\r') {
			p++;
			if (p >= end || *p != '\n') {
				*err = "bare CR outside quotes";
				free(buf);
				return -1;
			}
		}
		if (p >= end) {
			*err = "last record not terminated by a line break";
			free(buf);
			return -1;
		}
		p++; /* \n */
		break;
	}
	free(buf);
	*pp = p;
	return 0;
}

static char *slurp(const char *file, size_t *len)
{
	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f) {
		fprintf(stderr, "jsoncheck: %s: %s\n", file, strerror(errno));
		return NULL;
	}
	do {
		if (cap - n < 65536) {
			char *nb = realloc(buf, cap + 65536 + 1);

			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap += 65536;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r);
	if (f != stdin)
		fclose(f);
	if (buf) {
		buf[n] = 0;
		*len = n;
	}
	return buf;
}

static int csv_cmd(const char *file, char **cols, int nr_cols)
{
	size_t len, nrec = 0, nfields = 0;
	char *text = slurp(file, &len);
	const char *p, *end, *err = NULL;
	struct csv_rec header = {0};
	int *idx = NULL;
	bool *hex = NULL;
	int ret = 1;

	if (!text)
		return 1;
	p = text;
	end = text + len;
	if (p == end) {
		fprintf(stderr, "jsoncheck: %s: empty\n", file);
		goto out;
	}
	if (memchr(text, 0, len)) {
		fprintf(stderr, "jsoncheck: %s: NUL byte\n", file);
		goto out;
	}
	if (csv_record(&p, end, &header, &err)) {
		fprintf(stderr, "jsoncheck: %s: header: %s\n", file, err);
		goto out;
	}
	nrec = 1;
	nfields = header.n;
	idx = calloc((size_t)nr_cols + 1, sizeof(*idx));
	hex = calloc((size_t)nr_cols + 1, sizeof(*hex));
	if (!idx || !hex)
		goto out;
	for (int i = 0; i < nr_cols; i++) {
		const char *name = field_name(cols[i], &hex[i]);

		idx[i] = -1;
		for (size_t j = 0; j < header.n; j++)
			if (!strcmp(header.f[j].s, name))
				idx[i] = (int)j;
		if (idx[i] < 0) {
			fprintf(stderr, "jsoncheck: %s: no column '%s'\n", file, name);
			goto out;
		}
	}
	while (p < end) {
		struct csv_rec r = {0};

		if (csv_record(&p, end, &r, &err)) {
			fprintf(stderr, "jsoncheck: %s: record %zu: %s\n", file, nrec + 1, err);
			rec_free(&r);
			goto out;
		}
		nrec++;
		if (r.n != nfields) {
			fprintf(stderr,
				"jsoncheck: %s: record %zu has %zu fields, header has %zu\n", file,
				nrec, r.n, nfields);
			rec_free(&r);
			goto out;
		}
		for (int i = 0; i < nr_cols; i++) {
			const struct csv_field *f = &r.f[idx[i]];

			if (i)
				putchar('\t');
			if (hex[i])
				print_hex(f->s, f->len);
			else
				fwrite(f->s, 1, f->len, stdout);
		}
		if (nr_cols)
			putchar('\n');
		rec_free(&r);
	}
	if (!nr_cols)
		printf("%zu %zu\n", nrec, nfields);
	ret = 0;
out:
	rec_free(&header);
	free(idx);
	free(hex);
	free(text);
	return ret;
}

static void usage(void)
{
	fputs("usage: jsoncheck validate FILE\n"
	      "       jsoncheck get FILE RECORD|* [x:]FIELD...\n"
	      "       jsoncheck csv FILE\n"
	      "       jsoncheck csvget FILE [x:]COLUMN...\n"
	      "       jsoncheck faults FILE HEXPATH SIZE\n"
	      "       jsoncheck hex STRING\n"
	      "       jsoncheck cescape HEX\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	if (!strcmp(argv[1], "validate") && argc == 3)
		return each_line(argv[2], NULL, NULL);
	if (!strcmp(argv[1], "get") && argc >= 5) {
		struct get_args a = {.record = argv[3], .fields = argv + 4, .nr_fields = argc - 4};

		return each_line(argv[2], get_line, &a);
	}
	if (!strcmp(argv[1], "csv") && argc == 3)
		return csv_cmd(argv[2], NULL, 0);
	if (!strcmp(argv[1], "csvget") && argc >= 4)
		return csv_cmd(argv[2], argv + 3, argc - 3);
	if (!strcmp(argv[1], "faults") && argc == 5) {
		struct fault_args a = {0};
		char *path;
		int ret;

		if (unhex(argv[3], &path, &a.path_len) || !parse_u64(argv[4], 10, &a.size) ||
		    !a.size)
			usage();
		a.path = path;
		a.pages = calloc(a.size / 4096 / 8 + 1, 1);
		if (!a.pages)
			return 1;
		ret = each_line(argv[2], fault_line, &a);
		if (!ret)
			printf("faults=%" PRIu64 " distinct=%" PRIu64 " base=0x%" PRIx64 "\n", a.n,
			       a.distinct, a.base);
		free(path);
		free(a.pages);
		return ret;
	}
	if (!strcmp(argv[1], "cescape") && argc == 3) {
		char *b;
		size_t n;

		if (unhex(argv[2], &b, &n))
			usage();
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)b[i];

			if (c == '\n')
				fputs("\\n", stdout);
			else if (c == '\t')
				fputs("\\t", stdout);
			else if (c == '\r')
				fputs("\\r", stdout);
			else if (c == '\\')
				fputs("\\\\", stdout);
			else if (c < 0x20 || c == 0x7f)
				printf("\\x%02x", c);
			else
				putchar(c);
		}
		putchar('\n');
		free(b);
		return 0;
	}
	if (!strcmp(argv[1], "hex") && argc == 3) {
		print_hex(argv[2], strlen(argv[2]));
		putchar('\n');
		return 0;
	}
	usage();
}
