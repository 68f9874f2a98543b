// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * config: every flag of the command-line contract, its defaults, both getopt
 * forms and the exact error for every kind of bad value.
 *
 * Each case runs config_parse_argv() on a fresh config and compares the result
 * through a text dump ("key=value" lines), so a case names only the lines it
 * is about.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/config.h"
#include "proxy/strbuf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_ARGS  12
#define MAX_LINES 4

/* The node name every case sees in $NODE_NAME unless it sets its own. */
#define ENV_NODE_NAME "node-a"

#define NODE_NAME_RULE                                                                             \
	"not a valid node name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.')"
#define NOT_DURATION "not a duration (examples: 1s, 500ms, 1m30s)"
#define S10	     "aaaaaaaaaa" /* ten bytes, for long values */

#define KNOWN_GATES                                                                                \
	"AllAlpha=true|false (ALPHA - default=false)\n"                                            \
	"AllBeta=true|false (BETA - default=false)\n"                                              \
	"AllowExtTrafficLocalEndpoints=true|false (ALPHA - default=false)\n"                       \
	"LoadBalancerIPMode=true|false (BETA - default=true)\n"                                    \
	"ProxyTerminatingEndpoints=true|false (GA - default=true)\n"                               \
	"ServiceInternalTrafficPolicy=true|false (GA - default=true)\n"                            \
	"UDPConntrackCleanup=true|false (BETA - default=true)"

/* A --feature-gates error: the value, the reason, then the list of gates. */
#define GATES_ERR(value, reason)                                                                   \
	"invalid value \"" value "\" for --feature-gates: " reason "\nknown gates:\n" KNOWN_GATES

#define GATES_PREFIX "gates=AllowExtTrafficLocalEndpoints="
#define GATES_REST                                                                                 \
	",LoadBalancerIPMode=true,ProxyTerminatingEndpoints=true,"                                 \
	"ServiceInternalTrafficPolicy=true,UDPConntrackCleanup=true"

static const char *mode_name(enum config_mode mode)
{
	switch (mode) {
	case CONFIG_MODE_RUN:
		return "run";
	case CONFIG_MODE_DRY_RUN:
		return "dry-run";
	case CONFIG_MODE_CLEANUP:
		return "cleanup";
	case CONFIG_MODE_HELP:
		return "help";
	case CONFIG_MODE_VERSION:
		return "version";
	}
	return "?";
}

static const char *backend_name(enum config_backend backend)
{
	switch (backend) {
	case CONFIG_BACKEND_AUTO:
		return "auto";
	case CONFIG_BACKEND_NFT:
		return "nft";
	case CONFIG_BACKEND_LEGACY:
		return "legacy";
	}
	return "?";
}

static void dump_cidrs(struct strbuf *out, const char *key, const struct k8s_cidr *cidrs, size_t n)
{
	char buf[K8S_ADDR_STRLEN];
	size_t i;

	strbuf_addf(out, "%s=", key);
	for (i = 0; i < n; i++)
		strbuf_addf(out, "%s%s", i ? "," : "", k8s_cidr_format(&cidrs[i], buf));
	strbuf_addc(out, '\n');
}

static void dump_hostport(struct strbuf *out, const char *key, const struct config_hostport *hp)
{
	char buf[K8S_ADDR_STRLEN];

	if (!hp->enabled) {
		strbuf_addf(out, "%s=off\n", key);
		return;
	}
	k8s_addr_format(&hp->addr, buf);
	if (hp->addr.family == K8S_FAMILY_IPV6)
		strbuf_addf(out, "%s=[%s]:%u\n", key, buf, hp->port);
	else
		strbuf_addf(out, "%s=%s:%u\n", key, buf, hp->port);
}

static const char *str_or_dash(const char *s)
{
	return s ? s : "-";
}

static const char *bool_name(bool b)
{
	return b ? "true" : "false";
}

/* Every field of cfg as "key=value" lines. */
static void dump(const struct config *cfg, struct strbuf *out)
{
	strbuf_addf(out, "mode=%s\n", mode_name(cfg->mode));
	strbuf_addf(out, "master=%s\n", str_or_dash(cfg->master));
	strbuf_addf(out, "kubeconfig=%s\n", str_or_dash(cfg->kubeconfig));
	strbuf_addf(out, "from_file=%s\n", str_or_dash(cfg->from_file));
	strbuf_addf(out, "hostname=%s\n", str_or_dash(cfg->hostname));
	dump_cidrs(out, "cluster_cidrs", cfg->cluster_cidrs, cfg->n_cluster_cidrs);
	dump_cidrs(out, "nodeport_cidrs", cfg->nodeport_cidrs, cfg->n_nodeport_cidrs);
	strbuf_addf(out, "nodeport_primary=%s\n", bool_name(cfg->nodeport_primary));
	strbuf_addf(out, "masquerade_all=%s\n", bool_name(cfg->masquerade_all));
	strbuf_addf(out, "masquerade_bit=%u\n", cfg->masquerade_bit);
	strbuf_addf(out, "localhost_nodeports=%s\n", bool_name(cfg->localhost_nodeports));
	strbuf_adds(out, "gates=");
	featuregate_format(&cfg->gates, out);
	strbuf_addc(out, '\n');
	strbuf_addf(out, "sync_period_ms=%llu\n", (unsigned long long)cfg->sync_period_ms);
	strbuf_addf(out, "min_sync_period_ms=%llu\n", (unsigned long long)cfg->min_sync_period_ms);
	strbuf_addf(out, "restore_timeout_ms=%llu\n", (unsigned long long)cfg->restore_timeout_ms);
	strbuf_addf(out, "dispatch_split=%u\n", cfg->dispatch_split);
	strbuf_addf(out, "backend=%s\n", backend_name(cfg->backend));
	dump_hostport(out, "healthz", &cfg->healthz);
	dump_hostport(out, "metrics", &cfg->metrics);
	strbuf_addf(out, "debug_handlers=%s\n", bool_name(cfg->debug_handlers));
	strbuf_addf(out, "verbosity=%d\n", cfg->verbosity);
}

static const char defaults_dump[] =
	"mode=run\n"
	"master=-\n"
	"kubeconfig=-\n"
	"from_file=-\n"
	"hostname=" ENV_NODE_NAME "\n"
	"cluster_cidrs=\n"
	"nodeport_cidrs=\n"
	"nodeport_primary=false\n"
	"masquerade_all=false\n"
	"masquerade_bit=14\n"
	"localhost_nodeports=false\n"
	"gates=AllowExtTrafficLocalEndpoints=false,LoadBalancerIPMode=true,"
	"ProxyTerminatingEndpoints=true,ServiceInternalTrafficPolicy=true,UDPConntrackCleanup="
	"true\n"
	"sync_period_ms=30000\n"
	"min_sync_period_ms=1000\n"
	"restore_timeout_ms=300000\n"
	"dispatch_split=1000\n"
	"backend=auto\n"
	"healthz=0.0.0.0:10256\n"
	"metrics=127.0.0.1:10249\n"
	"debug_handlers=true\n"
	"verbosity=0\n";

/**
 * struct argv_case - one command line.
 * @args: the arguments after argv[0], NULL-terminated.
 * @node_name: $NODE_NAME for this case; NULL means ENV_NODE_NAME.
 * @err: the exact error, or NULL when the command line must be accepted.
 * @want: lines the dump must contain (only checked on success).
 */
struct argv_case {
	const char *name;
	const char *args[MAX_ARGS];
	const char *node_name;
	const char *err;
	const char *want[MAX_LINES];
};

static const struct argv_case cases[] = {
	/* Source of cluster state. */
	{ "no flags", { NULL }, NULL, NULL, { "mode=run", "master=-", "hostname=node-a" } },
	{ "master, two words",
	  { "--master", "https://10.0.0.1:6443" },
	  NULL,
	  NULL,
	  { "master=https://10.0.0.1:6443" } },
	{ "master, one word",
	  { "--master=http://api.example:8080" },
	  NULL,
	  NULL,
	  { "master=http://api.example:8080" } },
	{ "master, last wins",
	  { "--master=http://a", "--master=https://b" },
	  NULL,
	  NULL,
	  { "master=https://b" } },
	{ "master, wrong scheme",
	  { "--master=ftp://x" },
	  .err = "invalid value \"ftp://x\" for --master: must start with http:// or https:// and "
		 "name a "
		 "host" },
	{ "master, no scheme",
	  { "--master", "10.0.0.1:6443" },
	  .err = "invalid value \"10.0.0.1:6443\" for --master: must start with http:// or "
		 "https:// and "
		 "name a host" },
	{ "master, no host",
	  { "--master=https://" },
	  .err = "invalid value \"https://\" for --master: must start with http:// or https:// and "
		 "name "
		 "a host" },
	{ "kubeconfig",
	  { "--kubeconfig", "/etc/kproxy/kubeconfig" },
	  NULL,
	  NULL,
	  { "kubeconfig=/etc/kproxy/kubeconfig" } },
	{ "kubeconfig, empty",
	  { "--kubeconfig=" },
	  .err = "invalid value \"\" for --kubeconfig: must not be empty" },
	{ "master with kubeconfig",
	  { "--kubeconfig=/k", "--master=https://m" },
	  NULL,
	  NULL,
	  { "kubeconfig=/k", "master=https://m" } },
	{ "from-file", { "--from-file=state.json" }, NULL, NULL, { "from_file=state.json" } },
	{ "from-file with master",
	  { "--from-file=state.json", "--master=https://m" },
	  .err = "--from-file cannot be used with --master or --kubeconfig" },
	{ "from-file with kubeconfig",
	  { "--kubeconfig", "/k", "--from-file", "s.json" },
	  .err = "--from-file cannot be used with --master or --kubeconfig" },

	/* Node name. */
	{ "hostname from NODE_NAME",
	  { NULL },
	  "node-7.example",
	  NULL,
	  { "hostname=node-7.example" } },
	{ "hostname-override beats NODE_NAME",
	  { "--hostname-override", "node-b" },
	  "node-c",
	  NULL,
	  { "hostname=node-b" } },
	{ "hostname-override, one word",
	  { "--hostname-override=n1.zone-a.example" },
	  NULL,
	  NULL,
	  { "hostname=n1.zone-a.example" } },
	{ "hostname-override, upper case",
	  { "--hostname-override=Node-B" },
	  .err = "invalid value \"Node-B\" for --hostname-override: " NODE_NAME_RULE },
	{ "hostname-override, underscore",
	  { "--hostname-override", "node_b" },
	  .err = "invalid value \"node_b\" for --hostname-override: " NODE_NAME_RULE },
	{ "hostname-override, empty",
	  { "--hostname-override=" },
	  .err = "invalid value \"\" for --hostname-override: " NODE_NAME_RULE },
	{ "invalid NODE_NAME",
	  { NULL },
	  .node_name = "Node_A",
	  .err = "invalid value \"Node_A\" in $NODE_NAME: " NODE_NAME_RULE
		 "; set --hostname-override" },
	{ "invalid NODE_NAME, override given",
	  { "--hostname-override=ok" },
	  "Node_A",
	  NULL,
	  { "hostname=ok" } },

	/* --cluster-cidr */
	{ "cluster-cidr",
	  { "--cluster-cidr", "10.244.0.0/16" },
	  NULL,
	  NULL,
	  { "cluster_cidrs=10.244.0.0/16" } },
	{ "cluster-cidr, host bits cleared",
	  { "--cluster-cidr=10.244.1.2/16" },
	  NULL,
	  NULL,
	  { "cluster_cidrs=10.244.0.0/16" } },
	{ "cluster-cidr, dual stack with blanks",
	  { "--cluster-cidr= 10.244.0.0/16 , fd00:10::/56 " },
	  NULL,
	  NULL,
	  { "cluster_cidrs=10.244.0.0/16,fd00:10::/56" } },
	{ "cluster-cidr, empty", { "--cluster-cidr=" }, NULL, NULL, { "cluster_cidrs=" } },
	{ "cluster-cidr, empty clears",
	  { "--cluster-cidr=10.0.0.0/8", "--cluster-cidr=" },
	  NULL,
	  NULL,
	  { "cluster_cidrs=" } },
	{ "cluster-cidr, last wins",
	  { "--cluster-cidr=10.0.0.0/8", "--cluster-cidr=fd00::/8" },
	  NULL,
	  NULL,
	  { "cluster_cidrs=fd00::/8" } },
	{ "cluster-cidr, prefix too long",
	  { "--cluster-cidr=10.0.0.0/33" },
	  .err = "invalid value \"10.0.0.0/33\" for --cluster-cidr: not a CIDR" },
	{ "cluster-cidr, no prefix",
	  { "--cluster-cidr", "10.0.0.0" },
	  .err = "invalid value \"10.0.0.0\" for --cluster-cidr: not a CIDR" },
	{ "cluster-cidr, bad item",
	  { "--cluster-cidr=10.0.0.0/8,bad" },
	  .err = "invalid value \"10.0.0.0/8,bad\" for --cluster-cidr: \"bad\" is not a CIDR" },
	{ "cluster-cidr, two of a family",
	  { "--cluster-cidr=10.244.0.0/16,10.0.0.0/8" },
	  .err = "invalid value \"10.244.0.0/16,10.0.0.0/8\" for --cluster-cidr: one CIDR, or one "
		 "of each family (10.244.0.0/16,fd00:10:244::/56), not two IPv4 CIDRs" },
	{ "cluster-cidr, two IPv6 after an IPv4",
	  { "--cluster-cidr=fd00::/8,10.0.0.0/8,fd01::/16" },
	  .err = "invalid value \"fd00::/8,10.0.0.0/8,fd01::/16\" for --cluster-cidr: one CIDR, or "
		 "one of each family (10.244.0.0/16,fd00:10:244::/56), not two IPv6 CIDRs" },
	{ "cluster-cidr, empty item",
	  { "--cluster-cidr=10.0.0.0/8," },
	  .err = "invalid value \"10.0.0.0/8,\" for --cluster-cidr: \"\" is not a CIDR" },

	/* --nodeport-addresses */
	{ "nodeport-addresses default",
	  { NULL },
	  NULL,
	  NULL,
	  { "nodeport_cidrs=", "nodeport_primary=false" } },
	{ "nodeport-addresses primary",
	  { "--nodeport-addresses=primary" },
	  NULL,
	  NULL,
	  { "nodeport_cidrs=", "nodeport_primary=true" } },
	{ "nodeport-addresses primary, blanks",
	  { "--nodeport-addresses", " primary " },
	  NULL,
	  NULL,
	  { "nodeport_primary=true" } },
	{ "nodeport-addresses CIDRs",
	  { "--nodeport-addresses=192.0.2.0/24,2001:db8::/64" },
	  NULL,
	  NULL,
	  { "nodeport_cidrs=192.0.2.0/24,2001:db8::/64", "nodeport_primary=false" } },
	{ "nodeport-addresses primary replaces CIDRs",
	  { "--nodeport-addresses=192.0.2.0/24", "--nodeport-addresses=primary" },
	  NULL,
	  NULL,
	  { "nodeport_cidrs=", "nodeport_primary=true" } },
	{ "nodeport-addresses CIDRs replace primary",
	  { "--nodeport-addresses=primary", "--nodeport-addresses=192.0.2.0/24" },
	  NULL,
	  NULL,
	  { "nodeport_cidrs=192.0.2.0/24", "nodeport_primary=false" } },
	{ "nodeport-addresses Primary",
	  { "--nodeport-addresses=Primary" },
	  .err = "invalid value \"Primary\" for --nodeport-addresses: not a CIDR" },
	{ "nodeport-addresses primary among CIDRs",
	  { "--nodeport-addresses=primary,10.0.0.0/8" },
	  .err = "invalid value \"primary,10.0.0.0/8\" for --nodeport-addresses: \"primary\" is "
		 "not a "
		 "CIDR" },

	/* Bool flags. */
	{ "masquerade-all", { "--masquerade-all" }, NULL, NULL, { "masquerade_all=true" } },
	{ "masquerade-all=true",
	  { "--masquerade-all=true" },
	  NULL,
	  NULL,
	  { "masquerade_all=true" } },
	{ "masquerade-all=false",
	  { "--masquerade-all", "--masquerade-all=false" },
	  NULL,
	  NULL,
	  { "masquerade_all=false" } },
	{ "masquerade-all=yes",
	  { "--masquerade-all=yes" },
	  .err = "invalid value \"yes\" for --masquerade-all: want true or false" },
	{ "masquerade-all takes no separate value",
	  { "--masquerade-all", "false" },
	  .err = "unexpected argument \"false\"" },
	{ "localhost-nodeports",
	  { "--iptables-localhost-nodeports" },
	  NULL,
	  NULL,
	  { "localhost_nodeports=true" } },
	{ "localhost-nodeports=false",
	  { "--iptables-localhost-nodeports=false" },
	  NULL,
	  NULL,
	  { "localhost_nodeports=false" } },
	{ "localhost-nodeports=True",
	  { "--iptables-localhost-nodeports=True" },
	  .err = "invalid value \"True\" for --iptables-localhost-nodeports: want true or false" },

	/* --iptables-masquerade-bit */
	{ "masquerade-bit 0",
	  { "--iptables-masquerade-bit", "0" },
	  NULL,
	  NULL,
	  { "masquerade_bit=0" } },
	{ "masquerade-bit 31",
	  { "--iptables-masquerade-bit=31" },
	  NULL,
	  NULL,
	  { "masquerade_bit=31" } },
	{ "masquerade-bit 32",
	  { "--iptables-masquerade-bit=32" },
	  .err = "invalid value \"32\" for --iptables-masquerade-bit: must be between 0 and 31" },
	{ "masquerade-bit 40",
	  { "--iptables-masquerade-bit", "40" },
	  .err = "invalid value \"40\" for --iptables-masquerade-bit: must be between 0 and 31" },
	{ "masquerade-bit -1",
	  { "--iptables-masquerade-bit=-1" },
	  .err = "invalid value \"-1\" for --iptables-masquerade-bit: must be between 0 and 31" },
	{ "masquerade-bit huge",
	  { "--iptables-masquerade-bit=99999999999999999999999" },
	  .err = "invalid value \"99999999999999999999999\" for --iptables-masquerade-bit: must be "
		 "between 0 and 31" },
	{ "masquerade-bit abc",
	  { "--iptables-masquerade-bit=abc" },
	  .err = "invalid value \"abc\" for --iptables-masquerade-bit: not a number" },
	{ "masquerade-bit 1x",
	  { "--iptables-masquerade-bit=1x" },
	  .err = "invalid value \"1x\" for --iptables-masquerade-bit: not a number" },
	{ "masquerade-bit empty",
	  { "--iptables-masquerade-bit=" },
	  .err = "invalid value \"\" for --iptables-masquerade-bit: not a number" },

	/* --feature-gates */
	{ "feature-gates",
	  { "--feature-gates", "AllowExtTrafficLocalEndpoints=true" },
	  NULL,
	  NULL,
	  { "gates=AllowExtTrafficLocalEndpoints=true,LoadBalancerIPMode=true,"
	    "ProxyTerminatingEndpoints=true,ServiceInternalTrafficPolicy=true,UDPConntrackCleanup="
	    "true" } },
	{ "feature-gates, repeated in order",
	  { "--feature-gates=AllAlpha=true,LoadBalancerIPMode=false",
	    "--feature-gates=AllowExtTrafficLocalEndpoints=false" },
	  NULL,
	  NULL,
	  { "gates=AllowExtTrafficLocalEndpoints=false,LoadBalancerIPMode=false,"
	    "ProxyTerminatingEndpoints=true,ServiceInternalTrafficPolicy=true,UDPConntrackCleanup="
	    "true" } },
	{ "feature-gates, empty",
	  { "--feature-gates=" },
	  NULL,
	  NULL,
	  { GATES_PREFIX "false" GATES_REST } },
	/* A later AllAlpha leaves a gate an earlier --feature-gates named, as in Kubernetes. */
	{ "feature-gates, AllAlpha in a later flag",
	  { "--feature-gates", "AllowExtTrafficLocalEndpoints=true", "--feature-gates",
	    "AllAlpha=false" },
	  NULL,
	  NULL,
	  { GATES_PREFIX "true" GATES_REST } },
	{ "feature-gates, AllAlpha in the same flag",
	  { "--feature-gates=AllowExtTrafficLocalEndpoints=true,AllAlpha=false" },
	  NULL,
	  NULL,
	  { GATES_PREFIX "true" GATES_REST } },
	{ "feature-gates, unknown",
	  { "--feature-gates=Bogus=true" },
	  .err = GATES_ERR("Bogus=true", "unrecognized feature gate: Bogus") },
	{ "feature-gates, locked",
	  { "--feature-gates", "ProxyTerminatingEndpoints=false" },
	  .err = GATES_ERR("ProxyTerminatingEndpoints=false",
			   "cannot set feature gate ProxyTerminatingEndpoints to false, feature is "
			   "locked to true") },
	{ "feature-gates, bad value",
	  { "--feature-gates=LoadBalancerIPMode=1" },
	  .err = GATES_ERR("LoadBalancerIPMode=1",
			   "invalid value of LoadBalancerIPMode=1, want true or false") },
	{ "feature-gates, missing =",
	  { "--feature-gates=LoadBalancerIPMode" },
	  .err = GATES_ERR("LoadBalancerIPMode", "missing bool value for LoadBalancerIPMode") },
	{ "feature-gates, blank item",
	  { "--feature-gates=LoadBalancerIPMode=false, " },
	  .err = GATES_ERR("LoadBalancerIPMode=false, ", "missing bool value for ") },
	{ "feature-gates, error in a later flag",
	  { "--feature-gates=AllAlpha=true", "--feature-gates=AllBeta=yes" },
	  .err = GATES_ERR("AllBeta=yes", "invalid value of AllBeta=yes, want true or false") },

	/* Durations. */
	{ "sync periods",
	  { "--iptables-sync-period", "1m", "--iptables-min-sync-period=250ms" },
	  NULL,
	  NULL,
	  { "sync_period_ms=60000", "min_sync_period_ms=250" } },
	{ "sync periods, compound",
	  { "--iptables-sync-period=1m30s", "--iptables-min-sync-period=0" },
	  NULL,
	  NULL,
	  { "sync_period_ms=90000", "min_sync_period_ms=0" } },
	{ "sync period 0",
	  { "--iptables-sync-period=0" },
	  .err = "invalid value \"0\" for --iptables-sync-period: must be at least 1ms" },
	{ "sync period abc",
	  { "--iptables-sync-period=abc" },
	  .err = "invalid value \"abc\" for --iptables-sync-period: " NOT_DURATION },
	{ "sync period without unit",
	  { "--iptables-sync-period", "30" },
	  .err = "invalid value \"30\" for --iptables-sync-period: " NOT_DURATION },
	{ "sync period negative",
	  { "--iptables-sync-period=-1s" },
	  .err = "invalid value \"-1s\" for --iptables-sync-period: must not be negative" },
	{ "sync period too long",
	  { "--iptables-sync-period=9999999999h" },
	  .err = "invalid value \"9999999999h\" for --iptables-sync-period: too long" },
	{ "min sync period, bad unit",
	  { "--iptables-min-sync-period=1d" },
	  .err = "invalid value \"1d\" for --iptables-min-sync-period: " NOT_DURATION },
	{ "min sync period, empty",
	  { "--iptables-min-sync-period=" },
	  .err = "invalid value \"\" for --iptables-min-sync-period: " NOT_DURATION },
	{ "min sync period longer than sync period",
	  { "--iptables-min-sync-period=1m" },
	  .err = "--iptables-min-sync-period (60000ms) is longer than --iptables-sync-period "
		 "(30000ms)" },
	{ "min sync period equal to sync period",
	  { "--iptables-min-sync-period=5s", "--iptables-sync-period=5000ms" },
	  NULL,
	  NULL,
	  { "sync_period_ms=5000", "min_sync_period_ms=5000" } },

	/* --iptables-backend */
	{ "backend auto", { "--iptables-backend=auto" }, NULL, NULL, { "backend=auto" } },
	{ "backend nft", { "--iptables-backend", "nft" }, NULL, NULL, { "backend=nft" } },
	{ "backend legacy", { "--iptables-backend=legacy" }, NULL, NULL, { "backend=legacy" } },
	{ "backend NFT",
	  { "--iptables-backend=NFT" },
	  .err = "invalid value \"NFT\" for --iptables-backend: want auto, nft or legacy" },
	{ "backend empty",
	  { "--iptables-backend=" },
	  .err = "invalid value \"\" for --iptables-backend: want auto, nft or legacy" },

	/* --iptables-restore-timeout */
	{ "restore timeout",
	  { "--iptables-restore-timeout", "30s" },
	  NULL,
	  NULL,
	  { "restore_timeout_ms=30000" } },
	{ "restore timeout, compound",
	  { "--iptables-restore-timeout=1m30s" },
	  NULL,
	  NULL,
	  { "restore_timeout_ms=90000" } },
	{ "restore timeout 1ms",
	  { "--iptables-restore-timeout=1ms" },
	  NULL,
	  NULL,
	  { "restore_timeout_ms=1" } },
	{ "restore timeout 0",
	  { "--iptables-restore-timeout=0" },
	  .err = "invalid value \"0\" for --iptables-restore-timeout: must be at least 1ms" },
	{ "restore timeout under 1ms",
	  { "--iptables-restore-timeout=999us" },
	  .err = "invalid value \"999us\" for --iptables-restore-timeout: must be at least 1ms" },
	{ "restore timeout negative",
	  { "--iptables-restore-timeout=-5s" },
	  .err = "invalid value \"-5s\" for --iptables-restore-timeout: must not be negative" },
	{ "restore timeout without unit",
	  { "--iptables-restore-timeout", "300" },
	  .err = "invalid value \"300\" for --iptables-restore-timeout: " NOT_DURATION },
	{ "restore timeout empty",
	  { "--iptables-restore-timeout=" },
	  .err = "invalid value \"\" for --iptables-restore-timeout: " NOT_DURATION },
	{ "restore timeout too long",
	  { "--iptables-restore-timeout=3000000h" },
	  .err = "invalid value \"3000000h\" for --iptables-restore-timeout: too long" },
	{ "restore timeout missing value",
	  { "--iptables-restore-timeout" },
	  .err = "flag --iptables-restore-timeout needs a value" },

	/* --iptables-dispatch-split */
	{ "dispatch split 0",
	  { "--iptables-dispatch-split", "0" },
	  NULL,
	  NULL,
	  { "dispatch_split=0" } },
	{ "dispatch split 250",
	  { "--iptables-dispatch-split=250" },
	  NULL,
	  NULL,
	  { "dispatch_split=250" } },
	{ "dispatch split at the maximum",
	  { "--iptables-dispatch-split=100000000" },
	  NULL,
	  NULL,
	  { "dispatch_split=100000000" } },
	{ "dispatch split above the maximum",
	  { "--iptables-dispatch-split=100000001" },
	  .err = "invalid value \"100000001\" for --iptables-dispatch-split: must be between 0 and "
		 "100000000" },
	{ "dispatch split -1",
	  { "--iptables-dispatch-split=-1" },
	  .err = "invalid value \"-1\" for --iptables-dispatch-split: must be between 0 and "
		 "100000000" },
	{ "dispatch split 1e3",
	  { "--iptables-dispatch-split=1e3" },
	  .err = "invalid value \"1e3\" for --iptables-dispatch-split: not a number" },
	{ "dispatch split with a blank",
	  { "--iptables-dispatch-split", " 5" },
	  .err = "invalid value \" 5\" for --iptables-dispatch-split: not a number" },
	{ "dispatch split empty",
	  { "--iptables-dispatch-split=" },
	  .err = "invalid value \"\" for --iptables-dispatch-split: not a number" },

	/* Server addresses. */
	{ "healthz v4",
	  { "--healthz-bind-address", "127.0.0.1:8080" },
	  NULL,
	  NULL,
	  { "healthz=127.0.0.1:8080" } },
	{ "healthz v6", { "--healthz-bind-address=[::1]:80" }, NULL, NULL, { "healthz=[::1]:80" } },
	{ "healthz port 0",
	  { "--healthz-bind-address=0.0.0.0:0" },
	  NULL,
	  NULL,
	  { "healthz=0.0.0.0:0" } },
	{ "healthz port 65535",
	  { "--healthz-bind-address=[2001:db8::1]:65535" },
	  NULL,
	  NULL,
	  { "healthz=[2001:db8::1]:65535" } },
	{ "healthz empty disables",
	  { "--healthz-bind-address=" },
	  NULL,
	  NULL,
	  { "healthz=off", "metrics=127.0.0.1:10249" } },
	{ "metrics empty disables",
	  { "--metrics-bind-address", "" },
	  NULL,
	  NULL,
	  { "metrics=off", "healthz=0.0.0.0:10256" } },
	{ "metrics v4",
	  { "--metrics-bind-address=0.0.0.0:10249" },
	  NULL,
	  NULL,
	  { "metrics=0.0.0.0:10249" } },
	{ "healthz port 70000",
	  { "--healthz-bind-address=0.0.0.0:70000" },
	  .err = "invalid value \"0.0.0.0:70000\" for --healthz-bind-address: port must be a "
		 "number "
		 "between 0 and 65535" },
	{ "healthz port empty",
	  { "--healthz-bind-address=0.0.0.0:" },
	  .err = "invalid value \"0.0.0.0:\" for --healthz-bind-address: port must be a number "
		 "between "
		 "0 and 65535" },
	{ "healthz port not a number",
	  { "--healthz-bind-address=0.0.0.0:http" },
	  .err = "invalid value \"0.0.0.0:http\" for --healthz-bind-address: port must be a number "
		 "between 0 and 65535" },
	{ "healthz missing port",
	  { "--healthz-bind-address=0.0.0.0" },
	  .err = "invalid value \"0.0.0.0\" for --healthz-bind-address: missing port (want "
		 "ADDR:PORT or "
		 "[ADDR]:PORT)" },
	{ "healthz v6 missing port",
	  { "--healthz-bind-address=[::1]" },
	  .err = "invalid value \"[::1]\" for --healthz-bind-address: missing port (want ADDR:PORT "
		 "or "
		 "[ADDR]:PORT)" },
	{ "metrics v6 without brackets",
	  { "--metrics-bind-address=::1:10249" },
	  .err = "invalid value \"::1:10249\" for --metrics-bind-address: an IPv6 address needs "
		 "brackets, as in [::1]:10256" },
	{ "metrics host name",
	  { "--metrics-bind-address=localhost:10249" },
	  .err = "invalid value \"localhost:10249\" for --metrics-bind-address: not an IP "
		 "address" },
	{ "metrics no address",
	  { "--metrics-bind-address=:10249" },
	  .err = "invalid value \":10249\" for --metrics-bind-address: not an IP address" },
	{ "metrics unclosed bracket",
	  { "--metrics-bind-address=[::1:80" },
	  .err = "invalid value \"[::1:80\" for --metrics-bind-address: not [ADDR]:PORT" },

	/* --enable-debug-handlers */
	{ "debug handlers off",
	  { "--enable-debug-handlers=false" },
	  NULL,
	  NULL,
	  { "debug_handlers=false" } },
	{ "debug handlers, bare flag turns them back on",
	  { "--enable-debug-handlers=false", "--enable-debug-handlers" },
	  NULL,
	  NULL,
	  { "debug_handlers=true" } },
	{ "debug handlers =true",
	  { "--enable-debug-handlers=false", "--enable-debug-handlers=true" },
	  NULL,
	  NULL,
	  { "debug_handlers=true" } },
	{ "debug handlers =no",
	  { "--enable-debug-handlers=no" },
	  .err = "invalid value \"no\" for --enable-debug-handlers: want true or false" },
	{ "debug handlers =FALSE",
	  { "--enable-debug-handlers=FALSE" },
	  .err = "invalid value \"FALSE\" for --enable-debug-handlers: want true or false" },
	{ "debug handlers take no separate value",
	  { "--enable-debug-handlers", "false" },
	  .err = "unexpected argument \"false\"" },

	/* Modes. */
	{ "dry-run", { "--dry-run" }, NULL, NULL, { "mode=dry-run" } },
	{ "cleanup", { "--cleanup" }, NULL, NULL, { "mode=cleanup" } },
	{ "dry-run and cleanup",
	  { "--dry-run", "--cleanup" },
	  .err = "--dry-run and --cleanup cannot be used together" },
	{ "dry-run takes no value",
	  { "--dry-run=true" },
	  .err = "flag --dry-run does not take a value" },
	{ "help", { "--help" }, NULL, NULL, { "mode=help" } },
	{ "-h", { "-h" }, NULL, NULL, { "mode=help" } },
	{ "help wins over other modes",
	  { "--cleanup", "--dry-run", "--help" },
	  NULL,
	  NULL,
	  { "mode=help" } },
	{ "help needs no node name", { "--help" }, "Node_A", NULL, { "mode=help", "hostname=-" } },
	{ "version", { "--version" }, NULL, NULL, { "mode=version" } },
	{ "version needs no node name", { "--version" }, "Node_A", NULL, { "mode=version" } },

	/* Verbosity. */
	{ "-v N", { "-v", "3" }, NULL, NULL, { "verbosity=3" } },
	{ "-vN", { "-v4" }, NULL, NULL, { "verbosity=4" } },
	{ "-v=N", { "-v=5" }, NULL, NULL, { "verbosity=5" } },
	{ "--v N", { "--v", "6" }, NULL, NULL, { "verbosity=6" } },
	{ "--v=N", { "--v=10" }, NULL, NULL, { "verbosity=10" } },
	{ "-v 11",
	  { "-v", "11" },
	  .err = "invalid value \"11\" for --v: must be between 0 and 10" },
	{ "--v=-1", { "--v=-1" }, .err = "invalid value \"-1\" for --v: must be between 0 and 10" },
	{ "-v x", { "-v", "x" }, .err = "invalid value \"x\" for --v: not a number" },
	{ "-h and -v together", { "-hv2" }, NULL, NULL, { "mode=help", "verbosity=2" } },

	/* Mistakes on the command line itself. */
	{ "unknown flag", { "--bogus" }, .err = "unknown flag: --bogus" },
	{ "unknown flag with value", { "--bogus=1" }, .err = "unknown flag: --bogus" },
	{ "unknown short flag", { "-x" }, .err = "unknown flag: -x" },
	{ "abbreviation", { "--mast", "https://m" }, .err = "unknown flag: --mast" },
	{ "abbreviation with value", { "--dry=1" }, .err = "unknown flag: --dry" },
	{ "ambiguous abbreviation", { "--iptables" }, .err = "unknown flag: --iptables" },
	{ "one dash", { "-master=https://m" }, .err = "unknown flag: -m" },
	{ "missing value", { "--master" }, .err = "flag --master needs a value" },
	{ "missing value, abbreviated", { "--kubeconf" }, .err = "unknown flag: --kubeconf" },
	{ "missing value for -v", { "-v" }, .err = "flag -v needs a value" },
	{ "missing value for --v", { "--dry-run", "--v" }, .err = "flag --v needs a value" },
	{ "positional argument", { "run" }, .err = "unexpected argument \"run\"" },
	{ "positional argument between flags",
	  { "--dry-run", "x", "--cleanup" },
	  .err = "unexpected argument \"x\"" },

	/* A message repeats a value on one line and at most 100 bytes of it. */
	{ "value with a newline",
	  { "--hostname-override=node-a\n-j ACCEPT" },
	  .err = "invalid value \"node-a?-j ACCEPT\" for --hostname-override: " NODE_NAME_RULE },
	{ "value with quotes and non-ASCII",
	  { "--iptables-backend=\"n\\ft\xc3\xa9\"" },
	  .err = "invalid value \"?n?ft???\" for --iptables-backend: want auto, nft or legacy" },
	{ "long value",
	  { "--iptables-backend=" S10 S10 S10 S10 S10 S10 S10 S10 S10 S10 "x" },
	  .err = "invalid value \"" S10 S10 S10 S10 S10 S10 S10 S10 S10 S10
		 "...\" for --iptables-backend: want auto, nft or legacy" },
	{ "CIDR in a list with a tab",
	  { "--cluster-cidr=10.0.0.0/8,a\tb" },
	  .err = "invalid value \"10.0.0.0/8,a?b\" for --cluster-cidr: \"a?b\" is not a CIDR" },
	{ "unknown flag with a control byte", { "--bo\x1bgus" }, .err = "unknown flag: --bo?gus" },
	{ "unknown short flag, not ASCII", { "-\xff" }, .err = "unknown flag: -?" },
	{ "positional argument with a newline", { "a\nb" }, .err = "unexpected argument \"a?b\"" },
	{ "argument after --",
	  { "--dry-run", "--", "--cleanup" },
	  .err = "unexpected argument \"--cleanup\"" },
	{ "lone dash", { "-" }, .err = "unexpected argument \"-\"" },
	{ "only --", { "--" }, NULL, NULL, { "mode=run" } },
	{ "value that looks like a flag",
	  { "--kubeconfig", "--dry-run" },
	  NULL,
	  NULL,
	  { "kubeconfig=--dry-run", "mode=run" } },
};

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
		p++;
	}
	return false;
}

/* Runs argv (NULL-terminated, without argv[0]) on a fresh config. */
static int run(const char *const *args, struct config *cfg, struct errbuf *err)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;

	argv[argc++] = (char *)"kproxy";
	while (argc <= MAX_ARGS && args[argc - 1]) {
		argv[argc] = (char *)args[argc - 1];
		argc++;
	}
	argv[argc] = NULL;
	config_init(cfg);
	errbuf_clear(err);
	return config_parse_argv(cfg, argc, argv, err);
}

static int set_node_name(void **state)
{
	(void)state;
	return setenv("NODE_NAME", ENV_NODE_NAME, 1);
}

static void test_defaults(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	static const char *const none[] = { NULL };
	struct config cfg;
	struct errbuf err;

	(void)state;
	assert_int_equal(run(none, &cfg, &err), 0);
	dump(&cfg, &sb);
	assert_string_equal(strbuf_str(&sb), defaults_dump);
	config_fini(&cfg);

	/* config_init alone: everything but the node name, which parsing fills. */
	strbuf_reset(&sb);
	config_init(&cfg);
	dump(&cfg, &sb);
	assert_true(has_line(strbuf_str(&sb), "hostname=-"));
	assert_true(has_line(strbuf_str(&sb), "healthz=0.0.0.0:10256"));
	assert_true(has_line(strbuf_str(&sb), "sync_period_ms=30000"));
	config_fini(&cfg);
	config_fini(&cfg); /* fini twice is harmless */
	strbuf_fini(&sb);
}

static void test_argv(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct config cfg;
	struct errbuf err;
	size_t i, j;
	int rc;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct argv_case *c = &cases[i];

		assert_int_equal(
			setenv("NODE_NAME", c->node_name ? c->node_name : ENV_NODE_NAME, 1), 0);
		rc = run(c->args, &cfg, &err);
		if (c->err && rc != -EINVAL)
			fail_msg("%s: rc %d, want -EINVAL (%s)", c->name, rc, c->err);
		if (c->err && strcmp(err.msg, c->err) != 0)
			fail_msg("%s:\n got: %s\nwant: %s", c->name, err.msg, c->err);
		if (!c->err && rc != 0)
			fail_msg("%s: rc %d: %s", c->name, rc, err.msg);
		strbuf_reset(&sb);
		dump(&cfg, &sb);
		for (j = 0; !c->err && j < MAX_LINES && c->want[j]; j++)
			if (!has_line(strbuf_str(&sb), c->want[j]))
				fail_msg("%s: no line \"%s\" in\n%s", c->name, c->want[j],
					 strbuf_str(&sb));
		config_fini(&cfg);
	}
	strbuf_fini(&sb);
	assert_int_equal(setenv("NODE_NAME", ENV_NODE_NAME, 1), 0);
}

static void test_duration(void **state)
{
	static const struct {
		const char *in;
		int rc;
		uint64_t ms;
	} cases_d[] = {
		{ "1s", 0, 1000 },
		{ "500ms", 0, 500 },
		{ "1m30s", 0, 90000 },
		{ "1h", 0, 3600000 },
		{ "1.5s", 0, 1500 },
		{ "0", 0, 0 },
		{ "100us", 0, 0 },
		{ "1500us", 0, 1 },
		{ "2\xc2\xb5s", 0, 0 },
		{ "3000000\xce\xbcs", 0, 3000 },
		{ "5000000ns", 0, 5 },
		{ "1h2m3s4ms", 0, 3723004 },
		{ ".5s", 0, 500 },
		{ "1.s", 0, 1000 },
		{ "+2s", 0, 2000 },
		{ "-0", 0, 0 },
		{ "0s", 0, 0 },
		{ "0.0001h", 0, 360 },
		{ "2562047h", 0, 9223369200000 },
		{ "", -EINVAL, 0 },
		{ "5", -EINVAL, 0 },
		{ "1x", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 },
		{ "s", -EINVAL, 0 },
		{ ".s", -EINVAL, 0 },
		{ "1s ", -EINVAL, 0 },
		{ " 1s", -EINVAL, 0 },
		{ "1S", -EINVAL, 0 },
		{ "1sec", -EINVAL, 0 },
		{ "1s5", -EINVAL, 0 },
		{ "+", -EINVAL, 0 },
		{ "00", -EINVAL, 0 },
		{ "2562048h", -ERANGE, 0 },
		{ "99999999999999999999s", -ERANGE, 0 },
	};
	uint64_t ms;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases_d); i++) {
		ms = 12345;
		rc = config_parse_duration(cases_d[i].in, &ms);
		if (rc != cases_d[i].rc)
			fail_msg("\"%s\": rc %d, want %d", cases_d[i].in, rc, cases_d[i].rc);
		if (rc == 0 && ms != cases_d[i].ms)
			fail_msg("\"%s\": %llu ms, want %llu", cases_d[i].in,
				 (unsigned long long)ms, (unsigned long long)cases_d[i].ms);
		if (rc != 0 && ms != 12345)
			fail_msg("\"%s\": output written on error", cases_d[i].in);
	}
}

/* CONFIG_MAX_CIDRS items are accepted, one more is not. */
static void test_cidr_cap(void **state)
{
	static const char prefix[] = "invalid value \"10.0.0.0/16,10.1.0.0/16,";
	struct strbuf arg = STRBUF_INIT;
	struct config cfg;
	struct errbuf err;
	const char *args[2] = { NULL, NULL };
	char want[128];
	int i;

	(void)state;
	strbuf_adds(&arg, "--nodeport-addresses=");
	for (i = 0; i < CONFIG_MAX_CIDRS; i++)
		strbuf_addf(&arg, "%s10.%d.0.0/16", i ? "," : "", i);
	args[0] = strbuf_str(&arg);
	assert_int_equal(run(args, &cfg, &err), 0);
	assert_int_equal(cfg.n_nodeport_cidrs, CONFIG_MAX_CIDRS);
	config_fini(&cfg);

	strbuf_adds(&arg, ",10.200.0.0/16");
	args[0] = strbuf_str(&arg);
	assert_int_equal(run(args, &cfg, &err), -EINVAL);
	snprintf(want, sizeof(want), "more than %d CIDRs", CONFIG_MAX_CIDRS);
	assert_non_null(strstr(err.msg, want));
	assert_int_equal(strncmp(err.msg, prefix, strlen(prefix)), 0);
	assert_int_equal(cfg.n_nodeport_cidrs, 0);
	config_fini(&cfg);
	strbuf_fini(&arg);
}

/* Without $NODE_NAME the node name is the host name in lower case. */
static void test_hostname_from_host(void **state)
{
	static const char *const none[] = { NULL };
	char host[HOST_NAME_MAX + 1];
	struct config cfg;
	struct errbuf err;
	size_t i;
	int rc;

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i]; i++)
		if (host[i] >= 'A' && host[i] <= 'Z')
			host[i] = (char)(host[i] - 'A' + 'a');

	assert_int_equal(setenv("NODE_NAME", "", 1), 0);
	rc = run(none, &cfg, &err);
	if (k8s_is_dns1123_subdomain(host)) {
		assert_int_equal(rc, 0);
		assert_string_equal(cfg.hostname, host);
	} else {
		assert_int_equal(rc, -EINVAL);
		assert_non_null(strstr(err.msg, "set --hostname-override"));
	}
	config_fini(&cfg);

	assert_int_equal(unsetenv("NODE_NAME"), 0);
	rc = run(none, &cfg, &err);
	if (k8s_is_dns1123_subdomain(host))
		assert_string_equal(cfg.hostname, host);
	else
		assert_int_equal(rc, -EINVAL);
	config_fini(&cfg);
	assert_int_equal(setenv("NODE_NAME", ENV_NODE_NAME, 1), 0);
}

#define SOURCE "Source of cluster state (default: in-cluster, KUBERNETES_SERVICE_HOST/PORT)"
#define NODE   "Node and traffic"
#define SYNC   "Sync"
#define SERVE  "Servers (an empty address turns the server off)"
#define MODES  "Modes"
#define STATUS "Exit status"

/* The headings of --help, in order. */
static const char *const usage_headings[] = { SOURCE, NODE, SYNC, SERVE, MODES, STATUS };

/**
 * struct usage_entry - one flag in --help.
 * @heading: the heading it is under.
 * @left: its left column.
 * @def: the default it shows, in one piece; NULL for a flag that shows none.
 */
struct usage_entry {
	const char *heading;
	const char *left;
	const char *def;
};

/* Every flag of the table, in --help order. */
static const struct usage_entry usage_entries[] = {
	{ SOURCE, "--master URL", NULL },
	{ SOURCE, "--kubeconfig PATH", NULL },
	{ SOURCE, "--from-file PATH", NULL },
	{ NODE, "--hostname-override NAME",
	  "(default: $NODE_NAME, then the host name in lower case)" },
	{ NODE, "--cluster-cidr CIDR[,..]", "(default: none)" },
	{ NODE, "--nodeport-addresses CIDR[,..]|primary", "(default: all local addresses)" },
	{ NODE, "--masquerade-all[=BOOL]", "(default false)" },
	{ NODE, "--iptables-masquerade-bit N", "(default 14)" },
	{ NODE, "--iptables-localhost-nodeports[=BOOL]", "(default false)" },
	/* Each gate's default is on its line of the list under the flag. */
	{ NODE, "--feature-gates NAME=BOOL[,..]", NULL },
	{ SYNC, "--iptables-sync-period DUR", "(default 30s)" },
	{ SYNC, "--iptables-min-sync-period DUR", "(default 1s)" },
	{ SYNC, "--iptables-restore-timeout DUR", "(default 5m)" },
	{ SYNC, "--iptables-dispatch-split N", "(default 1000)" },
	{ SYNC, "--iptables-backend auto|nft|legacy", "(default auto)" },
	{ SERVE, "--healthz-bind-address ADDR:PORT", "(default 0.0.0.0:10256)" },
	{ SERVE, "--metrics-bind-address ADDR:PORT", "(default 127.0.0.1:10249)" },
	{ SERVE, "--enable-debug-handlers[=BOOL]", "(default true)" },
	{ MODES, "--dry-run", NULL },
	{ MODES, "--cleanup", NULL },
	{ MODES, "-v, --v N", "(default 0)" },
	{ MODES, "-h, --help", NULL },
	{ MODES, "--version", NULL },
};

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;
	const char *p;

	for (p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/*
 * The --help entry whose line starts with "  " left "  " (up to the next flag
 * or the end of its section) as [*start, *end); false when there is none.
 */
static bool find_entry(const char *usage, const char *left, const char **start, const char **end)
{
	char needle[128];
	const char *next, *blank;

	snprintf(needle, sizeof(needle), "\n  %s  ", left);
	*start = strstr(usage, needle);
	if (!*start)
		return false;
	(*start)++;
	next = strstr(*start, "\n  -");
	blank = strstr(*start, "\n\n");
	*end = next && (!blank || next < blank) ? next : blank;
	if (!*end)
		*end = *start + strlen(*start);
	return true;
}

static bool entry_has(const char *start, const char *end, const char *text)
{
	return memmem(start, (size_t)(end - start), text, strlen(text)) != NULL;
}

/* Where heading ("Name:" on a line of its own) starts in usage, or NULL. */
static const char *find_heading(const char *usage, const char *heading)
{
	char needle[128];

	snprintf(needle, sizeof(needle), "\n%s:\n", heading);
	return strstr(usage, needle);
}

static void check_usage_entries(const char *text)
{
	struct strbuf known = STRBUF_INIT, want = STRBUF_INIT;
	const char *start, *end, *heading, *next_heading, *line, *nl;
	size_t i, j, flags = 0, headings = 0;
	char needle[128];

	/* Each heading once, in order, and no other. */
	for (i = 0; i < ARRAY_SIZE(usage_headings); i++) {
		snprintf(needle, sizeof(needle), "\n%s:\n", usage_headings[i]);
		if (count_of(text, needle) != 1)
			fail_msg("--help: heading \"%s\" %zu times, want once:\n%s",
				 usage_headings[i], count_of(text, needle), text);
		if (i > 0 && find_heading(text, usage_headings[i]) <
				     find_heading(text, usage_headings[i - 1]))
			fail_msg("--help: \"%s\" before \"%s\"", usage_headings[i],
				 usage_headings[i - 1]);
	}
	for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		if (nl > line && line[0] != ' ' && nl[-1] == ':')
			headings++;
		if (strncmp(line, "  -", 3) == 0)
			flags++;
	}
	assert_int_equal(headings, ARRAY_SIZE(usage_headings));
	/* Every flag of --help is in usage_entries. */
	assert_int_equal(flags, ARRAY_SIZE(usage_entries));

	/* Each flag once, under its heading, with its default (or none). */
	for (i = 0; i < ARRAY_SIZE(usage_entries); i++) {
		const struct usage_entry *u = &usage_entries[i];

		snprintf(needle, sizeof(needle), "\n  %s  ", u->left);
		if (count_of(text, needle) != 1 || !find_entry(text, u->left, &start, &end))
			fail_msg("--help: %zu entries for %s, want one:\n%s",
				 count_of(text, needle), u->left, text);
		heading = find_heading(text, u->heading);
		for (j = 0; j < ARRAY_SIZE(usage_headings); j++)
			if (strcmp(usage_headings[j], u->heading) == 0)
				break;
		assert_true(j + 1 < ARRAY_SIZE(usage_headings));
		next_heading = find_heading(text, usage_headings[j + 1]);
		if (!heading || start < heading || start > next_heading)
			fail_msg("--help: %s is not under \"%s\":\n%s", u->left, u->heading, text);
		if (u->def && !entry_has(start, end, u->def))
			fail_msg("--help: no \"%s\" for %s:\n%s", u->def, u->left, text);
		if (!u->def && entry_has(start, end, "(default"))
			fail_msg("--help: a default for %s, want none:\n%s", u->left, text);
	}

	/* Every known gate, with its stage and default, under --feature-gates. */
	assert_true(find_entry(text, "--feature-gates NAME=BOOL[,..]", &start, &end));
	featuregate_format_known(&known);
	for (line = strbuf_str(&known); (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		strbuf_reset(&want);
		strbuf_addf(&want, "\n      %.*s\n", (int)(nl - line), line);
		/* The entry ends before its last line end. */
		if (!entry_has(start, *end ? end + 1 : end, strbuf_str(&want)))
			fail_msg("--help: no %s under --feature-gates:\n%s", strbuf_str(&want),
				 text);
	}
	strbuf_fini(&known);
	strbuf_fini(&want);
}

static void test_usage(void **state)
{
	static const char *const want[] = {
		"Usage: kproxy [flags]\n",
		"\n  0  success\n",
		"\n  1  runtime failure\n",
		"\n  2  bad flags or unreadable input",
	};
	char *text = NULL;
	size_t len = 0, i;
	const char *line, *nl;
	FILE *out;

	(void)state;
	out = open_memstream(&text, &len);
	assert_non_null(out);
	config_usage(out);
	assert_int_equal(fclose(out), 0);
	for (i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(text, want[i]))
			fail_msg("--help lacks \"%s\":\n%s", want[i], text);
	check_usage_entries(text);
	for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1)
		if (nl - line > 100)
			fail_msg("line longer than 100 columns: %.*s", (int)(nl - line), line);
	free(text);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),	   cmocka_unit_test(test_argv),
		cmocka_unit_test(test_duration),	   cmocka_unit_test(test_cidr_cap),
		cmocka_unit_test(test_hostname_from_host), cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, set_node_name, NULL);
}
