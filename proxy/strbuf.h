/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * strbuf - a growable text buffer (core). Pure: no I/O.
 *
 * Used for rule text, JSON dumps and HTTP bodies. The buffer is always
 * NUL-terminated; len excludes the NUL.
 */
#ifndef KPROXY_STRBUF_H
#define KPROXY_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void strbuf_init(struct strbuf *sb);
/* Frees the text; the strbuf may be reused after strbuf_init(). */
void strbuf_fini(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_add(struct strbuf *sb, const char *s, size_t n);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addc(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Returns the text (never NULL, "" when empty); borrowed from sb. */
const char *strbuf_str(const struct strbuf *sb);
/* Returns the text and leaves sb empty; the caller frees the result. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

#endif
