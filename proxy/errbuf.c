// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <string.h>

#include "proxy/errbuf.h"

int errbuf_set(struct errbuf *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void errbuf_prefix(struct errbuf *e, const char *fmt, ...)
{
	char old[ERRBUF_SIZE];
	va_list ap;
	int n;

	if (!e)
		return;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(e->msg))
		return;
	if (snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %s", old) < 0)
		e->msg[n] = '\0';
}

const char *errbuf_echo(struct errbuf_echo *e, const char *s, size_t n, size_t max)
{
	size_t i;

	if (max > ERRBUF_ECHO_MAX)
		max = ERRBUF_ECHO_MAX;
	for (i = 0; i < n && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];

		e->s[i] = ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' ? '?' : (char)ch;
	}
	strcpy(e->s + i, n > max ? "..." : "");
	return e->s;
}
