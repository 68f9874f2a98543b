/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xalloc - allocation that cannot fail (core).
 *
 * Out of memory aborts with file:line. This is only safe because every size
 * that input can drive (objects, strings, bodies) is capped before it reaches
 * the allocator. No I/O apart from the abort message.
 */
#ifndef KPROXY_XALLOC_H
#define KPROXY_XALLOC_H

#include <stddef.h>

#define xmalloc(n)		xalloc_malloc((n), __FILE__, __LINE__)
#define xcalloc(n, sz)		xalloc_calloc((n), (sz), __FILE__, __LINE__)
#define xrealloc(p, n)		xalloc_realloc((p), (n), __FILE__, __LINE__)
#define xreallocarray(p, n, sz) xalloc_reallocarray((p), (n), (sz), __FILE__, __LINE__)
#define xstrdup(s)		xalloc_strdup((s), __FILE__, __LINE__)
#define xstrndup(s, n)		xalloc_strndup((s), (n), __FILE__, __LINE__)

void *xalloc_malloc(size_t n, const char *file, int line);
void *xalloc_calloc(size_t n, size_t size, const char *file, int line);
void *xalloc_realloc(void *p, size_t n, const char *file, int line);
void *xalloc_reallocarray(void *p, size_t n, size_t size, const char *file, int line);
char *xalloc_strdup(const char *s, const char *file, int line);
char *xalloc_strndup(const char *s, size_t n, const char *file, int line);

/* Returns a new string formatted like printf; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
