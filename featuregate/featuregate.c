// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Feature gates. The table below is the whole list; adding a gate is one line
 * here and one enum constant in the header.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "featuregate/featuregate.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Indexed by enum featuregate_id. GA gates are locked to their default. */
static const struct featuregate_spec gates[FEATUREGATE_COUNT] = {
	[FEATUREGATE_ALLOW_EXT_TRAFFIC_LOCAL_ENDPOINTS] = { "AllowExtTrafficLocalEndpoints",
							    FEATUREGATE_ALPHA, false, false },
	[FEATUREGATE_LOADBALANCER_IP_MODE] = { "LoadBalancerIPMode", FEATUREGATE_BETA, true,
					       false },
	[FEATUREGATE_PROXY_TERMINATING_ENDPOINTS] = { "ProxyTerminatingEndpoints", FEATUREGATE_GA,
						      true, true },
	[FEATUREGATE_SERVICE_INTERNAL_TRAFFIC_POLICY] = { "ServiceInternalTrafficPolicy",
							  FEATUREGATE_GA, true, true },
	[FEATUREGATE_UDP_CONNTRACK_CLEANUP] = { "UDPConntrackCleanup", FEATUREGATE_BETA, true,
						false },
};

/*
 * AllAlpha and AllBeta are not gates of their own: each sets every unlocked
 * gate of its stage that has no value from the command line yet. They are
 * listed among the known gates, as Kubernetes lists them.
 */
static const struct featuregate_spec pseudo_gates[] = {
	{ "AllAlpha", FEATUREGATE_ALPHA, false, false },
	{ "AllBeta", FEATUREGATE_BETA, false, false },
};

/* Not named in the value being parsed; otherwise the last value given (0 or 1). */
#define UNNAMED (-1)

/* Bytes of a gate name or value that a message repeats. */
#define ECHO_MAX 64

/* One non-empty item of a --feature-gates value, its name and value trimmed. */
struct item {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	bool has_value;
};

/*
 * Kubernetes trims names and values with Go's strings.TrimSpace, which takes
 * away Unicode white space: the ASCII blanks below and these characters in
 * UTF-8 (U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
 * U+205F, U+3000). Bytes that are not UTF-8 are not space.
 */
static const char ascii_spaces[] = " \t\n\v\f\r";
static const char *const utf8_spaces[] = {
	"\xc2\x85",	"\xc2\xa0",	"\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x81",
	"\xe2\x80\x82", "\xe2\x80\x83", "\xe2\x80\x84", "\xe2\x80\x85", "\xe2\x80\x86",
	"\xe2\x80\x87", "\xe2\x80\x88", "\xe2\x80\x89", "\xe2\x80\x8a", "\xe2\x80\xa8",
	"\xe2\x80\xa9", "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80",
};

/*
 * The length of the white-space character s[0..n) starts with (at_end: ends
 * with), or 0. A UTF-8 lead byte is never a continuation byte, so a sequence
 * found at the end is the last character, as Go decodes it.
 */
static size_t space_len(const char *s, size_t n, bool at_end)
{
	char c;
	size_t i, len;

	if (n == 0)
		return 0;
	c = at_end ? s[n - 1] : s[0];
	if (c != '\0' && strchr(ascii_spaces, c))
		return 1;
	for (i = 0; i < ARRAY_SIZE(utf8_spaces); i++) {
		len = strlen(utf8_spaces[i]);
		if (len <= n && memcmp(at_end ? s + n - len : s, utf8_spaces[i], len) == 0)
			return len;
	}
	return 0;
}

/* A piece of the --feature-gates value, made fit to repeat in a message. */
static const char *echo(const char *s, size_t n, struct errbuf_echo *e)
{
	return errbuf_echo(e, s, n, ECHO_MAX);
}

static void trim(const char **s, size_t *n)
{
	size_t k;

	while ((k = space_len(*s, *n, false)) > 0) {
		*s += k;
		*n -= k;
	}
	while ((k = space_len(*s, *n, true)) > 0)
		*n -= k;
}

/*
 * Splits the next item off *p at a comma and advances *p; false at the end.
 * As in Kubernetes, an empty item (",,", a trailing comma, an empty value) is
 * skipped before anything is trimmed, so a blank one (" ") is an item without
 * a value.
 */
static bool next_item(const char **p, struct item *it)
{
	while (**p) {
		const char *start = *p;
		const char *comma = strchr(start, ',');
		size_t len = comma ? (size_t)(comma - start) : strlen(start);
		const char *eq;

		*p = start + len + (comma ? 1 : 0);
		if (len == 0)
			continue;
		eq = memchr(start, '=', len);
		it->name = start;
		it->name_len = eq ? (size_t)(eq - start) : len;
		trim(&it->name, &it->name_len);
		it->has_value = eq != NULL;
		it->value = eq ? eq + 1 : start + len;
		it->value_len = (size_t)(start + len - it->value);
		trim(&it->value, &it->value_len);
		return true;
	}
	return false;
}

/* Returns 1 for "true", 0 for "false" and -1 for anything else (case matters). */
static int item_value(const struct item *it)
{
	if (it->value_len == 4 && memcmp(it->value, "true", 4) == 0)
		return 1;
	if (it->value_len == 5 && memcmp(it->value, "false", 5) == 0)
		return 0;
	return -1;
}

static int lookup(const struct featuregate_spec *tab, size_t n, const struct item *it)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(tab[i].name) == it->name_len &&
		    memcmp(tab[i].name, it->name, it->name_len) == 0)
			return (int)i;
	return -1;
}

static int parse_error(struct errbuf *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Every rejection lists the gates, for the person at the shell. */
static int parse_error(struct errbuf *err, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strbuf_adds(&sb, "\nknown gates:\n");
	featuregate_format_known(&sb);
	/* The caller adds its own line end. */
	if (sb.len > 0 && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	rc = errbuf_set(err, "%s", strbuf_str(&sb));
	strbuf_fini(&sb);
	return rc;
}

void featuregate_init(struct featuregate_set *set)
{
	size_t i;

	for (i = 0; i < FEATUREGATE_COUNT; i++) {
		set->enabled[i] = gates[i].default_on;
		set->given[i] = false;
	}
}

/*
 * Three passes over the value so that errors come in the order Kubernetes
 * reports them: first the form of every item (a missing '=', a value other
 * than true or false), then unknown names, then locked gates. Only after all
 * three does anything change, so a rejected value leaves set as it was.
 */
int featuregate_parse(struct featuregate_set *set, const char *spec, struct errbuf *err)
{
	int named[FEATUREGATE_COUNT];
	int all[ARRAY_SIZE(pseudo_gates)];
	struct featuregate_set next = *set;
	struct errbuf_echo name, value;
	const char *p;
	struct item it;
	size_t i, k;
	int idx;

	if (!spec)
		spec = "";
	for (p = spec; next_item(&p, &it);) {
		if (!it.has_value)
			return parse_error(err, "missing bool value for %s",
					   echo(it.name, it.name_len, &name));
		if (item_value(&it) < 0)
			return parse_error(err, "invalid value of %s=%s, want true or false",
					   echo(it.name, it.name_len, &name),
					   echo(it.value, it.value_len, &value));
	}

	for (i = 0; i < FEATUREGATE_COUNT; i++)
		named[i] = UNNAMED;
	for (i = 0; i < ARRAY_SIZE(all); i++)
		all[i] = UNNAMED;
	for (p = spec; next_item(&p, &it);) {
		idx = lookup(gates, FEATUREGATE_COUNT, &it);
		if (idx >= 0) {
			named[idx] = item_value(&it);
			continue;
		}
		idx = lookup(pseudo_gates, ARRAY_SIZE(pseudo_gates), &it);
		if (idx < 0)
			return parse_error(err, "unrecognized feature gate: %s",
					   echo(it.name, it.name_len, &name));
		all[idx] = item_value(&it);
	}

	for (i = 0; i < FEATUREGATE_COUNT; i++)
		if (named[i] != UNNAMED && gates[i].locked &&
		    (named[i] == 1) != gates[i].default_on)
			return parse_error(
				err, "cannot set feature gate %s to %s, feature is locked to %s",
				gates[i].name, named[i] ? "true" : "false",
				gates[i].default_on ? "true" : "false");

	/*
	 * AllAlpha/AllBeta fill in only the gates that have no value from the
	 * command line yet: a gate named anywhere in this value wins, and so
	 * does one given by an earlier --feature-gates, even through an earlier
	 * AllAlpha/AllBeta ("AllAlpha=true" then "AllAlpha=false" leaves the
	 * alpha gates on, as in Kubernetes). A locked gate keeps its default.
	 */
	for (k = 0; k < ARRAY_SIZE(pseudo_gates); k++) {
		if (all[k] == UNNAMED)
			continue;
		for (i = 0; i < FEATUREGATE_COUNT; i++) {
			if (gates[i].stage != pseudo_gates[k].stage || gates[i].locked ||
			    named[i] != UNNAMED || next.given[i])
				continue;
			next.enabled[i] = all[k] == 1;
			next.given[i] = true;
		}
	}
	for (i = 0; i < FEATUREGATE_COUNT; i++) {
		if (named[i] == UNNAMED)
			continue;
		next.enabled[i] = named[i] == 1;
		next.given[i] = true;
	}
	*set = next;
	return 0;
}

bool featuregate_enabled(const struct featuregate_set *set, enum featuregate_id id)
{
	if ((size_t)id >= FEATUREGATE_COUNT)
		return false;
	return set->enabled[id];
}

const struct featuregate_spec *featuregate_spec(enum featuregate_id id)
{
	if ((size_t)id >= FEATUREGATE_COUNT)
		return NULL;
	return &gates[id];
}

const char *featuregate_stage_name(enum featuregate_stage stage)
{
	switch (stage) {
	case FEATUREGATE_ALPHA:
		return "ALPHA";
	case FEATUREGATE_BETA:
		return "BETA";
	case FEATUREGATE_GA:
		return "GA";
	case FEATUREGATE_DEPRECATED:
		return "DEPRECATED";
	}
	return "UNKNOWN";
}

static int spec_cmp(const void *a, const void *b)
{
	const struct featuregate_spec *const *x = a;
	const struct featuregate_spec *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

void featuregate_format_known(struct strbuf *out)
{
	const struct featuregate_spec *all[FEATUREGATE_COUNT + ARRAY_SIZE(pseudo_gates)];
	size_t i, n = 0;

	for (i = 0; i < FEATUREGATE_COUNT; i++)
		all[n++] = &gates[i];
	for (i = 0; i < ARRAY_SIZE(pseudo_gates); i++)
		all[n++] = &pseudo_gates[i];
	qsort(all, n, sizeof(all[0]), spec_cmp);
	for (i = 0; i < n; i++)
		strbuf_addf(out, "%s=true|false (%s - default=%s)\n", all[i]->name,
			    featuregate_stage_name(all[i]->stage),
			    all[i]->default_on ? "true" : "false");
}

void featuregate_format(const struct featuregate_set *set, struct strbuf *out)
{
	const struct featuregate_spec *sorted[FEATUREGATE_COUNT];
	size_t i;

	for (i = 0; i < FEATUREGATE_COUNT; i++)
		sorted[i] = &gates[i];
	qsort(sorted, FEATUREGATE_COUNT, sizeof(sorted[0]), spec_cmp);
	for (i = 0; i < FEATUREGATE_COUNT; i++)
		strbuf_addf(out, "%s%s=%s", i ? "," : "", sorted[i]->name,
			    set->enabled[sorted[i] - gates] ? "true" : "false");
}
