// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Escaping of untrusted strings (paths, command names). Anyone who can
 * create a file or name a thread controls these bytes, so nothing in them may
 * end a line, forge a column or reach the terminal as an escape sequence.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

/*
 * Length of the well-formed UTF-8 sequence at @s (1..4), 0 if the byte at @s
 * does not start one. Overlong forms, surrogates and code points above
 * U+10FFFF are ill-formed (RFC 3629): a terminal or JSON parser must never
 * see them. The NUL terminator is not a continuation byte, so this never
 * reads past the end of the string.
 */
static int utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

#define CONT(b) (((b)&0xc0) == 0x80)
	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		return CONT(s[1]) ? 2 : 0;
	if (c < 0xf0) {
		if (!CONT(s[1]) || !CONT(s[2]))
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if (!CONT(s[1]) || !CONT(s[2]) || !CONT(s[3]))
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
#undef CONT
}

/* U+0080..U+009F: C1 controls; 0x9b is CSI on terminals that honour 8-bit controls */
static bool is_c1(const unsigned char *s, int len)
{
	return len == 2 && s[0] == 0xc2 && s[1] < 0xa0;
}

/* a sink is either a FILE or a bounded buffer (snprintf semantics) */
struct sink {
	FILE *fp;
	char *buf;
	size_t size, len;
};

static void put(struct sink *k, const char *p, size_t n)
{
	if (k->fp) {
		fwrite(p, 1, n, k->fp);
	} else if (k->buf && k->len + 1 < k->size) {
		size_t room = k->size - 1 - k->len;

		memcpy(k->buf + k->len, p, n < room ? n : room);
	}
	k->len += n;
}

static void put_hex(struct sink *k, const char *prefix, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	char b[8];
	size_t n = strlen(prefix);

	memcpy(b, prefix, n);
	b[n++] = hex[c >> 4];
	b[n++] = hex[c & 15];
	put(k, b, n);
}

static void text_escape(struct sink *k, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		const unsigned char *run = s;

		/* copy the longest run of printable, valid characters at once */
		for (;;) {
			/* printable ASCII, the common byte, needs no UTF-8 look */
			if (*s >= 0x20 && *s < 0x7f && *s != '\\') {
				s++;
				continue;
			}
			int l = utf8_len(s);

			if (!l || *s < 0x20 || *s == 0x7f || *s == '\\' || is_c1(s, l))
				break;
			s += l;
		}
		if (s > run)
			put(k, (const char *)run, (size_t)(s - run));
		if (!*s)
			break;
		int l = utf8_len(s);

		if (*s == '\\') {
			put(k, "\\\\", 2);
		} else if (*s == '\n') {
			put(k, "\\n", 2);
		} else if (*s == '\t') {
			put(k, "\\t", 2);
		} else if (*s == '\r') {
			put(k, "\\r", 2);
		} else if (is_c1(s, l)) {
			put_hex(k, "\\x", s[0]);
			put_hex(k, "\\x", s[1]);
			s++;
		} else {
			put_hex(k, "\\x", *s);
		}
		s++;
	}
}

void pfw_fput_text_str(FILE *fp, const char *s)
{
	struct sink k = {.fp = fp};

	if (!s) {
		fputc('-', fp);
		return;
	}
	text_escape(&k, s);
}

size_t pfw_escape_text(char *buf, size_t size, const char *s)
{
	struct sink k = {.buf = buf, .size = size};

	text_escape(&k, s ? s : "-");
	if (size)
		buf[k.len < size ? k.len : size - 1] = '\0';
	return k.len;
}

static void json_escape(struct sink *k, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	put(k, "\"", 1);
	while (*s) {
		const unsigned char *run = s;

		for (;;) {
			if (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\') {
				s++;
				continue;
			}
			int l = utf8_len(s);

			if (!l || *s < 0x20 || *s == 0x7f || *s == '"' || *s == '\\' || is_c1(s, l))
				break;
			s += l;
		}
		if (s > run)
			put(k, (const char *)run, (size_t)(s - run));
		if (!*s)
			break;
		int l = utf8_len(s);

		switch (*s) {
		case '"':
			put(k, "\\\"", 2);
			break;
		case '\\':
			put(k, "\\\\", 2);
			break;
		case '\n':
			put(k, "\\n", 2);
			break;
		case '\t':
			put(k, "\\t", 2);
			break;
		case '\r':
			put(k, "\\r", 2);
			break;
		default:
			if (is_c1(s, l)) {
				/* the code point, not the bytes: valid UTF-8 stays lossless */
				put_hex(k, "\\u00", s[1]);
				s++;
			} else {
				/* control, DEL or an invalid byte: its Latin-1 code point */
				put_hex(k, "\\u00", *s);
			}
		}
		s++;
	}
	put(k, "\"", 1);
}

void pfw_fput_json_str(FILE *fp, const char *str)
{
	struct sink k = {.fp = fp};

	if (!str) {
		fputs("null", fp);
		return;
	}
	json_escape(&k, str);
}

size_t pfw_escape_json(char *buf, size_t size, const char *s)
{
	struct sink k = {.buf = buf, .size = size};

	if (s)
		json_escape(&k, s);
	else
		put(&k, "null", 4);
	if (size)
		buf[k.len < size ? k.len : size - 1] = '\0';
	return k.len;
}

static size_t escape_memo(struct pfw_esc_memo *m, char *buf, size_t size, const char *s, bool json)
{
	size_t len = 0, n;

	if (m && s) {
		len = strlen(s);
		if (m->valid && m->json == json && m->src_len == len && !memcmp(m->src, s, len) &&
		    m->esc_len < size) {
			memcpy(buf, m->esc, m->esc_len + 1);
			return m->esc_len;
		}
	}
	n = json ? pfw_escape_json(buf, size, s) : pfw_escape_text(buf, size, s);
	/* only what was escaped whole, and fits the memo */
	if (m && s && len < sizeof(m->src) && n < size && n < sizeof(m->esc)) {
		memcpy(m->src, s, len);
		m->src_len = len;
		memcpy(m->esc, buf, n + 1);
		m->esc_len = n;
		m->json = json;
		m->valid = true;
	}
	return n;
}

size_t pfw_escape_json_memo(struct pfw_esc_memo *m, char *buf, size_t size, const char *s)
{
	return escape_memo(m, buf, size, s, true);
}

size_t pfw_escape_text_memo(struct pfw_esc_memo *m, char *buf, size_t size, const char *s)
{
	return escape_memo(m, buf, size, s, false);
}

static char *line_put(FILE *fp, struct pfw_esc_memo *m, char *line, size_t size, char *p,
		      size_t tail, const char *s, bool json)
{
	size_t room = size - (size_t)(p - line) - tail;
	size_t n = escape_memo(m, p, room, s, json);

	if (n < room)
		return p + n;
	fwrite(line, 1, (size_t)(p - line), fp);
	if (json)
		pfw_fput_json_str(fp, s);
	else
		pfw_fput_text_str(fp, s);
	return line;
}

char *pfw_line_put_json(FILE *fp, struct pfw_esc_memo *m, char *line, size_t size, char *p,
			size_t tail, const char *s)
{
	return line_put(fp, m, line, size, p, tail, s, true);
}

char *pfw_line_put_text(FILE *fp, struct pfw_esc_memo *m, char *line, size_t size, char *p,
			size_t tail, const char *s)
{
	return line_put(fp, m, line, size, p, tail, s, false);
}

void pfw_fput_csv_str(FILE *fp, const char *s)
{
	if (!s)
		return;
	/* an empty string is quoted so that it differs from an unknown (empty) field */
	if (*s && !strpbrk(s, ",\"\r\n")) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}
