// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the tracefs record decoder (ftrace/decode.c) and what
 * consumes it (classify.c for events mode, fold.c for graph mode). The
 * event formats are this kernel's; the record bytes are the input: the
 * first byte picks the event, the rest is the record (common header
 * included), any length. Dynamic strings (__data_loc) and comm arrays are
 * where a decoder reads past the end.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <traceevent/event-parse.h>

#include "ftrace/ftrace.h"
#include "ftrace-formats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tep_handle *tep;
static struct pfw_ft_decoder *dec;
static int ids[sizeof(fuzz_formats) / sizeof(fuzz_formats[0])];
static size_t nr_ids;

static void sink(void *ctx, const struct pfw_ft_fault *f)
{
	(void)ctx;
	(void)f;
}

static void setup(void)
{
	tep = tep_alloc();
	tep_set_long_size(tep, 8);
	tep_set_page_size(tep, 4096);
	for (size_t i = 0; i < sizeof(fuzz_formats) / sizeof(fuzz_formats[0]); i++) {
		struct tep_event *ev;

		if (!tep_parse_format(tep, &ev, fuzz_formats[i].fmt, strlen(fuzz_formats[i].fmt),
				      fuzz_formats[i].sys))
			ids[nr_ids++] = ev->id;
	}
	dec = pfw_ft_decoder_new(tep, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfw_ft_classify *c;
	struct pfw_ft_fold *f;
	struct tep_record rec;
	struct pfw_ft_rec r;
	unsigned short id;
	uint8_t *copy;

	if (!tep)
		setup();
	if (!dec || !nr_ids || size < 1)
		return 0;
	id = (unsigned short)ids[data[0] % nr_ids];
	data++;
	size--;
	/* exactly the record's bytes: ASan sees any read past its end */
	copy = malloc(size < 8 ? 8 : size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (size >= 2)
		memcpy(copy, &id, 2);
	memset(&rec, 0, sizeof(rec));
	rec.data = copy;
	rec.size = (int)size;
	rec.ts = size;
	c = pfw_ft_classify_new(sink, NULL);
	f = pfw_ft_fold_new(sink, NULL, size & 1, size & 2, size & 4);
	if (!pfw_ft_decode(dec, &rec, &r)) {
		if (c)
			pfw_ft_classify_feed(c, &r);
		if (f)
			pfw_ft_fold_feed(f, &r);
	}
	if (c) {
		pfw_ft_classify_flush(c);
		pfw_ft_classify_free(c);
	}
	if (f) {
		pfw_ft_fold_flush(f);
		pfw_ft_fold_free(f);
	}
	free(copy);
	return 0;
}
