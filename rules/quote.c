// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iptables-restore splits each line into arguments itself: blanks separate
 * arguments, a double quote groups, a backslash escapes a quote, and a newline
 * ends the rule. Object names are validated long before they get here, but this
 * function does not rely on that: it lets through only printable ASCII that
 * cannot change how the line is split.
 */
#include <stdbool.h>
#include <string.h>

#include "rules/rules.h"

static bool bare_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("/:._-", c) != NULL;
}

static bool quoted_char(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '\'';
}

void rules_quote_comment(struct strbuf *out, const char *text)
{
	size_t n = strnlen(text, RULES_COMMENT_MAX), i;
	bool bare = n > 0;

	for (i = 0; i < n && bare; i++)
		bare = bare_char((unsigned char)text[i]);
	if (bare) {
		strbuf_add(out, text, n);
		return;
	}
	strbuf_addc(out, '"');
	for (i = 0; i < n; i++) {
		size_t run = i;

		/* Copy runs of harmless bytes at once; replace the others. */
		while (run < n && quoted_char((unsigned char)text[run]))
			run++;
		strbuf_add(out, text + i, run - i);
		if (run == n)
			break;
		strbuf_addc(out, '?');
		i = run;
	}
	strbuf_addc(out, '"');
}
