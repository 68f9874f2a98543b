/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * log - leveled messages on stderr (edge: writes to stderr).
 *
 * Only main.c, the sync path and the I/O edges log; pure modules return errors.
 * The verbosity (-v N) is the one piece of process-wide state kept here, set
 * once by main.c: 0 errors/warnings/info, 2 sync summaries, 4 per-object detail,
 * 9 whole payloads.
 */
#ifndef KPROXY_LOG_H
#define KPROXY_LOG_H

void log_set_verbosity(int v);
int log_verbosity(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only when the verbosity is at least v. */
void log_debug(int v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
