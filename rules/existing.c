// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The record of what the kernel holds, and the cleanup payload built from
 * it. Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "proxy/xalloc.h"

void rules_existing_add(struct rules_existing *ex, enum rules_table t, const char *chain)
{
	if (ex->n_chains[t] == ex->cap_chains[t]) {
		ex->cap_chains[t] = ex->cap_chains[t] ? 2 * ex->cap_chains[t] : 64;
		ex->chains[t] =
			xreallocarray(ex->chains[t], ex->cap_chains[t], sizeof(*ex->chains[t]));
	}
	{
		size_t len = strnlen(chain, RULES_CHAIN_MAX - 1);
		char *name = ex->chains[t][ex->n_chains[t]++].name;

		memcpy(name, chain, len);
		name[len] = '\0';
		ex->chains[t][ex->n_chains[t] - 1].hash = 0;
	}
}

void rules_existing_add_jump_rule(struct rules_existing *ex, enum rules_table t, const char *rule,
				  size_t len)
{
	ex->jump_rules[t] = xreallocarray(ex->jump_rules[t], ex->n_jump_rules[t] + 1,
					  sizeof(*ex->jump_rules[t]));
	ex->jump_rules[t][ex->n_jump_rules[t]++] = xstrndup(rule, len);
}

void rules_existing_fini(struct rules_existing *ex)
{
	size_t i;
	int t;

	for (t = 0; t < RULES_TABLE_COUNT; t++) {
		free(ex->chains[t]);
		free(ex->hashed[t]);
		for (i = 0; i < ex->n_jump_rules[t]; i++)
			free(ex->jump_rules[t][i]);
		free(ex->jump_rules[t]);
	}
	free(ex->jump_count);
	rules_memo_free(ex->memo);
	memset(ex, 0, sizeof(*ex));
}

void rules_existing_copy(struct rules_existing *dst, const struct rules_existing *src)
{
	size_t i, n;
	int t;

	rules_existing_fini(dst);
	for (t = 0; t < RULES_TABLE_COUNT; t++) {
		for (i = 0; i < src->n_chains[t]; i++)
			rules_existing_add(dst, (enum rules_table)t, src->chains[t][i].name);
		for (i = 0; i < src->n_jump_rules[t]; i++)
			rules_existing_add_jump_rule(dst, (enum rules_table)t,
						     src->jump_rules[t][i],
						     strlen(src->jump_rules[t][i]));
		if (src->n_hashed[t]) {
			dst->hashed[t] = xcalloc(src->n_hashed[t], sizeof(*dst->hashed[t]));
			memcpy(dst->hashed[t], src->hashed[t],
			       src->n_hashed[t] * sizeof(*dst->hashed[t]));
			dst->n_hashed[t] = src->n_hashed[t];
		}
	}
	if (src->jump_count) {
		rules_jumps(&n);
		dst->jump_count = xcalloc(n, sizeof(*dst->jump_count));
		memcpy(dst->jump_count, src->jump_count, n * sizeof(*dst->jump_count));
	}
}

/*
 * Each jump is deleted by the text iptables-save printed for it, whatever it
 * matches: an older kproxy's jump or a hand-made "-A INPUT -s 10.0.0.0/8 -j
 * KPROXY-FIREWALL" would otherwise keep its target chain in use, and the
 * chain's -X would fail the whole restore.
 */
void rules_build_cleanup(const struct rules_existing *existing, struct strbuf *out)
{
	static const char *const table_names[RULES_TABLE_COUNT] = { "filter", "nat" };
	size_t i;
	int t;

	for (t = 0; t < RULES_TABLE_COUNT; t++) {
		if (!existing->n_chains[t] && !existing->n_jump_rules[t])
			continue;
		strbuf_addf(out, "*%s\n", table_names[t]);
		/* Flushing every chain first drops all references between them. */
		for (i = 0; i < existing->n_chains[t]; i++)
			strbuf_addf(out, ":%s - [0:0]\n", existing->chains[t][i].name);
		for (i = 0; i < existing->n_jump_rules[t]; i++)
			strbuf_addf(out, "-D %s\n", existing->jump_rules[t][i]);
		for (i = 0; i < existing->n_chains[t]; i++)
			strbuf_addf(out, "-X %s\n", existing->chains[t][i].name);
		strbuf_adds(out, "COMMIT\n");
	}
}
