// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the /proc/PID/maps parser (common/model/maps.c). Maps text
 * carries file names chosen by whoever created the file; the parser must
 * survive any bytes, and what it kept must answer lookups.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pfw_maps *m = pfw_maps_new();
	const struct pfw_mapping *map;

	if (!m)
		return 0;
	pfw_maps_parse(m, 42, (const char *)data, size);
	/* probe addresses taken from the input itself and the usual places */
	for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
		uint64_t a;

		__builtin_memcpy(&a, data + i, 8);
		map = pfw_maps_find(m, 42, a);
		(void)map;
	}
	map = pfw_maps_find(m, 42, 0x400000);
	pfw_maps_fork(m, 42, 43);
	map = pfw_maps_find(m, 43, 0x7fff00000000ull);
	(void)map;
	pfw_maps_exec(m, 43);
	pfw_maps_free(m);
	return 0;
}
