// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "proxy/log.h"

static int verbosity;

void log_set_verbosity(int v)
{
	verbosity = v;
}

int log_verbosity(void)
{
	return verbosity;
}

static void vlog(char level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void vlog(char level, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%m%d %H:%M:%S", &tm);
	fprintf(stderr, "%c%s.%06ld kproxy] ", level, stamp, ts.tv_nsec / 1000);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog('E', fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog('W', fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog('I', fmt, ap);
	va_end(ap);
}

void log_debug(int v, const char *fmt, ...)
{
	va_list ap;

	if (verbosity < v)
		return;
	va_start(ap, fmt);
	vlog('D', fmt, ap);
	va_end(ap);
}
