// SPDX-License-Identifier: GPL-2.0-or-later
#include <ctype.h>
#include <errno.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apiwatch/k8s.h"
#include "proxy/errbuf.h"
#include "proxy/strbuf.h"
#include "proxy/xalloc.h"
#include "test/unit/lib/tracer.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* iptables keeps chain names of up to 28 characters and comments of up to 255 bytes. */
#define CHAIN_NAME_MAX 28
#define COMMENT_MAX    255
/* Words in one line; kproxy's longest rules have about 30. */
#define MAX_WORDS 256

#define CHAIN_SERVICES	"KPROXY-SERVICES"
#define CHAIN_MARK_MASQ "KPROXY-MARK-MASQ"

enum table_id {
	TABLE_FILTER,
	TABLE_NAT,
	TABLE_MANGLE,
	TABLE_RAW,
	TABLE_SECURITY,
};

static const char *const table_names[] = {
	[TABLE_FILTER] = "filter", [TABLE_NAT] = "nat",		  [TABLE_MANGLE] = "mangle",
	[TABLE_RAW] = "raw",	   [TABLE_SECURITY] = "security",
};

#define N_TABLES     ARRAY_SIZE(table_names)
#define IN_TABLE(id) (1u << (id))
#define ALL_TABLES   ((1u << N_TABLES) - 1)

static const char *const builtin_chains[] = {
	"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING",
};

/* The filter chains a trace runs after nat, in this order. */
static const char *const filter_chains[] = {
	"KPROXY-SERVICES",
	"KPROXY-EXTERNAL-SERVICES",
	"KPROXY-NODEPORTS",
	"KPROXY-FIREWALL",
};

enum target {
	TARGET_NONE, /* no -j: the rule does nothing */
	TARGET_CHAIN,
	TARGET_ACCEPT,
	TARGET_DROP,
	TARGET_REJECT,
	TARGET_RETURN,
	TARGET_DNAT,
	TARGET_MARK,
	TARGET_MASQUERADE,
};

static const struct target_def {
	const char *name;
	enum target target;
	unsigned tables; /* IN_TABLE() bits where iptables accepts it */
} targets[] = {
	{ "ACCEPT", TARGET_ACCEPT, ALL_TABLES },
	{ "DROP", TARGET_DROP, ALL_TABLES & ~IN_TABLE(TABLE_NAT) },
	{ "REJECT", TARGET_REJECT, ALL_TABLES & ~IN_TABLE(TABLE_NAT) },
	{ "RETURN", TARGET_RETURN, ALL_TABLES },
	{ "DNAT", TARGET_DNAT, IN_TABLE(TABLE_NAT) },
	{ "MARK", TARGET_MARK, ALL_TABLES },
	{ "MASQUERADE", TARGET_MASQUERADE, IN_TABLE(TABLE_NAT) },
};

/* Match modules, as bits of what a rule has loaded so far. */
enum {
	MOD_COMMENT = 1u << 0,
	MOD_PORTS = 1u << 1, /* tcp, udp, sctp: --dport */
	MOD_ADDRTYPE = 1u << 2,
	MOD_CONNTRACK = 1u << 3,
	MOD_MARK = 1u << 4,
	MOD_RECENT = 1u << 5,
	MOD_STATISTIC = 1u << 6,
	MOD_NFACCT = 1u << 7,
};

static const struct module_def {
	const char *name;
	unsigned mod;
} modules[] = {
	{ "comment", MOD_COMMENT }, { "tcp", MOD_PORTS },	  { "udp", MOD_PORTS },
	{ "sctp", MOD_PORTS },	    { "addrtype", MOD_ADDRTYPE }, { "conntrack", MOD_CONNTRACK },
	{ "mark", MOD_MARK },	    { "recent", MOD_RECENT },	  { "statistic", MOD_STATISTIC },
	{ "nfacct", MOD_NFACCT },
};

/* How an error names the module an option needs. */
static const struct module_need {
	unsigned mod;
	const char *text;
} module_needs[] = {
	{ MOD_COMMENT, "-m comment" },	   { MOD_PORTS, "-p tcp, udp or sctp" },
	{ MOD_ADDRTYPE, "-m addrtype" },   { MOD_CONNTRACK, "-m conntrack" },
	{ MOD_MARK, "-m mark" },	   { MOD_RECENT, "-m recent" },
	{ MOD_STATISTIC, "-m statistic" }, { MOD_NFACCT, "-m nfacct" },
};

static const struct protocol_def {
	const char *name;
	bool ports; /* -p NAME loads the match that knows --dport */
} protocols[] = {
	{ "tcp", true }, { "udp", true }, { "sctp", true }, { "icmp", false }, { "icmpv6", false },
};

enum command {
	CMD_APPEND,
	CMD_INSERT,
	CMD_DELETE_CHAIN,
	CMD_FLUSH,
};

static const struct command_def {
	const char *name;
	enum command cmd;
} commands[] = {
	{ "-A", CMD_APPEND },
	{ "-I", CMD_INSERT },
	{ "-X", CMD_DELETE_CHAIN },
	{ "-F", CMD_FLUSH },
};

enum opt {
	OPT_SRC,
	OPT_DST,
	OPT_PROTO,
	OPT_IFACE,
	OPT_MATCH,
	OPT_JUMP,
	OPT_DPORT,
	OPT_COMMENT,
	OPT_SRC_TYPE,
	OPT_DST_TYPE,
	OPT_HISTORY, /* --ctstate, --mark: never match here */
	OPT_RECENT_NAME,
	OPT_RECENT_CHECK, /* --rcheck, --update: the source is in the list */
	OPT_IGNORED,	  /* options with no bearing on the walk */
	OPT_STAT_MODE,
	OPT_STAT_PROB,
	OPT_TO_DEST,
};

/**
 * struct option_def - one option a rule may carry.
 * @mod: the MOD_ bit that must be loaded first (0 for core options).
 * @target: the target that must be selected first (TARGET_NONE for matches).
 * @arg: takes one argument.
 * @negatable: may follow "!".
 * @repeat: may appear more than once in a rule.
 */
static const struct option_def {
	const char *name;
	enum opt opt;
	unsigned mod;
	enum target target;
	bool arg;
	bool negatable;
	bool repeat;
} options[] = {
	{ "-s", OPT_SRC, 0, TARGET_NONE, true, true, false },
	{ "-d", OPT_DST, 0, TARGET_NONE, true, true, false },
	{ "-p", OPT_PROTO, 0, TARGET_NONE, true, true, false },
	{ "-i", OPT_IFACE, 0, TARGET_NONE, true, true, false },
	{ "-o", OPT_IFACE, 0, TARGET_NONE, true, true, false },
	{ "-m", OPT_MATCH, 0, TARGET_NONE, true, false, true },
	{ "-j", OPT_JUMP, 0, TARGET_NONE, true, false, false },
	{ "--dport", OPT_DPORT, MOD_PORTS, TARGET_NONE, true, true, false },
	{ "--comment", OPT_COMMENT, MOD_COMMENT, TARGET_NONE, true, false, false },
	{ "--src-type", OPT_SRC_TYPE, MOD_ADDRTYPE, TARGET_NONE, true, true, false },
	{ "--dst-type", OPT_DST_TYPE, MOD_ADDRTYPE, TARGET_NONE, true, true, false },
	{ "--ctstate", OPT_HISTORY, MOD_CONNTRACK, TARGET_NONE, true, true, false },
	{ "--mark", OPT_HISTORY, MOD_MARK, TARGET_NONE, true, true, false },
	{ "--name", OPT_RECENT_NAME, MOD_RECENT, TARGET_NONE, true, false, false },
	{ "--set", OPT_IGNORED, MOD_RECENT, TARGET_NONE, false, false, false },
	{ "--rcheck", OPT_RECENT_CHECK, MOD_RECENT, TARGET_NONE, false, true, false },
	{ "--update", OPT_RECENT_CHECK, MOD_RECENT, TARGET_NONE, false, true, false },
	{ "--seconds", OPT_IGNORED, MOD_RECENT, TARGET_NONE, true, false, false },
	{ "--reap", OPT_IGNORED, MOD_RECENT, TARGET_NONE, false, false, false },
	{ "--mode", OPT_STAT_MODE, MOD_STATISTIC, TARGET_NONE, true, false, false },
	{ "--probability", OPT_STAT_PROB, MOD_STATISTIC, TARGET_NONE, true, false, false },
	{ "--nfacct-name", OPT_IGNORED, MOD_NFACCT, TARGET_NONE, true, false, false },
	{ "--to-destination", OPT_TO_DEST, 0, TARGET_DNAT, true, false, false },
	{ "--set-xmark", OPT_IGNORED, 0, TARGET_MARK, true, false, false },
	{ "--set-mark", OPT_IGNORED, 0, TARGET_MARK, true, false, false },
	{ "--or-mark", OPT_IGNORED, 0, TARGET_MARK, true, false, false },
	{ "--xor-mark", OPT_IGNORED, 0, TARGET_MARK, true, false, false },
	{ "--and-mark", OPT_IGNORED, 0, TARGET_MARK, true, false, false },
	{ "--random-fully", OPT_IGNORED, 0, TARGET_MASQUERADE, false, false, false },
	{ "--random", OPT_IGNORED, 0, TARGET_MASQUERADE, false, false, false },
	{ "--to-ports", OPT_IGNORED, 0, TARGET_MASQUERADE, true, false, false },
	{ "--reject-with", OPT_IGNORED, 0, TARGET_REJECT, true, false, false },
};

struct addr_match {
	bool set;
	bool neg;
	struct k8s_cidr cidr;
	bool has_mask; /* "ADDR/DOTTED-MASK", e.g. 0.0.0.5/0.0.0.15 */
	struct k8s_addr mask;
};

struct flag_match {
	bool set;
	bool neg;
};

/**
 * struct tracer_rule - one parsed rule.
 * @text: the line as written (for tracer_matches()).
 * @proto: lower-case -p value, or NULL.
 * @local_src, @local_dst: -m addrtype --src-type/--dst-type LOCAL.
 * @never: tests history the tracer does not keep, so it never matches.
 * @recent_check, @recent_neg, @recent_name: -m recent [!] --rcheck or --update
 *	with --name (xt_recent's "DEFAULT" without one).
 * @probabilistic: -m statistic; its jump does not end the calling chain.
 * @jump: the -j argument, or NULL; @chain is resolved from it at COMMIT.
 * @dnat, @dnat_addr: --to-destination as written and its address.
 */
struct tracer_rule {
	char *text;
	unsigned line;
	struct addr_match src;
	struct addr_match dst;
	char *proto;
	bool proto_neg;
	struct flag_match local_src;
	struct flag_match local_dst;
	bool has_dport;
	bool dport_neg;
	uint16_t dport; /* --dport N or N:M */
	uint16_t dport_last;
	bool never;
	bool recent_check;
	bool recent_neg;
	char *recent_name;
	bool probabilistic;
	enum target target;
	char *jump;
	struct tracer_chain *chain;
	char *dnat;
	struct k8s_addr dnat_addr;
};

struct tracer_chain {
	char *name;
	bool deleted;
	struct tracer_rule *rules;
	size_t n_rules;
	size_t cap_rules;
};

/**
 * struct tracer_table - one "*table" section.
 * @chains: every chain in creation order, deleted ones included (owned).
 * @index: tsearch tree of the live chains by name (borrows @chains).
 */
struct tracer_table {
	bool seen;
	struct tracer_chain **chains;
	size_t n_chains;
	void *index;
};

/* A source address an xt_recent list holds (see tracer_recent_add()). */
struct tracer_recent {
	char *name;
	struct k8s_addr src;
};

struct tracer {
	struct tracer_table tables[N_TABLES];
	struct k8s_addr *local;
	size_t n_local;
	struct tracer_recent *recent;
	size_t n_recent;
	struct strbuf matches;
};

struct parser {
	struct tracer *t;
	struct errbuf *err;
	unsigned line;
	int table; /* enum table_id being filled, -1 between COMMIT and the next "*" */
};

struct words {
	char *buf;
	char *v[MAX_WORDS];
	size_t n;
};

static int parse_error(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_error(struct parser *p, const char *fmt, ...)
{
	char msg[ERRBUF_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return errbuf_set(p->err, "line %u: %s", p->line, msg);
}

static void rule_fini(struct tracer_rule *r)
{
	free(r->text);
	free(r->proto);
	free(r->jump);
	free(r->dnat);
	free(r->recent_name);
}

static void chain_flush(struct tracer_chain *c)
{
	size_t i;

	for (i = 0; i < c->n_rules; i++)
		rule_fini(&c->rules[i]);
	c->n_rules = 0;
}

static void chain_free(struct tracer_chain *c)
{
	chain_flush(c);
	free(c->rules);
	free(c->name);
	free(c);
}

static int chain_cmp(const void *a, const void *b)
{
	const struct tracer_chain *ca = a, *cb = b;

	return strcmp(ca->name, cb->name);
}

static void chain_keep(void *c)
{
	(void)c;
}

static struct tracer_chain *chain_lookup(const struct tracer_table *tab, const char *name)
{
	struct tracer_chain key = { .name = (char *)name };
	void *const *node = tfind(&key, &tab->index, chain_cmp);

	return node ? *node : NULL;
}

/* Returns a new live chain owned by tab. */
static struct tracer_chain *chain_add(struct tracer_table *tab, const char *name)
{
	struct tracer_chain *c = xcalloc(1, sizeof(*c));

	c->name = xstrdup(name);
	tab->chains = xreallocarray(tab->chains, tab->n_chains + 1, sizeof(*tab->chains));
	tab->chains[tab->n_chains++] = c;
	if (!tsearch(c, &tab->index, chain_cmp))
		abort();
	return c;
}

/* Moves r into c at index pos (c->n_rules appends). */
static void chain_insert(struct tracer_chain *c, size_t pos, struct tracer_rule *r)
{
	if (c->n_rules == c->cap_rules) {
		c->cap_rules = c->cap_rules ? 2 * c->cap_rules : 8;
		c->rules = xreallocarray(c->rules, c->cap_rules, sizeof(*c->rules));
	}
	memmove(&c->rules[pos + 1], &c->rules[pos], (c->n_rules - pos) * sizeof(*c->rules));
	c->rules[pos] = *r;
	c->n_rules++;
}

static bool is_builtin_chain(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(builtin_chains); i++)
		if (strcmp(name, builtin_chains[i]) == 0)
			return true;
	return false;
}

static int table_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < N_TABLES; i++)
		if (strcmp(name, table_names[i]) == 0)
			return (int)i;
	return -1;
}

/*
 * Splits a line into words the way iptables-restore does: blanks separate
 * words, double quotes group them (and are dropped), and inside quotes \" and
 * \\ stand for " and \.
 */
static int words_split(struct parser *p, const char *line, struct words *w)
{
	const char *s = line;
	char *out;

	w->n = 0;
	w->buf = out = xmalloc(strlen(line) + 1);
	for (;;) {
		bool quoted = false;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return 0;
		if (w->n == MAX_WORDS)
			return parse_error(p, "more than %d words", MAX_WORDS);
		w->v[w->n++] = out;
		while (*s && (quoted || (*s != ' ' && *s != '\t'))) {
			if (*s == '"') {
				quoted = !quoted;
				s++;
				continue;
			}
			if (quoted && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			*out++ = *s++;
		}
		if (quoted)
			return parse_error(p, "unterminated quote");
		*out++ = '\0';
	}
}

/* Parses a decimal number from 1 to 65535. */
static bool parse_u16(const char *s, uint16_t *out)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

/* "ADDR/MASK" with a dotted (possibly non-contiguous) mask, as iptables accepts. */
static bool parse_addr_mask(const char *s, struct addr_match *m)
{
	char addr[K8S_ADDR_STRLEN];
	const char *slash = strchr(s, '/');

	if (!slash || !strchr(slash, '.') || (size_t)(slash - s) >= sizeof(addr))
		return false;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (!k8s_addr_parse(addr, &m->cidr.addr) || !k8s_addr_parse(slash + 1, &m->mask))
		return false;
	m->has_mask = m->mask.family == m->cidr.addr.family;
	return m->has_mask;
}

/* An address alone is a CIDR covering only itself, as for iptables. */
static bool parse_addr_match(const char *s, struct k8s_cidr *out)
{
	if (strchr(s, '/'))
		return k8s_cidr_parse(s, out);
	if (!k8s_addr_parse(s, &out->addr))
		return false;
	out->prefix = out->addr.family == K8S_FAMILY_IPV4 ? 32 : 128;
	return true;
}

/* Parses "IP:PORT" or "[IPv6]:PORT". */
static bool parse_dnat(const char *s, struct k8s_addr *addr)
{
	char host[K8S_ADDR_STRLEN];
	const char *colon = strrchr(s, ':');
	const char *start = s, *end = colon;
	uint16_t port;

	if (!colon || !parse_u16(colon + 1, &port))
		return false;
	if (*s == '[') {
		if (colon == s || colon[-1] != ']')
			return false;
		start = s + 1;
		end = colon - 1;
	} else if (memchr(s, ':', (size_t)(colon - s))) {
		return false;
	}
	if (end <= start || (size_t)(end - start) >= sizeof(host))
		return false;
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	return k8s_addr_parse(host, addr) && (*s == '[') == (addr->family == K8S_FAMILY_IPV6);
}

static const struct option_def *option_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(options); i++)
		if (strcmp(name, options[i].name) == 0)
			return &options[i];
	return NULL;
}

static const char *target_name(enum target target)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(targets); i++)
		if (targets[i].target == target)
			return targets[i].name;
	return "?";
}

static const char *module_need_text(unsigned mod)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(module_needs); i++)
		if (module_needs[i].mod == mod)
			return module_needs[i].text;
	return "?";
}

/**
 * struct rule_state - what a rule has said so far.
 * @mods: MOD_ bits loaded by -m or implied by -p.
 * @port_mod: the tcp/udp/sctp module loaded with -m, which needs the same -p.
 */
struct rule_state {
	unsigned mods;
	const char *port_mod;
	bool seen[ARRAY_SIZE(options)];
};

static int rule_option(struct parser *p, struct tracer_rule *r, struct rule_state *st,
		       const struct option_def *def, bool neg, const char *arg)
{
	size_t i;

	switch (def->opt) {
	case OPT_SRC:
	case OPT_DST: {
		struct addr_match *m = def->opt == OPT_SRC ? &r->src : &r->dst;

		if (!parse_addr_mask(arg, m) && !parse_addr_match(arg, &m->cidr))
			return parse_error(p, "bad address \"%s\"", arg);
		m->set = true;
		m->neg = neg;
		return 0;
	}
	case OPT_PROTO:
		for (i = 0; i < ARRAY_SIZE(protocols); i++)
			if (strcasecmp(arg, protocols[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(protocols))
			return parse_error(p, "unknown protocol \"%s\"", arg);
		r->proto = xstrdup(protocols[i].name);
		r->proto_neg = neg;
		if (!neg && protocols[i].ports)
			st->mods |= MOD_PORTS;
		return 0;
	case OPT_MATCH:
		for (i = 0; i < ARRAY_SIZE(modules); i++)
			if (strcmp(arg, modules[i].name) == 0)
				break;
		if (i == ARRAY_SIZE(modules))
			return parse_error(p, "unknown match module \"%s\"", arg);
		st->mods |= modules[i].mod;
		if (modules[i].mod == MOD_PORTS)
			st->port_mod = modules[i].name;
		return 0;
	case OPT_JUMP:
		r->jump = xstrdup(arg);
		r->target = TARGET_CHAIN;
		for (i = 0; i < ARRAY_SIZE(targets); i++) {
			if (strcmp(arg, targets[i].name) != 0)
				continue;
			if (!(targets[i].tables & IN_TABLE(p->table)))
				return parse_error(p, "target %s is not valid in table %s", arg,
						   table_names[p->table]);
			r->target = targets[i].target;
		}
		return 0;
	case OPT_DPORT: {
		/* N, or a range N:M as iptables takes it (N <= M). */
		char first[8];
		const char *colon = strchr(arg, ':');
		size_t len = colon ? (size_t)(colon - arg) : strlen(arg);

		if (len >= sizeof(first))
			return parse_error(p, "bad port \"%s\"", arg);
		memcpy(first, arg, len);
		first[len] = '\0';
		r->dport = 0;
		if ((!colon || strcmp(first, "0") != 0) && !parse_u16(first, &r->dport))
			return parse_error(p, "bad port \"%s\"", arg);
		if (!parse_u16(colon ? colon + 1 : first, &r->dport_last) ||
		    r->dport_last < r->dport)
			return parse_error(p, "bad port \"%s\"", arg);
		r->has_dport = true;
		r->dport_neg = neg;
		return 0;
	}
	case OPT_COMMENT:
		if (strlen(arg) > COMMENT_MAX)
			return parse_error(p, "comment longer than %d bytes", COMMENT_MAX);
		return 0;
	case OPT_SRC_TYPE:
	case OPT_DST_TYPE: {
		struct flag_match *m = def->opt == OPT_SRC_TYPE ? &r->local_src : &r->local_dst;

		if (strcmp(arg, "LOCAL") != 0)
			return parse_error(p, "unsupported address type \"%s\"", arg);
		m->set = true;
		m->neg = neg;
		return 0;
	}
	case OPT_HISTORY:
		r->never = true;
		return 0;
	case OPT_RECENT_NAME:
		r->recent_name = xstrdup(arg);
		return 0;
	case OPT_RECENT_CHECK:
		r->recent_check = true;
		r->recent_neg = neg;
		return 0;
	case OPT_STAT_MODE:
		if (strcmp(arg, "random") != 0)
			return parse_error(p, "unsupported statistic mode \"%s\"", arg);
		return 0;
	case OPT_STAT_PROB: {
		char *end;
		double prob = strtod(arg, &end);

		if (end == arg || *end || !(prob >= 0.0 && prob <= 1.0))
			return parse_error(p, "bad probability \"%s\"", arg);
		r->probabilistic = true;
		return 0;
	}
	case OPT_TO_DEST:
		if (!parse_dnat(arg, &r->dnat_addr))
			return parse_error(p, "bad DNAT destination \"%s\"", arg);
		r->dnat = xstrdup(arg);
		return 0;
	case OPT_IFACE:
	case OPT_IGNORED:
		return 0;
	}
	return 0;
}

/* Fills r from the words after "-A CHAIN" (or "-I CHAIN [N]"). */
static int rule_parse(struct parser *p, struct tracer_rule *r, char *const *v, size_t n)
{
	struct rule_state st = { 0 };
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		const struct option_def *def;
		const char *word = v[i], *arg = NULL;
		bool neg = false;

		if (strcmp(word, "!") == 0) {
			if (++i == n)
				return parse_error(p, "\"!\" at end of rule");
			neg = true;
			word = v[i];
		}
		def = option_lookup(word);
		if (!def) {
			if (word[0] == '-')
				return parse_error(p, "unknown option \"%s\"", word);
			return parse_error(p, "unexpected argument \"%s\"", word);
		}
		if (neg && !def->negatable)
			return parse_error(p, "option \"%s\" cannot be negated", word);
		if (def->mod && !(st.mods & def->mod))
			return parse_error(p, "option \"%s\" needs %s", word,
					   module_need_text(def->mod));
		if (def->target != TARGET_NONE && r->target != def->target)
			return parse_error(p, "option \"%s\" needs -j %s", word,
					   target_name(def->target));
		if (st.seen[def - options] && !def->repeat)
			return parse_error(p, "option \"%s\" given twice", word);
		st.seen[def - options] = true;
		if (def->arg) {
			if (i + 1 == n)
				return parse_error(p, "option \"%s\" needs an argument", word);
			arg = v[++i];
		}
		ret = rule_option(p, r, &st, def, neg, arg);
		if (ret < 0)
			return ret;
	}
	if (st.port_mod && (!r->proto || r->proto_neg || strcmp(r->proto, st.port_mod) != 0))
		return parse_error(p, "-m %s needs -p %s", st.port_mod, st.port_mod);
	if ((st.mods & MOD_STATISTIC) && !r->probabilistic)
		return parse_error(p, "-m statistic needs --probability");
	if (r->target == TARGET_DNAT && !r->dnat)
		return parse_error(p, "-j DNAT needs --to-destination");
	if (r->recent_check && !r->recent_name)
		r->recent_name = xstrdup("DEFAULT");
	return 0;
}

/* ":NAME POLICY [PACKETS:BYTES]" */
static int parse_chain_line(struct parser *p, struct words *w)
{
	struct tracer_table *tab;
	const char *name = w->v[0] + 1;
	const char *policy = w->n > 1 ? w->v[1] : "";

	if (p->table < 0)
		return parse_error(p, "chain line outside a table");
	tab = &p->t->tables[p->table];
	if (!*name || w->n < 2 || w->n > 3 ||
	    (strcmp(policy, "-") != 0 && strcmp(policy, "ACCEPT") != 0 &&
	     strcmp(policy, "DROP") != 0))
		return parse_error(p, "bad chain line");
	if (strlen(name) > CHAIN_NAME_MAX)
		return parse_error(p, "chain name \"%s\" longer than %d characters", name,
				   CHAIN_NAME_MAX);
	if (chain_lookup(tab, name)) {
		if (is_builtin_chain(name))
			return 0;
		return parse_error(p, "chain \"%s\" declared twice", name);
	}
	chain_add(tab, name);
	return 0;
}

/* Finds the chain a command names; built-in chains spring into being on first use. */
static struct tracer_chain *command_chain(struct parser *p, const char *name)
{
	struct tracer_table *tab = &p->t->tables[p->table];
	struct tracer_chain *c = chain_lookup(tab, name);

	if (!c && is_builtin_chain(name))
		c = chain_add(tab, name);
	return c;
}

static int parse_rule_line(struct parser *p, struct words *w, bool insert, const char *text)
{
	struct tracer_rule r = { 0 };
	struct tracer_chain *c;
	size_t first = 2, pos;
	int ret;

	c = command_chain(p, w->v[1]);
	if (!c)
		return parse_error(p, "rule in undeclared chain \"%s\"", w->v[1]);
	pos = c->n_rules;
	/*
	 * The kernel's chain may hold rules the payload does not show, so an
	 * insert position beyond what we know lands at the end.
	 */
	if (insert) {
		uint16_t n = 1;

		if (w->n > 2 && isdigit((unsigned char)w->v[2][0])) {
			if (!parse_u16(w->v[2], &n))
				return parse_error(p, "bad rule number \"%s\"", w->v[2]);
			first = 3;
		}
		pos = (size_t)n - 1 < c->n_rules ? (size_t)n - 1 : c->n_rules;
	}
	r.line = p->line;
	r.text = xstrdup(text);
	ret = rule_parse(p, &r, w->v + first, w->n - first);
	if (ret < 0) {
		rule_fini(&r);
		return ret;
	}
	chain_insert(c, pos, &r);
	return 0;
}

/*
 * -X and -F may name a chain the payload never declared: with --noflush it may
 * exist in the kernel, and deleting or flushing it is then a no-op for us.
 */
static int parse_delete_line(struct parser *p, struct words *w)
{
	struct tracer_table *tab = &p->t->tables[p->table];
	struct tracer_chain *c;

	if (is_builtin_chain(w->v[1]))
		return parse_error(p, "cannot delete built-in chain \"%s\"", w->v[1]);
	c = chain_lookup(tab, w->v[1]);
	if (!c)
		return 0;
	if (c->n_rules)
		return parse_error(p, "cannot delete non-empty chain \"%s\"", w->v[1]);
	if (!tdelete(c, &tab->index, chain_cmp))
		abort();
	c->deleted = true;
	return 0;
}

static int parse_command_line(struct parser *p, struct words *w, const char *text)
{
	const struct command_def *def = NULL;
	struct tracer_chain *c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(w->v[0], commands[i].name) == 0)
			def = &commands[i];
	if (!def)
		return parse_error(p, "unknown command \"%s\"", w->v[0]);
	if (p->table < 0)
		return parse_error(p, "rule outside a table");
	if (w->n < 2)
		return parse_error(p, "%s needs a chain name", def->name);
	if (def->cmd != CMD_APPEND && def->cmd != CMD_INSERT && w->n > 2)
		return parse_error(p, "unexpected argument \"%s\"", w->v[2]);
	switch (def->cmd) {
	case CMD_APPEND:
	case CMD_INSERT:
		return parse_rule_line(p, w, def->cmd == CMD_INSERT, text);
	case CMD_DELETE_CHAIN:
		return parse_delete_line(p, w);
	case CMD_FLUSH:
		c = chain_lookup(&p->t->tables[p->table], w->v[1]);
		if (c)
			chain_flush(c);
		return 0;
	}
	return 0;
}

static bool chain_deleted(const struct tracer_table *tab, const char *name)
{
	size_t i;

	for (i = 0; i < tab->n_chains; i++)
		if (tab->chains[i]->deleted && strcmp(tab->chains[i]->name, name) == 0)
			return true;
	return false;
}

/* Resolves every jump to a chain of the table, as COMMIT makes iptables do. */
static int table_commit(struct parser *p, struct tracer_table *tab)
{
	size_t i, j;

	for (i = 0; i < tab->n_chains; i++) {
		struct tracer_chain *c = tab->chains[i];

		if (c->deleted)
			continue;
		for (j = 0; j < c->n_rules; j++) {
			struct tracer_rule *r = &c->rules[j];

			if (r->target != TARGET_CHAIN)
				continue;
			p->line = r->line;
			if (is_builtin_chain(r->jump))
				return parse_error(p, "jump to built-in chain \"%s\"", r->jump);
			r->chain = chain_lookup(tab, r->jump);
			if (!r->chain && chain_deleted(tab, r->jump))
				return parse_error(p, "jump to deleted chain \"%s\"", r->jump);
			if (!r->chain)
				return parse_error(p, "jump to undeclared chain \"%s\"", r->jump);
		}
	}
	return 0;
}

static int parse_line(struct parser *p, const char *line)
{
	struct words w = { 0 };
	int ret = 0;

	if (*line == '#' || *line == '\0')
		return 0;
	if (*line == '*') {
		int id = table_lookup(line + 1);

		if (p->table >= 0)
			return parse_error(p, "table \"%s\" has no COMMIT", table_names[p->table]);
		if (id < 0)
			return parse_error(p, "unknown table \"%s\"", line + 1);
		if (p->t->tables[id].seen)
			return parse_error(p, "table \"%s\" given twice", line + 1);
		p->t->tables[id].seen = true;
		p->table = id;
		return 0;
	}
	if (strcmp(line, "COMMIT") == 0) {
		if (p->table < 0)
			return parse_error(p, "COMMIT outside a table");
		ret = table_commit(p, &p->t->tables[p->table]);
		p->table = -1;
		return ret;
	}
	ret = words_split(p, line, &w);
	if (ret < 0)
		goto out_words;
	if (line[0] == ':')
		ret = parse_chain_line(p, &w);
	else if (line[0] == '-')
		ret = parse_command_line(p, &w, line);
	else
		ret = parse_error(p, "unexpected line \"%s\"", w.v[0]);
out_words:
	free(w.buf);
	return ret;
}

void tracer_free(struct tracer *t)
{
	size_t i, j;

	if (!t)
		return;
	for (i = 0; i < N_TABLES; i++) {
		struct tracer_table *tab = &t->tables[i];

		tdestroy(tab->index, chain_keep);
		for (j = 0; j < tab->n_chains; j++)
			chain_free(tab->chains[j]);
		free(tab->chains);
	}
	free(t->local);
	for (i = 0; i < t->n_recent; i++)
		free(t->recent[i].name);
	free(t->recent);
	strbuf_fini(&t->matches);
	free(t);
}

struct tracer *tracer_new(const char *payload, struct errbuf *err)
{
	struct tracer *t = xcalloc(1, sizeof(*t));
	struct parser p = { .t = t, .err = err, .line = 0, .table = -1 };
	const char *s = payload;
	int ret = 0;

	strbuf_init(&t->matches);
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		char *line;
		size_t start = 0;

		p.line++;
		while (len > 0 && isspace((unsigned char)s[len - 1]))
			len--;
		while (start < len && isspace((unsigned char)s[start]))
			start++;
		line = xstrndup(s + start, len - start);
		ret = parse_line(&p, line);
		free(line);
		if (ret < 0)
			goto free_tracer;
		s = nl ? nl + 1 : s + strlen(s);
	}
	if (p.table >= 0) {
		errbuf_set(err, "end of input: table \"%s\" has no COMMIT", table_names[p.table]);
		goto free_tracer;
	}
	return t;

free_tracer:
	tracer_free(t);
	return NULL;
}

int tracer_set_local_ips(struct tracer *t, const char *const *ips, size_t n)
{
	struct k8s_addr *local = n ? xcalloc(n, sizeof(*local)) : NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!k8s_addr_parse(ips[i], &local[i])) {
			free(local);
			return -EINVAL;
		}
	}
	free(t->local);
	t->local = local;
	t->n_local = n;
	return 0;
}

int tracer_recent_add(struct tracer *t, const char *name, const char *src_ip)
{
	struct k8s_addr src;

	if (!k8s_addr_parse(src_ip, &src))
		return -EINVAL;
	t->recent = xreallocarray(t->recent, t->n_recent + 1, sizeof(*t->recent));
	t->recent[t->n_recent].name = xstrdup(name);
	t->recent[t->n_recent].src = src;
	t->n_recent++;
	return 0;
}

static bool recent_has(const struct tracer *t, const char *name, const struct k8s_addr *src)
{
	size_t i;

	for (i = 0; i < t->n_recent; i++)
		if (strcmp(t->recent[i].name, name) == 0 &&
		    k8s_addr_cmp(&t->recent[i].src, src) == 0)
			return true;
	return false;
}

/**
 * struct trace - the one state a packet walk shares across all its paths.
 * @verdict: TARGET_NONE, or the ACCEPT, DROP or REJECT that ended the walk.
 * @endpoints: every DNAT destination reached, joined with ", ".
 */
struct trace {
	struct tracer *t;
	const char *table;
	struct k8s_addr src;
	struct k8s_addr dst;
	const char *proto;
	uint16_t dport;
	bool masq;
	bool loop;
	unsigned long n_matched;
	enum target verdict;
	struct strbuf endpoints;
	size_t n_endpoints;
	struct k8s_addr first_endpoint;
};

static bool is_local(const struct tracer *t, const struct k8s_addr *a)
{
	static const uint8_t loopback6[16] = { [15] = 1 };
	size_t i;

	if (a->family == K8S_FAMILY_IPV4 && a->bytes[0] == 127)
		return true;
	if (a->family == K8S_FAMILY_IPV6 && memcmp(a->bytes, loopback6, 16) == 0)
		return true;
	for (i = 0; i < t->n_local; i++)
		if (k8s_addr_cmp(&t->local[i], a) == 0)
			return true;
	return false;
}

static bool masked_equal(const struct addr_match *m, const struct k8s_addr *a)
{
	size_t i, n = a->family == K8S_FAMILY_IPV4 ? 4 : 16;

	if (a->family != m->cidr.addr.family)
		return false;
	for (i = 0; i < n; i++)
		if ((a->bytes[i] & m->mask.bytes[i]) != (m->cidr.addr.bytes[i] & m->mask.bytes[i]))
			return false;
	return true;
}

static bool addr_ok(const struct addr_match *m, const struct k8s_addr *a)
{
	if (!m->set)
		return true;
	if (m->has_mask)
		return masked_equal(m, a) != m->neg;
	return k8s_cidr_contains(&m->cidr, a) != m->neg;
}

static bool local_ok(const struct trace *tr, const struct flag_match *m, const struct k8s_addr *a)
{
	return !m->set || is_local(tr->t, a) != m->neg;
}

static bool rule_matches(const struct trace *tr, const struct tracer_rule *r)
{
	if (r->never)
		return false;
	if (!addr_ok(&r->src, &tr->src) || !addr_ok(&r->dst, &tr->dst))
		return false;
	if (!local_ok(tr, &r->local_src, &tr->src) || !local_ok(tr, &r->local_dst, &tr->dst))
		return false;
	if (r->proto && (strcasecmp(r->proto, tr->proto) == 0) == r->proto_neg)
		return false;
	if (r->has_dport && (tr->dport >= r->dport && tr->dport <= r->dport_last) == r->dport_neg)
		return false;
	if (r->recent_check && recent_has(tr->t, r->recent_name, &tr->src) == r->recent_neg)
		return false;
	return true;
}

/*
 * Walks chain c. Returns true when the walk of this path ended (a verdict, a
 * DNAT, or a loop), false when the chain ran out or returned.
 */
static bool trace_chain(struct trace *tr, const struct tracer_chain *c, unsigned depth)
{
	size_t i;

	if (depth > TRACER_MAX_DEPTH) {
		tr->loop = true;
		return true;
	}
	for (i = 0; i < c->n_rules; i++) {
		const struct tracer_rule *r = &c->rules[i];

		if (r->target == TARGET_NONE || !rule_matches(tr, r))
			continue;
		if (++tr->n_matched > TRACER_MAX_MATCHES) {
			tr->loop = true;
			return true;
		}
		strbuf_addf(&tr->t->matches, "%s: %s\n", tr->table, r->text);
		switch (r->target) {
		case TARGET_NONE:
		case TARGET_MARK:
		case TARGET_MASQUERADE:
			break;
		case TARGET_RETURN:
			return false;
		case TARGET_ACCEPT:
		case TARGET_DROP:
		case TARGET_REJECT:
			tr->verdict = r->target;
			return true;
		case TARGET_DNAT:
			if (tr->n_endpoints++ == 0)
				tr->first_endpoint = r->dnat_addr;
			else
				strbuf_adds(&tr->endpoints, ", ");
			strbuf_adds(&tr->endpoints, r->dnat);
			return true;
		case TARGET_CHAIN:
			/* Marking for masquerade is all that chain does; the walk goes on. */
			if (strcmp(r->jump, CHAIN_MARK_MASQ) == 0) {
				tr->masq = true;
				break;
			}
			/*
			 * A path that ended in the chain we entered ends this chain too,
			 * unless we entered it at random: then the next rules are the
			 * other endpoints the packet could have picked.
			 */
			if (trace_chain(tr, r->chain, depth + 1) &&
			    (tr->loop || tr->verdict != TARGET_NONE || !r->probabilistic))
				return true;
			break;
		}
	}
	return false;
}

static void trace_table_chain(struct trace *tr, enum table_id id, const char *name)
{
	const struct tracer_chain *c = chain_lookup(&tr->t->tables[id], name);

	tr->table = table_names[id];
	if (c)
		trace_chain(tr, c, 0);
}

static char *trace_result(struct trace *tr)
{
	if (tr->loop)
		return xstrdup("LOOP");
	switch (tr->verdict) {
	case TARGET_DROP:
	case TARGET_REJECT:
		return xstrdup(target_name(tr->verdict));
	case TARGET_ACCEPT:
	case TARGET_NONE:
		break;
	case TARGET_CHAIN:
	case TARGET_RETURN:
	case TARGET_DNAT:
	case TARGET_MARK:
	case TARGET_MASQUERADE:
		abort();
	}
	if (tr->n_endpoints) {
		if (tr->masq)
			strbuf_adds(&tr->endpoints, " masq");
		return strbuf_detach(&tr->endpoints, NULL);
	}
	return xstrdup(tr->verdict == TARGET_ACCEPT ? "ACCEPT" : "NONE");
}

char *tracer_trace(struct tracer *t, const char *src_ip, const char *dst_ip, const char *proto,
		   unsigned dport)
{
	struct trace tr = { .t = t, .proto = proto, .verdict = TARGET_NONE };
	size_t i;
	char *res;

	strbuf_reset(&t->matches);
	if (!k8s_addr_parse(src_ip, &tr.src))
		return xasprintf("ERROR: bad source address \"%s\"", src_ip);
	if (!k8s_addr_parse(dst_ip, &tr.dst))
		return xasprintf("ERROR: bad destination address \"%s\"", dst_ip);
	if (dport == 0 || dport > 65535)
		return xasprintf("ERROR: bad port %u", dport);
	tr.dport = (uint16_t)dport;
	strbuf_init(&tr.endpoints);

	trace_table_chain(&tr, TABLE_NAT, CHAIN_SERVICES);
	if (tr.n_endpoints)
		tr.dst = tr.first_endpoint;
	for (i = 0; i < ARRAY_SIZE(filter_chains); i++) {
		if (tr.loop || tr.verdict != TARGET_NONE)
			break;
		trace_table_chain(&tr, TABLE_FILTER, filter_chains[i]);
	}
	res = trace_result(&tr);
	strbuf_fini(&tr.endpoints);
	return res;
}

const char *tracer_matches(const struct tracer *t)
{
	return strbuf_str(&t->matches);
}
