// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzes the path from API text to kernel rules: decode_list_parse() -> model
 * -> rules_build(), under a few fixed node configurations. Whatever the
 * objects hold, the payload must be something iptables-restore takes as
 * kproxy means it: only table headers, chain lines, -A/-I/-D/-X rules and
 * COMMIT, every byte printable ASCII (so no hostile text can start a line or
 * an argument), accepted by the test tracer (which refuses what
 * iptables-restore would refuse), and the same bytes when built twice. The
 * model's JSON dump must parse as JSON.
 *
 * Each configuration is built against an empty kernel, then against the
 * kernel as the first build leaves it plus stale chains (which must be
 * flushed and deleted), then with doubled base-chain jumps (-D lines, which
 * the tracer does not model, so only the line rules are checked there).
 */
#include <cjson/cJSON.h>

#include "apiwatch/decode.h"
#include "featuregate/featuregate.h"
#include "proxy/model.h"
#include "rules/rules.h"
#include "test/fuzz/fuzz.h"
#include "test/unit/lib/tracer.h"

#define NODE_NAME "node-a"

/**
 * struct fixed_config - one node configuration the payload is built under.
 * @local_addrs: the node's addresses when the model has no Node of its own.
 * @dispatch_split: 1 makes KPROXY-SERVICES dispatch through buckets from two
 *	service addresses on, so that small inputs reach that code.
 */
static const struct fixed_config {
	const char *name;
	enum k8s_family family;
	const char *cluster_cidr;
	bool masquerade_all;
	unsigned masquerade_bit;
	bool localhost_nodeports;
	const char *nodeport_cidrs[3];
	bool nodeport_primary;
	const char *gates;
	const char *local_addrs[2];
	size_t dispatch_split;
} configs[] = {
	{ .name = "default",
	  .family = K8S_FAMILY_IPV4,
	  .cluster_cidr = "198.18.0.0/16",
	  .masquerade_bit = 14,
	  .localhost_nodeports = true,
	  .gates = "",
	  .local_addrs = { "192.0.2.10" },
	  .dispatch_split = 1000 },
	{ .name = "everything on",
	  .family = K8S_FAMILY_IPV4,
	  .masquerade_all = true,
	  .masquerade_bit = 31,
	  .localhost_nodeports = true,
	  .nodeport_cidrs = { "192.0.2.0/24", "127.0.0.0/8" },
	  .gates = "AllAlpha=true,AllBeta=true",
	  .local_addrs = { "192.0.2.10", "198.51.100.7" },
	  .dispatch_split = 1 },
	{ .name = "ipv6 primary",
	  .family = K8S_FAMILY_IPV6,
	  .cluster_cidr = "fd00:10::/48",
	  .nodeport_primary = true,
	  .gates = "AllBeta=false",
	  .local_addrs = { "2001:db8::10" } },
};

#define N_CONFIGS (sizeof(configs) / sizeof(configs[0]))

/* The parsed form of configs[], made once. */
static struct prepared {
	struct k8s_cidr cluster_cidr;
	struct k8s_cidr nodeport_cidrs[3];
	size_t n_nodeport_cidrs;
	struct k8s_addr local_addrs[2];
	size_t n_local_addrs;
	struct featuregate_set gates;
} prepared[N_CONFIGS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i, k;

	(void)argc;
	(void)argv;
	for (i = 0; i < N_CONFIGS; i++) {
		struct prepared *p = &prepared[i];

		if (configs[i].cluster_cidr &&
		    !k8s_cidr_parse(configs[i].cluster_cidr, &p->cluster_cidr))
			abort();
		for (k = 0; configs[i].nodeport_cidrs[k]; k++)
			if (!k8s_cidr_parse(configs[i].nodeport_cidrs[k],
					    &p->nodeport_cidrs[p->n_nodeport_cidrs++]))
				abort();
		for (k = 0; k < 2 && configs[i].local_addrs[k]; k++)
			if (!k8s_addr_parse(configs[i].local_addrs[k],
					    &p->local_addrs[p->n_local_addrs++]))
				abort();
		featuregate_init(&p->gates);
		if (featuregate_parse(&p->gates, configs[i].gates, NULL) != 0)
			abort();
	}
	return 0;
}

static void rules_config_fill(struct rules_config *rc, size_t i, const struct model *m)
{
	const struct k8s_node *node = model_node(m);

	memset(rc, 0, sizeof(*rc));
	rc->family = configs[i].family;
	rc->cluster_cidr = configs[i].cluster_cidr ? &prepared[i].cluster_cidr : NULL;
	rc->masquerade_all = configs[i].masquerade_all;
	rc->masquerade_bit = configs[i].masquerade_bit;
	rc->localhost_nodeports = configs[i].localhost_nodeports;
	rc->nodeport_cidrs = prepared[i].nodeport_cidrs;
	rc->n_nodeport_cidrs = prepared[i].n_nodeport_cidrs;
	rc->nodeport_primary = configs[i].nodeport_primary;
	rc->gates = &prepared[i].gates;
	rc->dispatch_split = configs[i].dispatch_split;
	if (node && node->n_addrs) {
		rc->local_addrs = node->addrs;
		rc->n_local_addrs = node->n_addrs;
	} else {
		rc->local_addrs = prepared[i].local_addrs;
		rc->n_local_addrs = prepared[i].n_local_addrs;
	}
}

static bool is_chain_name(const char *s, size_t n)
{
	size_t i;

	if (n >= RULES_CHAIN_MAX || n <= strlen(RULES_CHAIN_PREFIX) ||
	    strncmp(s, RULES_CHAIN_PREFIX, strlen(RULES_CHAIN_PREFIX)) != 0)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Every line is one kproxy writes, inside a table, printable ASCII only. */
static void check_lines(const struct strbuf *payload, const char *what)
{
	const char *p = strbuf_str(payload), *end = p + payload->len, *nl;
	size_t n, line = 0;
	bool in_table = false;

	FUZZ_ASSERT(strlen(p) == payload->len, "%s: payload holds a NUL byte", what);
	FUZZ_ASSERT(payload->len > 0 && end[-1] == '\n', "%s: payload does not end a line", what);
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)(nl - p);
		line++;
		FUZZ_ASSERT(fuzz_printable(p, n),
			    "%s: line %zu has a byte outside printable ASCII: %.*s", what, line,
			    (int)n, p);
		if (n > 0 && p[0] == '*') {
			FUZZ_ASSERT(!in_table, "%s: line %zu: table inside a table", what, line);
			FUZZ_ASSERT((n == 7 && memcmp(p, "*filter", 7) == 0) ||
					    (n == 4 && memcmp(p, "*nat", 4) == 0),
				    "%s: line %zu: table %.*s", what, line, (int)n, p);
			in_table = true;
			continue;
		}
		FUZZ_ASSERT(in_table, "%s: line %zu outside a table: %.*s", what, line, (int)n, p);
		if (n == 6 && memcmp(p, "COMMIT", 6) == 0) {
			in_table = false;
		} else if (n > 0 && p[0] == ':') {
			FUZZ_ASSERT(n > 9 && memcmp(p + n - 8, " - [0:0]", 8) == 0 &&
					    is_chain_name(p + 1, n - 9),
				    "%s: line %zu: chain line %.*s", what, line, (int)n, p);
		} else {
			FUZZ_ASSERT(n > 3 && p[0] == '-' && strchr("AIDX", p[1]) && p[2] == ' ' &&
					    p[3] != ' ',
				    "%s: line %zu: not a rule: %.*s", what, line, (int)n, p);
		}
	}
	FUZZ_ASSERT(!in_table, "%s: last table has no COMMIT", what);
}

static void check_traces(const struct strbuf *payload, const char *what)
{
	struct errbuf err;
	struct tracer *t;

	memset(&err, 0, sizeof(err));
	t = tracer_new(strbuf_str(payload), &err);
	FUZZ_ASSERT(t != NULL, "%s: the tracer refuses the payload: %s", what, err.msg);
	tracer_free(t);
}

static void build_all(const struct model *m, size_t i)
{
	struct rules_output first, second, stale, dup;
	struct rules_existing ex;
	struct rules_config rc;
	size_t n_jumps, k;

	rules_config_fill(&rc, i, m);
	rules_build(m, &rc, NULL, true, &first);
	rules_build(m, &rc, NULL, true, &second);
	FUZZ_ASSERT(first.payload.len == second.payload.len &&
			    memcmp(strbuf_str(&first.payload), strbuf_str(&second.payload),
				   first.payload.len) == 0,
		    "%s: two builds of one model differ", configs[i].name);
	FUZZ_ASSERT(strcmp(strbuf_str(&first.warnings), strbuf_str(&second.warnings)) == 0,
		    "%s: warnings of two builds differ", configs[i].name);
	check_lines(&first.payload, configs[i].name);
	check_traces(&first.payload, configs[i].name);

	/* The kernel as the first build left it, plus chains nobody uses any more. */
	memset(&ex, 0, sizeof(ex));
	rules_existing_copy(&ex, &first.after);
	rules_existing_add(&ex, RULES_TABLE_NAT, "KPROXY-SVC-STALESTALESTALE00");
	rules_existing_add(&ex, RULES_TABLE_NAT, "KPROXY-SEP-STALESTALESTALE00");
	rules_existing_add(&ex, RULES_TABLE_FILTER, "KPROXY-STALE");
	rules_existing_add(&ex, RULES_TABLE_FILTER, "OTHER-CHAIN");
	rules_build(m, &rc, &ex, true, &stale);
	check_lines(&stale.payload, configs[i].name);
	check_traces(&stale.payload, configs[i].name);
	FUZZ_ASSERT(strstr(strbuf_str(&stale.payload), "\n-X KPROXY-SVC-STALESTALESTALE00\n") &&
			    strstr(strbuf_str(&stale.payload), "\n-X KPROXY-STALE\n") &&
			    !strstr(strbuf_str(&stale.payload), "\n-X OTHER-CHAIN\n"),
		    "%s: stale chains not deleted as they should be", configs[i].name);

	rules_jumps(&n_jumps);
	for (k = 0; k < n_jumps; k++)
		ex.jump_count[k] = 2;
	rules_build(m, &rc, &ex, true, &dup);
	check_lines(&dup.payload, configs[i].name);

	rules_existing_fini(&ex);
	rules_output_fini(&first);
	rules_output_fini(&second);
	rules_output_fini(&stale);
	rules_output_fini(&dup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decode_list list;
	struct strbuf json = STRBUF_INIT;
	struct errbuf err;
	struct model *m;
	cJSON *dump;
	size_t i;

	if (decode_list_parse((const char *)data, size, &list, &err) != 0)
		return 0;
	m = model_new(NODE_NAME);
	for (i = 0; i < list.n_objects; i++)
		(void)model_object_update(m, &list.objects[i], &err);
	decode_list_fini(&list);

	for (i = 0; i < N_CONFIGS; i++)
		build_all(m, i);

	model_format_json(m, &json);
	dump = cJSON_ParseWithLength(strbuf_str(&json), json.len);
	FUZZ_ASSERT(dump != NULL, "the model dump is not JSON: %s", strbuf_str(&json));
	cJSON_Delete(dump);
	strbuf_fini(&json);
	model_free(m);
	return 0;
}
