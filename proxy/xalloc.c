// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/xalloc.h"

static void __attribute__((noreturn)) oom(const char *file, int line, size_t n)
{
	fprintf(stderr, "kproxy: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
	abort();
}

void *xalloc_malloc(size_t n, const char *file, int line)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(file, line, n);
	return p;
}

void *xalloc_calloc(size_t n, size_t size, const char *file, int line)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(file, line, n * size);
	return p;
}

void *xalloc_realloc(void *p, size_t n, const char *file, int line)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(file, line, n);
	return q;
}

void *xalloc_reallocarray(void *p, size_t n, size_t size, const char *file, int line)
{
	if (size && n > SIZE_MAX / size)
		oom(file, line, SIZE_MAX);
	return xalloc_realloc(p, n * size, file, line);
}

char *xalloc_strdup(const char *s, const char *file, int line)
{
	char *p = strdup(s);

	if (!p)
		oom(file, line, strlen(s) + 1);
	return p;
}

char *xalloc_strndup(const char *s, size_t n, const char *file, int line)
{
	char *p = strndup(s, n);

	if (!p)
		oom(file, line, n + 1);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(__FILE__, __LINE__, 0);
	return s;
}
