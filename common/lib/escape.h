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
 * A line built in @line (@size bytes) up to @p: @s escaped onto its end,
 * @tail bytes kept free for what follows; returns the new end. Where @s
 * does not fit, the line so far and @s go to @fp, and the line starts
 * over (returns @line): one write per line for the common case.
 */
char *pfw_line_put_json(FILE *fp, char *line, size_t size, char *p, size_t tail, const char *s);
char *pfw_line_put_text(FILE *fp, char *line, size_t size, char *p, size_t tail, const char *s);

#endif
