/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fleet mode (--serve, --metrics-file): the long-running exporter, a view
 * (begin: start serving; tick: refresh every --interval; end: the final
 * refresh after the backend's stop()) around one run of the frontend's
 * pfw_run(). /metrics is answered by a small HTTP/1.1 server thread from
 * the text of the last refresh, so a scrape never waits for the backend
 * and never touches the counters.
 */
#ifndef PFW_SERVE_H
#define PFW_SERVE_H

#include <stdbool.h>

#include "opts.h"

/* the default --serve address: loopback (README "Fleet mode" says why 9412) */
#define PFW_SERVE_DEFAULT "127.0.0.1:9412"

/*
 * Fleet mode's set-up, before the frontend runs the session with
 * pfw_view_metrics until SIGTERM/SIGINT (or --duration, or the COMMAND's
 * end): bind --serve's socket and check --metrics-file before tracing
 * starts (a taken port is a runtime error). Returns -1 when ready, else the
 * exit code. The view refreshes every --interval and once more after the
 * backend's stop(); pfw_serve_close() then stops the server.
 */
int pfw_serve_open(const struct pfw_opts *o);
void pfw_serve_close(void);

/* "ADDR:PORT", "[V6]:PORT", ":PORT" (all addresses): 0 or -EINVAL */
int pfw_serve_parse_addr(const char *arg, char *host, size_t hostlen, char *port, size_t portlen);

/* the view used in fleet mode: prints nothing, feeds the exporter */
extern const struct pfw_view pfw_view_metrics;

#endif
