// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzes proxy/config: the input, split on NUL bytes, is the command line
 * after "kproxy". config_parse_argv() must refuse it with a message or give a
 * configuration that keeps every promise of the flag table (ranges, counts, a
 * valid node name, the cross-flag rules), and a second parse into a fresh
 * config must give the same answer: getopt's state is global and the parser
 * resets it. Each argument is also tried as a duration.
 */
#include <errno.h>

#include "apiwatch/k8s.h"
#include "proxy/config.h"
#include "test/fuzz/fuzz.h"

#define MAX_ARGS 64

struct args {
	char *buf;
	char *argv[MAX_ARGS + 2];
	int argc;
};

/* Splits a copy of the input at NUL bytes into argv[1..] (at most MAX_ARGS); argv[0] is "kproxy". */
static void args_split(struct args *a, const uint8_t *data, size_t size)
{
	char *p, *end;

	a->buf = fuzz_strndup(data, size);
	a->argv[0] = "kproxy";
	a->argc = 1;
	end = a->buf + size;
	/* An empty input is no argument at all, not one empty argument. */
	for (p = a->buf; size && p <= end && a->argc <= MAX_ARGS; p += strlen(p) + 1)
		a->argv[a->argc++] = p;
	a->argv[a->argc] = NULL;
}

static void check_config(const struct config *cfg)
{
	bool full = cfg->mode != CONFIG_MODE_HELP && cfg->mode != CONFIG_MODE_VERSION;

	FUZZ_ASSERT(cfg->mode <= CONFIG_MODE_VERSION, "mode %d", (int)cfg->mode);
	FUZZ_ASSERT(cfg->n_cluster_cidrs <= CONFIG_MAX_CIDRS, "%zu cluster CIDRs",
		    cfg->n_cluster_cidrs);
	FUZZ_ASSERT(cfg->n_nodeport_cidrs <= CONFIG_MAX_CIDRS, "%zu nodeport CIDRs",
		    cfg->n_nodeport_cidrs);
	FUZZ_ASSERT(cfg->masquerade_bit <= 31, "masquerade bit %u", cfg->masquerade_bit);
	FUZZ_ASSERT(cfg->verbosity >= 0 && cfg->verbosity <= 10, "verbosity %d", cfg->verbosity);
	FUZZ_ASSERT(cfg->backend <= CONFIG_BACKEND_LEGACY, "backend %d", (int)cfg->backend);
	if (!full)
		return;
	FUZZ_ASSERT(cfg->hostname && k8s_is_dns1123_subdomain(cfg->hostname), "node name \"%s\"",
		    cfg->hostname ? cfg->hostname : "(null)");
	FUZZ_ASSERT(cfg->min_sync_period_ms <= cfg->sync_period_ms, "min sync %llu > sync %llu",
		    (unsigned long long)cfg->min_sync_period_ms,
		    (unsigned long long)cfg->sync_period_ms);
	FUZZ_ASSERT(!cfg->from_file || (!cfg->master && !cfg->kubeconfig),
		    "--from-file together with a server");
}

static void compare(const struct config *a, const struct config *b)
{
	FUZZ_ASSERT(a->mode == b->mode, "mode differs");
	FUZZ_ASSERT((a->hostname == NULL) == (b->hostname == NULL) &&
			    (!a->hostname || strcmp(a->hostname, b->hostname) == 0),
		    "node name differs");
	FUZZ_ASSERT(a->n_cluster_cidrs == b->n_cluster_cidrs &&
			    memcmp(a->cluster_cidrs, b->cluster_cidrs,
				   a->n_cluster_cidrs * sizeof(a->cluster_cidrs[0])) == 0,
		    "cluster CIDRs differ");
	FUZZ_ASSERT(a->n_nodeport_cidrs == b->n_nodeport_cidrs, "nodeport CIDRs differ");
	FUZZ_ASSERT(a->masquerade_bit == b->masquerade_bit &&
			    a->masquerade_all == b->masquerade_all,
		    "masquerade differs");
	FUZZ_ASSERT(memcmp(&a->gates, &b->gates, sizeof(a->gates)) == 0, "gates differ");
	FUZZ_ASSERT(a->sync_period_ms == b->sync_period_ms &&
			    a->min_sync_period_ms == b->min_sync_period_ms,
		    "sync periods differ");
	FUZZ_ASSERT(a->verbosity == b->verbosity, "verbosity differs");
}

static int parse(const uint8_t *data, size_t size, struct config *cfg, struct errbuf *err)
{
	struct args a;
	int rc;

	args_split(&a, data, size);
	config_init(cfg);
	memset(err, 0x5a, sizeof(*err));
	rc = config_parse_argv(cfg, a.argc, a.argv, err);
	free(a.buf);
	return rc;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The default node name must not depend on the machine the fuzzer runs on. */
	setenv("NODE_NAME", "fuzz-node", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config first, second;
	struct errbuf err1, err2;
	struct args a;
	uint64_t ms;
	int rc1, rc2, i;

	rc1 = parse(data, size, &first, &err1);
	rc2 = parse(data, size, &second, &err2);
	FUZZ_ASSERT(rc1 == rc2, "second parse returned %d, first %d", rc2, rc1);
	if (rc1 == 0) {
		check_config(&first);
		compare(&first, &second);
	} else {
		FUZZ_ASSERT(rc1 == -EINVAL, "returned %d", rc1);
		FUZZ_ASSERT(fuzz_msg_terminated(&err1), "message not NUL-terminated");
		FUZZ_ASSERT(err1.msg[0] != '\0', "refused without a message");
		FUZZ_ASSERT(strcmp(err1.msg, err2.msg) == 0, "messages differ: \"%s\" / \"%s\"",
			    err1.msg, err2.msg);
	}
	config_fini(&first);
	config_fini(&second);

	args_split(&a, data, size);
	for (i = 1; i < a.argc; i++)
		(void)config_parse_duration(a.argv[i], &ms);
	free(a.buf);
	return 0;
}
