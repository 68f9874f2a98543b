// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A jump counts as kproxy's when it sits in the right base chain, targets the
 * right KPROXY- chain and carries kproxy's comment: in iptables-save text the
 * whole rule must match the spec; through libiptc the target and the comment
 * match's text are compared.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libiptc/libiptc.h>
#include <linux/netfilter/xt_comment.h>

#include "rules/chains.h"
#include "proxy/xalloc.h"

static const char *const table_names[RULES_TABLE_COUNT] = { "filter", "nat" };

static void ensure_jumps(struct rules_existing *ex)
{
	size_t n;

	if (!ex->jump_count) {
		rules_jumps(&n);
		ex->jump_count = xcalloc(n, sizeof(*ex->jump_count));
	}
}

static bool is_ours(const char *chain, size_t len)
{
	size_t plen = strlen(RULES_CHAIN_PREFIX);

	return len > plen && len < RULES_CHAIN_MAX && strncmp(chain, RULES_CHAIN_PREFIX, plen) == 0;
}

/* Counts a "-A BASE SPEC" line against the jump table. */
static void count_jump(struct rules_existing *ex, enum rules_table t, const char *line, size_t len)
{
	const struct rules_jump *jumps;
	size_t n, i, blen;

	jumps = rules_jumps(&n);
	for (i = 0; i < n; i++) {
		if (jumps[i].table != t)
			continue;
		blen = strlen(jumps[i].base);
		if (len == 3 + blen + 1 + strlen(jumps[i].spec) &&
		    strncmp(line + 3, jumps[i].base, blen) == 0 && line[3 + blen] == ' ' &&
		    strncmp(line + 4 + blen, jumps[i].spec, len - 4 - blen) == 0)
			ex->jump_count[i]++;
	}
}

/*
 * The target of a rule as iptables-save prints it: the word after "-j" or
 * "-g", read as iptables reads it, so that a quoted comment holding "-j
 * KPROXY-X" is not taken for one. Returns its length (0: none) and sets *name.
 */
static size_t rule_target(const char *spec, size_t len, const char **name)
{
	const char *p = spec, *end = spec + len, *word;
	bool target_next = false;
	size_t wlen;

	while (p < end) {
		if (*p == ' ') {
			p++;
			continue;
		}
		word = p;
		if (*p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\' && p + 1 < end)
					p++;
			if (p < end)
				p++;
		} else {
			while (p < end && *p != ' ')
				p++;
		}
		wlen = (size_t)(p - word);
		if (target_next) {
			*name = word;
			return wlen;
		}
		target_next =
			wlen == 2 && (strncmp(word, "-j", 2) == 0 || strncmp(word, "-g", 2) == 0);
	}
	return 0;
}

/* Records a "-A CHAIN SPEC" line of a chain not kproxy's that jumps into one. */
static void note_jump_rule(struct rules_existing *ex, enum rules_table t, const char *line,
			   size_t len)
{
	const char *rule = line + 3, *target = NULL;
	size_t clen = strcspn(rule, " \n"), tlen;

	if (clen >= len - 3 || is_ours(rule, clen))
		return;
	tlen = rule_target(rule + clen, len - 3 - clen, &target);
	if (tlen && is_ours(target, tlen))
		rules_existing_add_jump_rule(ex, t, rule, len - 3);
}

void chains_parse_save(const char *text, struct rules_existing *ex)
{
	memset(ex, 0, sizeof(*ex));
	chains_parse_save_add(text, ex);
}

void chains_parse_save_add(const char *text, struct rules_existing *ex)
{
	const char *p = text, *nl;
	int table = -1;
	char name[RULES_CHAIN_MAX];

	ensure_jumps(ex);
	while (*p) {
		size_t len;

		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (p[0] == '*') {
			table = -1;
			for (int t = 0; t < RULES_TABLE_COUNT; t++)
				if (len - 1 == strlen(table_names[t]) &&
				    strncmp(p + 1, table_names[t], len - 1) == 0)
					table = t;
		} else if (table >= 0 && p[0] == ':') {
			size_t n = strcspn(p + 1, " \n");

			if (is_ours(p + 1, n)) {
				memcpy(name, p + 1, n);
				name[n] = '\0';
				rules_existing_add(ex, (enum rules_table)table, name);
			}
		} else if (table >= 0 && len > 3 && strncmp(p, "-A ", 3) == 0) {
			count_jump(ex, (enum rules_table)table, p, len);
			note_jump_rule(ex, (enum rules_table)table, p, len);
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}

static const char *rule_comment(const struct ipt_entry *e)
{
	unsigned off = sizeof(struct ipt_entry);

	while (off < e->target_offset) {
		const struct xt_entry_match *m = (const void *)((const char *)e + off);

		if (m->u.match_size == 0)
			break;
		if (strcmp(m->u.user.name, "comment") == 0)
			return ((const struct xt_comment_info *)m->data)->comment;
		off += m->u.match_size;
	}
	return NULL;
}

static void read_table(struct xtc_handle *h, enum rules_table t, struct rules_existing *ex)
{
	const struct rules_jump *jumps;
	const char *chain;
	size_t n, i;

	jumps = rules_jumps(&n);
	for (chain = iptc_first_chain(h); chain; chain = iptc_next_chain(h)) {
		const struct ipt_entry *e;

		if (is_ours(chain, strlen(chain)))
			rules_existing_add(ex, t, chain);
		if (!iptc_builtin(chain, h))
			continue;
		for (e = iptc_first_rule(chain, h); e; e = iptc_next_rule(e, h)) {
			const char *target = iptc_get_target(e, h);
			const char *comment = rule_comment(e);

			if (!target || !comment)
				continue;
			for (i = 0; i < n; i++)
				if (jumps[i].table == t && strcmp(jumps[i].base, chain) == 0 &&
				    strcmp(jumps[i].target, target) == 0 &&
				    strcmp(jumps[i].comment, comment) == 0)
					ex->jump_count[i]++;
		}
	}
}

/*
 * The kernel lists the legacy tables that exist in this network namespace.
 * Opening one with libiptc would create it, so tables not listed are read as
 * empty without touching them.
 */
static bool legacy_table_exists(const char *table)
{
	char line[64];
	bool found = false;
	FILE *f = fopen("/proc/net/ip_tables_names", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = strcmp(line, table) == 0;
	}
	fclose(f);
	return found;
}

int chains_read_legacy(struct rules_existing *ex, struct errbuf *err)
{
	int t;

	memset(ex, 0, sizeof(*ex));
	ensure_jumps(ex);
	for (t = 0; t < RULES_TABLE_COUNT; t++) {
		struct xtc_handle *h;

		if (!legacy_table_exists(table_names[t]))
			continue;
		h = iptc_init(table_names[t]);

		if (!h) {
			/* Nothing has loaded the table yet: it is empty. */
			if (errno == ENOENT || errno == EINVAL)
				continue;
			errbuf_set(err, "reading the %s table: %s", table_names[t],
				   iptc_strerror(errno));
			rules_existing_fini(ex);
			return -EIO;
		}
		read_table(h, (enum rules_table)t, ex);
		iptc_free(h);
	}
	return 0;
}

/*
 * Only the two tables kproxy writes are dumped: a plain iptables-nft-save
 * would print every table of the host (mangle, raw, security and whatever
 * else is there), which costs time and memory and tells kproxy nothing.
 * iptables-save takes one -t at a time (a second one replaces the first).
 */
static const enum rules_table save_order[CHAINS_SAVE_TABLES] = {
	RULES_TABLE_NAT,
	RULES_TABLE_FILTER,
};

void chains_save_argv(enum restore_backend b, size_t i, const char *argv[4])
{
	argv[0] = restore_cmd(b, "save");
	argv[1] = "-t";
	argv[2] = table_names[save_order[i]];
	argv[3] = NULL;
}

int chains_read_save(enum restore_backend b, uint64_t timeout_ms, struct rules_existing *ex,
		     struct errbuf *err)
{
	struct strbuf out = STRBUF_INIT, errout = STRBUF_INIT;
	const char *argv[4];
	size_t i;
	int ret = 0;

	memset(ex, 0, sizeof(*ex));
	ensure_jumps(ex);
	for (i = 0; i < CHAINS_SAVE_TABLES; i++) {
		chains_save_argv(b, i, argv);
		/*
		 * iptables-legacy-save -t TABLE would create the table (and load
		 * its module) on a host that never used legacy: a table the
		 * kernel does not list holds nothing of kproxy's.
		 */
		if (b == RESTORE_BACKEND_LEGACY && !legacy_table_exists(argv[2]))
			continue;
		strbuf_reset(&out);
		strbuf_reset(&errout);
		if (restore_run_sync(argv, NULL, 0, timeout_ms, &out, &errout) != 0) {
			errbuf_set(err, "%s -t %s failed: %s", argv[0], argv[2],
				   strbuf_str(&errout));
			rules_existing_fini(ex);
			ret = -EIO;
			break;
		}
		chains_parse_save_add(strbuf_str(&out), ex);
	}
	strbuf_fini(&out);
	strbuf_fini(&errout);
	return ret;
}

size_t chains_count_rules(const char *text)
{
	const char *p = text;
	size_t n = 0;

	while (p && *p) {
		if (strncmp(p, "-A ", 3) == 0)
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

static size_t backend_rules(enum restore_backend b, struct strbuf *out)
{
	const char *argv[] = { restore_cmd(b, "save"), NULL };

	strbuf_reset(out);
	if (restore_run_sync(argv, NULL, 0, 60000, out, NULL) != 0)
		return 0;
	return chains_count_rules(strbuf_str(out));
}

const char *chains_kubelet_chain(const char *mangle_save)
{
	static const char *const kubelet_chains[] = { "KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY" };
	const char *p = mangle_save;
	size_t i, len;

	while (p && *p) {
		if (*p == ':') {
			len = strcspn(p + 1, " \n");
			for (i = 0; i < sizeof(kubelet_chains) / sizeof(kubelet_chains[0]); i++)
				if (len == strlen(kubelet_chains[i]) &&
				    strncmp(p + 1, kubelet_chains[i], len) == 0)
					return kubelet_chains[i];
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

enum restore_backend chains_pick_backend(const struct chains_backend_facts *f, struct strbuf *why)
{
	if (f->kubelet_chain) {
		strbuf_addf(why, "kubelet's %s chain is in the nft mangle table", f->kubelet_chain);
		return RESTORE_BACKEND_NFT;
	}
	if (f->legacy_rules > f->nft_rules) {
		strbuf_addf(why, "legacy holds %zu rules, nft %zu", f->legacy_rules, f->nft_rules);
		return RESTORE_BACKEND_LEGACY;
	}
	if (f->nft_rules > f->legacy_rules)
		strbuf_addf(why, "nft holds %zu rules, legacy %zu", f->nft_rules, f->legacy_rules);
	else
		strbuf_addf(why, "both backends hold %zu rules: nft is the default", f->nft_rules);
	return RESTORE_BACKEND_NFT;
}

enum restore_backend chains_detect_backend(struct strbuf *why)
{
	const char *mangle[] = { restore_cmd(RESTORE_BACKEND_NFT, "save"), "-t", "mangle", NULL };
	struct chains_backend_facts f = { 0 };
	struct strbuf out = STRBUF_INIT;

	if (restore_run_sync(mangle, NULL, 0, 60000, &out, NULL) == 0)
		f.kubelet_chain = chains_kubelet_chain(strbuf_str(&out));
	/* kubelet's chain settles it: the rule counts are not needed. */
	if (!f.kubelet_chain) {
		f.nft_rules = backend_rules(RESTORE_BACKEND_NFT, &out);
		f.legacy_rules = backend_rules(RESTORE_BACKEND_LEGACY, &out);
	}
	strbuf_fini(&out);
	return chains_pick_backend(&f, why);
}
