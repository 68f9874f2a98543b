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
static void count_jump(struct rules_existing *ex, enum rules_table t, const char *line,
		       size_t len)
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
	for (i = 0; i < CHAINS_SAVE_TABLES; i++) {
		chains_save_argv(b, i, argv);
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

enum restore_backend chains_detect_backend(struct strbuf *why)
{
	const char *mangle[] = { restore_cmd(RESTORE_BACKEND_NFT, "save"), "-t", "mangle", NULL };
	struct strbuf out = STRBUF_INIT;
	enum restore_backend b = RESTORE_BACKEND_NFT;
	size_t nft, legacy;

	if (restore_run_sync(mangle, NULL, 0, 60000, &out, NULL) == 0 &&
	    (strstr(strbuf_str(&out), ":KUBE-IPTABLES-HINT ") ||
	     strstr(strbuf_str(&out), ":KUBE-KUBELET-CANARY "))) {
		strbuf_adds(why, "kubelet's hint chain is in the nft mangle table");
		goto out;
	}
	nft = backend_rules(RESTORE_BACKEND_NFT, &out);
	legacy = backend_rules(RESTORE_BACKEND_LEGACY, &out);
	if (legacy > nft) {
		b = RESTORE_BACKEND_LEGACY;
		strbuf_addf(why, "legacy holds %zu rules, nft %zu", legacy, nft);
	} else {
		strbuf_addf(why, "nft holds %zu rules, legacy %zu", nft, legacy);
	}
out:
	strbuf_fini(&out);
	return b;
}
