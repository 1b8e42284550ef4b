/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Untrusted strings (paths, command names) escaped for where they go
 * (SPEC.md): JSON string escaping (invalid UTF-8 bytes as \u00XX of the
 * Latin-1 code point, so the output is always valid JSON), RFC 4180 CSV
 * quoting, and C-style escapes for text (\n \t \\ \xNN for every control
 * byte, DEL and invalid UTF-8; valid UTF-8 passes through).
 */
#ifndef PFW_ESCAPE_H
#define PFW_ESCAPE_H

#include <stdbool.h>
#include <stdio.h>

void pfw_fput_json_str(FILE *fp, const char *s); /* writes the quotes too */
void pfw_fput_csv_str(FILE *fp, const char *s);  /* quotes only when needed */
void pfw_fput_text_str(FILE *fp, const char *s); /* never a raw control byte, never a space-free guarantee */

/*
 * Text escaping into a buffer, for aligned columns: snprintf semantics
 * (returns the full escaped length, NUL-terminates when @size > 0).
 * NULL is written as "-", like the text format's unknown field.
 */
size_t pfw_escape_text(char *buf, size_t size, const char *s);
/* the same for JSON: the quoted string, or null for NULL */
size_t pfw_escape_json(char *buf, size_t size, const char *s);

/*
 * The last string escaped, and its escaping: a stream's paths and command
 * names repeat line after line (one file, one thread faulting), and a
 * compare and a copy cost less than escaping each byte again. Keyed by the
 * string's bytes, never its address. All zeroes is an empty memo.
 */
#define PFW_ESC_MEMO_MAX 256
struct pfw_esc_memo {
	bool valid, json;
	size_t src_len, esc_len;
	char src[PFW_ESC_MEMO_MAX];
	char esc[PFW_ESC_MEMO_MAX];
};
/* pfw_escape_json()/_text() through @m (NULL: none), with their results */
size_t pfw_escape_json_memo(struct pfw_esc_memo *m, char *buf, size_t size, const char *s);
size_t pfw_escape_text_memo(struct pfw_esc_memo *m, char *buf, size_t size, const char *s);

/*
 * A line built in @line (@size bytes) up to @p: @s escaped onto its end
 * (through @m, which may be NULL), @tail bytes kept free for what follows;
 * returns the new end. Where @s does not fit, the line so far and @s go to
 * @fp, and the line starts over (returns @line): one write per line for
 * the common case.
 */
char *pfw_line_put_json(FILE *fp, struct pfw_esc_memo *m, char *line, size_t size, char *p,
			size_t tail, const char *s);
char *pfw_line_put_text(FILE *fp, struct pfw_esc_memo *m, char *line, size_t size, char *p,
			size_t tail, const char *s);

#endif
