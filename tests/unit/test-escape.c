// SPDX-License-Identifier: GPL-2.0-or-later
/* escape.c against hostile strings: whatever a path holds, no output breaks. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "escape.h"

static char *run(void (*fn)(FILE *, const char *), const char *s)
{
	static char *buf;
	size_t len;
	FILE *fp;

	free(buf);
	buf = NULL;
	fp = open_memstream(&buf, &len);
	fn(fp, s);
	fclose(fp);
	return buf;
}

#define TEXT(s) run(pfw_fput_text_str, s)
#define JSON(s) run(pfw_fput_json_str, s)
#define CSV(s)	run(pfw_fput_csv_str, s)

struct c {
	const char *in, *text, *json, *csv;
};

static const struct c cases[] = {
	{"/usr/lib/libc.so.6", "/usr/lib/libc.so.6", "\"/usr/lib/libc.so.6\"",
	 "/usr/lib/libc.so.6"},
	{"", "", "\"\"", "\"\""},
	{"a\nb", "a\\nb", "\"a\\nb\"", "\"a\nb\""},
	{"a\r\nb", "a\\r\\nb", "\"a\\r\\nb\"", "\"a\r\nb\""},
	{"tab\there", "tab\\there", "\"tab\\there\"", "tab\there"},
	{"\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07",
	 "\"\\u001b[2J\\u001b]0;pwned\\u0007\"", "\x1b[2J\x1b]0;pwned\x07"},
	{"del\x7f", "del\\x7f", "\"del\\u007f\"", "del\x7f"},
	{"back\\slash", "back\\\\slash", "\"back\\\\slash\"", "back\\slash"},
	{"say \"hi\"", "say \"hi\"", "\"say \\\"hi\\\"\"", "\"say \"\"hi\"\"\""},
	{"a,b", "a,b", "\"a,b\"", "\"a,b\""},
	/* valid UTF-8 passes */
	{"/données/日本/😀", "/données/日本/😀", "\"/données/日本/😀\"", "/données/日本/😀"},
	/* invalid: lone continuation, truncated sequence, overlong '/', surrogate, > U+10FFFF */
	{"a\x80z", "a\\x80z", "\"a\\u0080z\"", "a\x80z"},
	{"a\xc3", "a\\xc3", "\"a\\u00c3\"", "a\xc3"},
	{"\xc0\xaf", "\\xc0\\xaf", "\"\\u00c0\\u00af\"", "\xc0\xaf"},
	{"\xed\xa0\x80", "\\xed\\xa0\\x80", "\"\\u00ed\\u00a0\\u0080\"", "\xed\xa0\x80"},
	{"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"",
	 "\xf4\x90\x80\x80"},
	{"\xff\xfe", "\\xff\\xfe", "\"\\u00ff\\u00fe\"", "\xff\xfe"},
	/* C1 CSI (U+009B) is valid UTF-8 but a terminal control */
	{"x\xc2\x9b"
	 "31m",
	 "x\\xc2\\x9b31m", "\"x\\u009b31m\"",
	 "x\xc2\x9b"
	 "31m"},
	{" (deleted)", " (deleted)", "\" (deleted)\"", " (deleted)"},
};

static bool clean_text(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/*
 * The memo's results are the plain functions' results, whatever came
 * before: every case after every case (a hit, a miss, a string that is a
 * prefix of the last one), one memo for both escapings, truncation, NULL.
 */
static void memo_checks(void)
{
	const size_t nc = sizeof(cases) / sizeof(cases[0]);
	struct pfw_esc_memo m = {0};
	char got[2100], want[2100], src[1100], small[8];
	size_t bad = 0, hits = 0, gn, wn;

	for (size_t round = 0; round < 3; round++) {
		for (size_t i = 0; i < nc; i++) {
			for (size_t j = 0; j < nc; j++) {
				const char *seq[] = {cases[i].in, cases[j].in, cases[j].in};

				for (size_t k = 0; k < 3; k++) {
					bool json = (round + i + k) & 1;

					gn = json ? pfw_escape_json_memo(&m, got, sizeof(got),
									 seq[k])
						  : pfw_escape_text_memo(&m, got, sizeof(got),
									 seq[k]);
					wn = json ? pfw_escape_json(want, sizeof(want), seq[k])
						  : pfw_escape_text(want, sizeof(want), seq[k]);
					bad += gn != wn || strcmp(got, want);
				}
			}
		}
	}
	tap_ok(!bad, "memo: every case after every case, json and text alternating (%zu differ)",
	       bad);

	/* the memo holds it: the same result by copy, from other storage */
	strcpy(src, "/var/lib/db/data.0");
	gn = pfw_escape_json_memo(&m, got, sizeof(got), src);
	src[0] = '\n';
	gn = pfw_escape_json_memo(&m, got, sizeof(got), src);
	tap_ok(gn == 21 && !strcmp(got, "\"\\nvar/lib/db/data.0\""),
	       "memo: keyed by the bytes, not the address (%s)", got);
	for (size_t i = 0; i < 1000; i++)
		hits += pfw_escape_json_memo(&m, got, sizeof(got), src) == 21 &&
			!strcmp(got, "\"\\nvar/lib/db/data.0\"");
	tap_ok(hits == 1000, "memo: 1000 repeats, 1000 right");

	/* a memoized string into a buffer too small for it: snprintf semantics */
	gn = pfw_escape_json_memo(&m, small, sizeof(small), src);
	tap_ok(gn == 21 && !strcmp(small, "\"\\nvar/"), "memo: truncates like the plain one (%s)",
	       small);
	/* exactly its length: no room for the NUL, so one byte less, and nothing past */
	memset(got, '#', 40);
	gn = pfw_escape_json_memo(&m, got, 21, src);
	tap_ok(gn == 21 && strlen(got) == 20 && got[21] == '#',
	       "memo: a buffer of the escaped length gets all but its last byte");
	gn = pfw_escape_json_memo(&m, NULL, 0, src);
	tap_ok(gn == 21, "memo: the length alone");
	gn = pfw_escape_json_memo(&m, got, sizeof(got), NULL);
	tap_ok(gn == 4 && !strcmp(got, "null"), "memo: NULL is null");
	gn = pfw_escape_text_memo(&m, got, sizeof(got), NULL);
	tap_ok(gn == 1 && !strcmp(got, "-"), "memo: NULL text is '-'");
	gn = pfw_escape_json_memo(NULL, got, sizeof(got), src);
	tap_ok(gn == 21 && !strcmp(got, "\"\\nvar/lib/db/data.0\""), "memo: none given");

	/* longer than the memo: escaped each time, still right */
	memset(src, '\t', 1000);
	src[1000] = '\0';
	for (size_t i = 0; i < 3; i++) {
		gn = pfw_escape_text_memo(&m, got, sizeof(got), src);
		wn = pfw_escape_text(want, sizeof(want), src);
		bad += gn != 2000 - i || wn != gn || strcmp(got, want);
		src[i] = 'a';
	}
	tap_ok(!bad, "memo: strings longer than it");
}

int main(void)
{
	char big[5000], buf[64];
	char *t;
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[64];

		snprintf(name, sizeof(name), "case %zu text", i);
		tap_is_str(TEXT(cases[i].in), cases[i].text, name);
		snprintf(name, sizeof(name), "case %zu json", i);
		tap_is_str(JSON(cases[i].in), cases[i].json, name);
		snprintf(name, sizeof(name), "case %zu csv", i);
		tap_is_str(CSV(cases[i].in), cases[i].csv, name);
		/* the buffer variants write what the stream ones do */
		n = pfw_escape_json(big, sizeof(big), cases[i].in);
		tap_ok(n == strlen(cases[i].json) && !strcmp(big, cases[i].json),
		       "case %zu json, buffer", i);
		n = pfw_escape_text(big, sizeof(big), cases[i].in);
		tap_ok(n == strlen(cases[i].text) && !strcmp(big, cases[i].text),
		       "case %zu text, buffer", i);
	}
	tap_is_str(TEXT(NULL), "-", "NULL text is '-'");
	tap_is_str(JSON(NULL), "null", "NULL json is null");
	tap_is_str(CSV(NULL), "", "NULL csv is an empty field");

	/* every byte value once, in one string: no raw control byte in text/json */
	for (int i = 1; i < 256; i++)
		big[i - 1] = (char)i;
	big[255] = '\0';
	tap_ok(clean_text(TEXT(big)), "all bytes: text has no control byte");
	tap_ok(clean_text(JSON(big)), "all bytes: json has no control byte");

	/* 4096-byte paths (PATH_MAX) of newlines: escaped in full, no truncation */
	memset(big, '\n', 4096);
	big[4096] = '\0';
	t = TEXT(big);
	tap_ok(strlen(t) == 8192 && clean_text(t), "4096 newlines -> 8192 bytes of text");
	t = JSON(big);
	tap_ok(strlen(t) == 8194 && clean_text(t), "4096 newlines -> json");
	t = CSV(big);
	tap_ok(strlen(t) == 4098 && t[0] == '"' && t[4097] == '"', "4096 newlines -> quoted csv");
	memset(big, '"', 4096);
	t = CSV(big);
	tap_ok(strlen(t) == 8194, "4096 quotes doubled in csv");

	/* the buffer variant: snprintf semantics */
	n = pfw_escape_text(buf, sizeof(buf), "a\nb");
	tap_ok(n == 4 && !strcmp(buf, "a\\nb"), "pfw_escape_text");
	memset(big, 'x', 100);
	big[100] = '\0';
	n = pfw_escape_text(buf, sizeof(buf), big);
	tap_ok(n == 100 && strlen(buf) == sizeof(buf) - 1,
	       "pfw_escape_text truncates, returns full length");
	n = pfw_escape_text(buf, 4, "\x1b");
	tap_ok(n == 4 && !strcmp(buf, "\\x1"), "truncation inside an escape stays NUL-terminated");
	n = pfw_escape_text(buf, sizeof(buf), NULL);
	tap_ok(n == 1 && !strcmp(buf, "-"), "NULL -> '-'");
	n = pfw_escape_json(buf, sizeof(buf), NULL);
	tap_ok(n == 4 && !strcmp(buf, "null"), "json: NULL -> null");
	n = pfw_escape_json(buf, sizeof(buf), big);
	tap_ok(n == 102 && strlen(buf) == sizeof(buf) - 1 && buf[0] == '"',
	       "pfw_escape_json truncates, returns full length");
	n = pfw_escape_json(buf, 5, "\x1b");
	tap_ok(n == 8 && !strcmp(buf, "\"\\u0"),
	       "json: truncation inside an escape stays NUL-terminated");
	memset(big, '\n', 4096);
	big[4096] = '\0';
	n = pfw_escape_json(NULL, 0, big);
	tap_ok(n == 8194, "json: the length alone, of 4096 newlines");

	memo_checks();
	return tap_done();
}
