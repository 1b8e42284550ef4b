// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the command line (common/frontend/cli.c). The input is split
 * at NUL bytes into argv after "pfwatch"; whatever it is, parsing must end
 * with an exit code or "go on" and free what it took. The runner closes
 * stdout and stderr (-close_fd_mask=3): libFuzzer keeps its own report fd.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2];
	struct pfw_opts o;
	char *buf;
	int argc = 1;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "pfwatch";
	for (size_t i = 0; i <= size && argc <= MAX_ARGS;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	pfw_cli_parse(argc, argv, &o);
	pfw_cli_free(&o);
	free(buf);
	return 0;
}
