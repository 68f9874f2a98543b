// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rule generator, judged by where packets go: the example cluster
 * (scripts/examples/cluster.json) is built into a payload, and the tracer
 * walks it for flows of every service type and policy, as seen from node-a
 * (192.0.2.10, pods in 198.18.0.0/16). Also: stale chains, base-chain jumps,
 * partial payloads, cleanup and determinism. Then flows through the payloads
 * of golden cases (test/golden/cases/), built with their own flags, for the
 * policies the example cluster lacks, and the endpoint split at 1,000.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apiwatch/decode.h"
#include "proxy/config.h"
#include "proxy/model.h"
#include "proxy/strbuf.h"
#include "proxy/sync.h"
#include "rules/chains.h"
#include "rules/rules.h"
#include "test/unit/lib/tracer.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define EXAMPLE	      "scripts/examples/cluster.json"
#define GOLDEN	      "test/golden/cases/"

static struct model *load_model(const char *path, const char *node)
{
	struct decode_list list = { 0 };
	struct strbuf text = STRBUF_INIT;
	struct errbuf err;
	struct model *m;
	char buf[65536];
	size_t n, i;
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&text, buf, n);
	fclose(f);
	assert_int_equal(decode_list_parse(strbuf_str(&text), text.len, &list, &err), 0);
	assert_int_equal(list.n_errors, 0);
	m = model_new(node);
	for (i = 0; i < list.n_objects; i++)
		assert_int_equal(model_object_update(m, &list.objects[i], &err), 0);
	decode_list_fini(&list);
	strbuf_fini(&text);
	return m;
}

struct setup {
	bool gate_legacy;
	bool masquerade_all;
	bool no_cluster_cidr;
};

static void build(const struct model *m, const struct setup *s, const struct rules_existing *ex,
		  bool full, struct rules_output *out)
{
	static struct k8s_cidr cidr;
	struct featuregate_set gates;
	struct rules_config rc;
	struct errbuf err;

	featuregate_init(&gates);
	if (s->gate_legacy)
		assert_int_equal(
			featuregate_parse(&gates, "AllowExtTrafficLocalEndpoints=true", &err), 0);
	assert_true(k8s_cidr_parse("198.18.0.0/16", &cidr));
	memset(&rc, 0, sizeof(rc));
	rc.family = K8S_FAMILY_IPV4;
	rc.cluster_cidr = s->no_cluster_cidr ? NULL : &cidr;
	rc.masquerade_all = s->masquerade_all;
	rc.masquerade_bit = 14;
	rc.gates = &gates;
	rules_build(m, &rc, ex, full, out);
}

struct flow {
	const char *what;
	const char *src;
	const char *dst;
	const char *proto;
	unsigned port;
	const char *want;
};

static const struct flow example_flows[] = {
	{ "pod to ClusterIP", "198.18.1.9", "198.19.0.10", "tcp", 80,
	  "198.18.1.2:8080, 198.18.2.2:8080" },
	{ "node to ClusterIP is masqueraded", "192.0.2.10", "198.19.0.10", "tcp", 80,
	  "198.18.1.2:8080, 198.18.2.2:8080 masq" },
	{ "outside to ClusterIP is masqueraded", "203.0.113.2", "198.19.0.10", "tcp", 80,
	  "198.18.1.2:8080, 198.18.2.2:8080 masq" },
	{ "wrong port of a ClusterIP", "198.18.1.9", "198.19.0.10", "tcp", 81, "NONE" },
	{ "hairpin is masqueraded", "198.18.1.2", "198.19.0.10", "tcp", 80,
	  "198.18.1.2:8080, 198.18.2.2:8080 masq" },
	{ "TCP side of a TCP+UDP port", "198.18.1.9", "198.19.0.53", "tcp", 53,
	  "198.18.1.3:5353, 198.18.2.3:5353" },
	{ "UDP side of a TCP+UDP port", "198.18.1.9", "198.19.0.53", "udp", 53,
	  "198.18.1.3:5353, 198.18.2.3:5353" },
	{ "NodePort, Cluster policy", "203.0.113.2", "192.0.2.10", "tcp", 30053,
	  "198.18.1.3:5353, 198.18.2.3:5353 masq" },
	{ "NodePort UDP", "203.0.113.2", "192.0.2.10", "udp", 30053,
	  "198.18.1.3:5353, 198.18.2.3:5353 masq" },
	{ "NodePort on localhost is off by default", "127.0.0.1", "127.0.0.1", "tcp", 30053,
	  "NONE" },
	{ "LB IP allowed by source range", "203.0.113.2", "198.51.100.20", "tcp", 443,
	  "198.18.1.4:8443, 198.18.2.4:8443 masq" },
	{ "LB IP denied by source range", "10.9.9.9", "198.51.100.20", "tcp", 443, "DROP" },
	{ "NodePort ignores source ranges", "10.9.9.9", "192.0.2.10", "tcp", 30443,
	  "198.18.1.4:8443, 198.18.2.4:8443 masq" },
	{ "not-ready endpoint unused", "198.18.1.9", "198.19.0.20", "tcp", 443,
	  "198.18.1.4:8443, 198.18.2.4:8443" },
	{ "Local policy, no local endpoint: LB IP dropped", "203.0.113.2", "198.51.100.30", "tcp",
	  80, "DROP" },
	{ "Local policy, no local endpoint: NodePort dropped", "203.0.113.2", "192.0.2.10", "tcp",
	  30080, "DROP" },
	{ "Local policy, no local endpoint: pod short-circuit", "198.18.1.9", "198.51.100.30",
	  "tcp", 80, "198.18.2.6:8080" },
	{ "Local policy, no local endpoint: node is masqueraded", "192.0.2.10", "198.51.100.30",
	  "tcp", 80, "198.18.2.6:8080 masq" },
	{ "Local policy, no local endpoint: ClusterIP works", "198.18.1.9", "198.19.0.30", "tcp",
	  80, "198.18.2.6:8080" },
	{ "Local policy: outside reaches local endpoint, source kept", "203.0.113.2",
	  "198.51.100.31", "tcp", 80, "198.18.1.7:8080" },
	{ "Local policy NodePort: local endpoint only", "203.0.113.2", "192.0.2.10", "tcp", 30081,
	  "198.18.1.7:8080" },
	{ "Local policy: pods use all endpoints", "198.18.1.9", "198.51.100.31", "tcp", 80,
	  "198.18.1.7:8080, 198.18.2.7:8080" },
	{ "external IP", "203.0.113.2", "198.51.100.40", "tcp", 9200,
	  "198.18.1.8:9200, 198.18.2.8:9200 masq" },
	{ "internal policy Local", "198.18.1.9", "198.19.0.50", "tcp", 9100, "192.0.2.10:9100" },
	{ "no endpoints: ClusterIP rejected", "198.18.1.9", "198.19.0.60", "tcp", 80, "REJECT" },
	{ "no endpoints: NodePort rejected", "203.0.113.2", "192.0.2.10", "tcp", 30090, "REJECT" },
	{ "1.4 annotation without the gate: Cluster", "203.0.113.2", "198.51.100.70", "tcp", 80,
	  "198.18.2.9:8080 masq" },
	{ "headless service", "198.18.1.9", "198.19.0.99", "tcp", 5432, "NONE" },
	{ "service of another proxy", "198.18.1.9", "198.19.0.80", "tcp", 80, "NONE" },
};

static const struct flow gated_flows[] = {
	{ "1.4 annotation with the gate: dropped here", "203.0.113.2", "198.51.100.70", "tcp", 80,
	  "DROP" },
	{ "1.4 annotation with the gate: NodePort dropped", "203.0.113.2", "192.0.2.10", "tcp",
	  30070, "DROP" },
	{ "1.4 annotation with the gate: pods short-circuit", "198.18.1.9", "198.51.100.70", "tcp",
	  80, "198.18.2.9:8080" },
};

static const struct flow masq_all_flows[] = {
	{ "masquerade-all: pod to ClusterIP", "198.18.1.9", "198.19.0.10", "tcp", 80,
	  "198.18.1.2:8080, 198.18.2.2:8080 masq" },
};

static const struct flow no_cidr_flows[] = {
	{ "no cluster CIDR: outside to ClusterIP not masqueraded", "203.0.113.2", "198.19.0.10",
	  "tcp", 80, "198.18.1.2:8080, 198.18.2.2:8080" },
	{ "no cluster CIDR: pods get local endpoints only", "198.18.1.9", "198.51.100.31", "tcp",
	  80, "198.18.1.7:8080" },
};

static void run_flows(const struct setup *s, const struct flow *flows, size_t n)
{
	static const char *const local[] = { "192.0.2.10" };
	struct model *m = load_model(EXAMPLE, "node-a");
	struct rules_output out;
	struct tracer *t;
	struct errbuf err;
	size_t i;

	build(m, s, NULL, true, &out);
	t = tracer_new(strbuf_str(&out.payload), &err);
	if (!t)
		fail_msg("tracer: %s", err.msg);
	assert_int_equal(tracer_set_local_ips(t, local, 1), 0);
	for (i = 0; i < n; i++) {
		char *got =
			tracer_trace(t, flows[i].src, flows[i].dst, flows[i].proto, flows[i].port);

		if (strcmp(got, flows[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"\n%s", flows[i].what, got,
				 flows[i].want, tracer_matches(t));
		free(got);
	}
	tracer_free(t);
	rules_output_fini(&out);
	model_free(m);
}

static void test_example_flows(void **state)
{
	struct setup s = { 0 };

	(void)state;
	run_flows(&s, example_flows, ARRAY_SIZE(example_flows));
}

static void test_gated_flows(void **state)
{
	struct setup s = { .gate_legacy = true };

	(void)state;
	run_flows(&s, gated_flows, ARRAY_SIZE(gated_flows));
}

static void test_masquerade_all_flows(void **state)
{
	struct setup s = { .masquerade_all = true };

	(void)state;
	run_flows(&s, masq_all_flows, ARRAY_SIZE(masq_all_flows));
}

static void test_no_cluster_cidr_flows(void **state)
{
	struct setup s = { .no_cluster_cidr = true };

	(void)state;
	run_flows(&s, no_cidr_flows, ARRAY_SIZE(no_cidr_flows));
}

/* ---- Flows through golden cases ---- */

/* A client an affinity list remembers: the SEP chain of svc_port's endpoint ep. */
struct remembered {
	const char *svc_port; /* "ns/name:port" */
	const char *ep;	      /* "IP:port" */
	const char *src;
};

/**
 * struct golden_flows - flows through the payload --dry-run prints for a case.
 * @name: the case (test/golden/cases/NAME.json).
 * @args: its flags; NULL: NAME.args, as test/golden/run.sh reads them.
 */
struct golden_flows {
	const char *name;
	const char *args;
	const struct flow *flows;
	size_t n_flows;
	const struct remembered *remembered;
	size_t n_remembered;
};

#define FLOWS(a) (a), ARRAY_SIZE(a)

static const struct flow itp_local_flows[] = {
	{ "iTP Local: pod gets the local endpoint only", "198.18.1.9", "198.19.0.90", "tcp", 9100,
	  "192.0.2.10:9100" },
};

static const struct flow itp_no_local_flows[] = {
	{ "iTP Local, no local endpoint: pod dropped", "198.18.1.9", "198.19.0.90", "tcp", 9100,
	  "DROP" },
	{ "iTP Local, no local endpoint: node dropped", "192.0.2.10", "198.19.0.90", "tcp", 9100,
	  "DROP" },
	{ "iTP Local, no local endpoint: other port untouched", "198.18.1.9", "198.19.0.90", "tcp",
	  9101, "NONE" },
};

static const struct flow terminating_flows[] = {
	{ "no ready endpoint: the serving terminating ones", "198.18.1.9", "198.19.0.10", "tcp", 80,
	  "198.18.1.2:8080, 198.18.2.2:8080" },
};

static const struct flow terminating_local_flows[] = {
	{ "a ready endpoint: the terminating ones are unused", "198.18.1.9", "198.19.0.60", "tcp",
	  80, "198.18.2.6:8080" },
	{ "eTP Local, no ready local endpoint: the local serving terminating one", "203.0.113.2",
	  "192.0.2.10", "tcp", 30060, "198.18.1.6:8080" },
	{ "eTP Local: pods short-circuit to the ready one", "198.18.1.9", "192.0.2.10", "tcp",
	  30060, "198.18.2.6:8080" },
};

static const struct flow health_check_flows[] = {
	{ "no local endpoints: health check node port accepted", "203.0.113.2", "192.0.2.10", "tcp",
	  32000, "ACCEPT" },
	{ "no local endpoints: NodePort dropped", "203.0.113.2", "192.0.2.10", "tcp", 30080,
	  "DROP" },
	{ "no local endpoints: LB IP dropped", "203.0.113.2", "198.51.100.30", "tcp", 80, "DROP" },
	{ "no local endpoints: external IP dropped", "203.0.113.2", "198.51.100.130", "tcp", 80,
	  "DROP" },
	{ "health check node port is TCP", "203.0.113.2", "192.0.2.10", "udp", 32000, "NONE" },
};

static const struct flow health_check_nodeport_flows[] = {
	{ "a NodePort Service has no health check node port", "203.0.113.2", "192.0.2.10", "tcp",
	  32060, "NONE" },
};

static const struct flow health_check_pending_flows[] = {
	{ "health check node port before the LB has an address", "203.0.113.2", "192.0.2.10", "tcp",
	  32062, "ACCEPT" },
};

static const struct flow ip_mode_flows[] = {
	{ "LB ingress without ipMode", "203.0.113.2", "198.51.100.50", "tcp", 80,
	  "198.18.2.50:8080 masq" },
	{ "LB ingress with ipMode VIP", "203.0.113.2", "198.51.100.51", "tcp", 80,
	  "198.18.2.50:8080 masq" },
	{ "LB ingress with ipMode Proxy: no rule", "203.0.113.2", "198.51.100.52", "tcp", 80,
	  "NONE" },
	{ "pod to LB ingress with ipMode Proxy: no rule", "198.18.1.9", "198.51.100.52", "tcp", 80,
	  "NONE" },
};

static const struct flow ip_mode_gate_off_flows[] = {
	{ "gate off: ipMode Proxy is a VIP", "203.0.113.2", "198.51.100.52", "tcp", 80,
	  "198.18.2.50:8080 masq" },
};

static const struct flow nodeport_addresses_flows[] = {
	{ "NodePort on an address inside --nodeport-addresses", "203.0.113.2", "192.0.2.10", "tcp",
	  30080, "198.18.1.4:8080, 198.18.2.4:8080 masq" },
	{ "NodePort on an address outside --nodeport-addresses", "203.0.113.2", "203.0.113.10",
	  "tcp", 30080, "NONE" },
	{ "localhost NodePort off, though 127.0.0.0/8 is listed", "127.0.0.1", "127.0.0.1", "tcp",
	  30080, "NONE" },
};

static const struct flow localhost_on_flows[] = {
	{ "localhost NodePort on", "127.0.0.1", "127.0.0.1", "tcp", 30080,
	  "198.18.1.4:8080, 198.18.2.4:8080 masq" },
	{ "localhost NodePort on: any loopback address", "127.0.0.1", "127.0.0.53", "tcp", 30080,
	  "198.18.1.4:8080, 198.18.2.4:8080 masq" },
	{ "localhost NodePort on: node addresses too", "203.0.113.2", "203.0.113.10", "tcp", 30080,
	  "198.18.1.4:8080, 198.18.2.4:8080 masq" },
};

static const struct flow localhost_off_flows[] = {
	{ "localhost NodePort off", "127.0.0.1", "127.0.0.1", "tcp", 30080, "NONE" },
	{ "localhost NodePort off: node addresses still", "203.0.113.2", "203.0.113.10", "tcp",
	  30080, "198.18.1.4:8080, 198.18.2.4:8080 masq" },
};

static const struct flow localhost_outside_flows[] = {
	{ "localhost NodePort on, 127.0.0.1 outside --nodeport-addresses", "127.0.0.1", "127.0.0.1",
	  "tcp", 30080, "NONE" },
	{ "localhost NodePort on, listed address", "203.0.113.2", "192.0.2.10", "tcp", 30080,
	  "198.18.1.4:8080, 198.18.2.4:8080 masq" },
};

static const struct flow localhost_listed_flows[] = {
	{ "localhost NodePort on, 127.0.0.0/8 listed", "127.0.0.1", "127.0.0.1", "tcp", 30080,
	  "198.18.1.4:8080, 198.18.2.4:8080 masq" },
	{ "localhost NodePort on, unlisted node address", "203.0.113.2", "203.0.113.10", "tcp",
	  30080, "NONE" },
};

static const struct flow affinity_flows[] = {
	{ "affinity: a remembered client keeps its endpoint", "198.18.1.9", "198.19.0.80", "tcp",
	  80, "198.18.2.8:8080" },
	{ "affinity: another remembered client keeps its own", "198.18.1.10", "198.19.0.80", "tcp",
	  80, "198.18.1.8:8080" },
	{ "affinity: a new client may get any endpoint", "198.18.1.11", "198.19.0.80", "tcp", 80,
	  "198.18.1.8:8080, 198.18.2.8:8080" },
	{ "affinity: another Service's list does not count", "198.18.1.12", "198.19.0.80", "tcp",
	  80, "198.18.1.8:8080, 198.18.2.8:8080" },
};

static const struct remembered affinity_clients[] = {
	{ "shop/sticky:http", "198.18.2.8:8080", "198.18.1.9" },
	{ "shop/sticky:http", "198.18.1.8:8080", "198.18.1.10" },
	{ "shop/sticky-default:http", "198.18.1.9:8080", "198.18.1.12" },
};

static const struct golden_flows golden_flows[] = {
	{ "0023-itp-local-with-local-endpoints", NULL, FLOWS(itp_local_flows), NULL, 0 },
	{ "0024-itp-local-no-local-endpoints", NULL, FLOWS(itp_no_local_flows), NULL, 0 },
	{ "0025-terminating-fallback", NULL, FLOWS(terminating_flows), NULL, 0 },
	{ "0026-terminating-fallback-local", NULL, FLOWS(terminating_local_flows), NULL, 0 },
	{ "0021-etp-local-no-local-endpoints", NULL, FLOWS(health_check_flows), NULL, 0 },
	{ "0047-healthcheck-port-ignored-on-nodeport", NULL, FLOWS(health_check_nodeport_flows),
	  NULL, 0 },
	{ "0048-healthcheck-port-lb-pending-without-nodeports", NULL,
	  FLOWS(health_check_pending_flows), NULL, 0 },
	{ "0012-loadbalancer-ingress-ipmode", NULL, FLOWS(ip_mode_flows), NULL, 0 },
	{ "0051-loadbalancer-ipmode-gate-off", NULL, FLOWS(ip_mode_gate_off_flows), NULL, 0 },
	{ "0009-nodeport-addresses-cidrs", NULL, FLOWS(nodeport_addresses_flows), NULL, 0 },
	{ "0037-localhost-nodeports", NULL, FLOWS(localhost_on_flows), NULL, 0 },
	{ "0037-localhost-nodeports", "--hostname-override node-a --cluster-cidr 198.18.0.0/16",
	  FLOWS(localhost_off_flows), NULL, 0 },
	{ "0049-localhost-nodeports-with-nodeport-addresses", NULL, FLOWS(localhost_outside_flows),
	  NULL, 0 },
	{ "0053-localhost-nodeports-loopback-in-nodeport-addresses", NULL,
	  FLOWS(localhost_listed_flows), NULL, 0 },
	{ "0027-session-affinity-clientip", NULL, FLOWS(affinity_flows), FLOWS(affinity_clients) },
};

static char *read_text(const char *path)
{
	struct strbuf text = STRBUF_INIT;
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		fail_msg("cannot open %s (run from the repository root)", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&text, buf, n);
	fclose(f);
	return strbuf_detach(&text, NULL);
}

/* Parses flags given as one line of blank-separated words (no quoting) into cfg. */
static void parse_args(const char *line, struct config *cfg)
{
	char *copy = strdup(line), *save = NULL, *word;
	char *argv[64];
	struct errbuf err;
	int argc = 0;

	assert_non_null(copy);
	argv[argc++] = (char *)"kproxy";
	for (word = strtok_r(copy, " \t\n", &save); word; word = strtok_r(NULL, " \t\n", &save)) {
		assert_true(argc < (int)ARRAY_SIZE(argv) - 1);
		argv[argc++] = word;
	}
	argv[argc] = NULL;
	config_init(cfg);
	if (config_parse_argv(cfg, argc, argv, &err) != 0)
		fail_msg("flags \"%s\": %s", line, err.msg);
	free(copy);
}

/* Returns how many of gf's flows went elsewhere than they should. */
static size_t run_golden_flows(const struct golden_flows *gf)
{
	static const char *const default_local[] = { "192.0.2.10" };
	const char *local[K8S_MAX_NODE_ADDRS];
	char local_buf[K8S_MAX_NODE_ADDRS][K8S_ADDR_STRLEN], path[256];
	char *args = NULL;
	const struct k8s_node *node;
	struct rules_output out;
	struct rules_config rc;
	struct config cfg;
	struct tracer *t;
	struct errbuf err;
	struct model *m;
	size_t i, n_local = 0, failed = 0;

	snprintf(path, sizeof(path), GOLDEN "%s.json", gf->name);
	m = load_model(path, "node-a");
	if (!gf->args) {
		snprintf(path, sizeof(path), GOLDEN "%s.args", gf->name);
		args = read_text(path);
	}
	parse_args(gf->args ? gf->args : args, &cfg);
	free(args);
	/* As --dry-run does: the Node's addresses are the node's own. */
	node = model_node(m);
	sync_rules_config_from(&cfg, node ? node->addrs : NULL, node ? node->n_addrs : 0, &rc);
	rules_build(m, &rc, NULL, true, &out);
	t = tracer_new(strbuf_str(&out.payload), &err);
	if (!t)
		fail_msg("%s: tracer: %s", gf->name, err.msg);
	for (i = 0; node && i < node->n_addrs; i++)
		local[n_local++] = k8s_addr_format(&node->addrs[i], local_buf[i]);
	if (n_local)
		assert_int_equal(tracer_set_local_ips(t, local, n_local), 0);
	else
		assert_int_equal(tracer_set_local_ips(t, default_local, 1), 0);
	for (i = 0; i < gf->n_remembered; i++) {
		const struct remembered *r = &gf->remembered[i];
		char sep[RULES_CHAIN_MAX], set[RULES_CHAIN_MAX + 32];

		/* The endpoint's chain puts clients in the list the rcheck rules read. */
		rules_chain_name(sep, "SEP", r->svc_port, K8S_PROTO_TCP, r->ep);
		snprintf(set, sizeof(set), "-m recent --name %s --set ", sep);
		if (!strstr(strbuf_str(&out.payload), set))
			fail_msg("%s: no \"%s\"", gf->name, set);
		assert_int_equal(tracer_recent_add(t, sep, r->src), 0);
	}
	for (i = 0; i < gf->n_flows; i++) {
		const struct flow *f = &gf->flows[i];
		char *got = tracer_trace(t, f->src, f->dst, f->proto, f->port);

		if (strcmp(got, f->want) != 0) {
			print_error("%s: %s: got \"%s\", want \"%s\"\n%s", gf->name, f->what, got,
				    f->want, tracer_matches(t));
			failed++;
		}
		free(got);
	}
	tracer_free(t);
	rules_output_fini(&out);
	config_fini(&cfg);
	model_free(m);
	return failed;
}

/* Every mismatch is reported before the test fails. */
static void test_golden_flows(void **state)
{
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(golden_flows); i++)
		failed += run_golden_flows(&golden_flows[i]);
	assert_int_equal(failed, 0);
}

/*
 * The split at 1,000 endpoints: reading the probabilities back from the
 * payload, each endpoint is taken with the product of the misses before it
 * times its own probability, which must be 1/1000 to within 1e-6; the last
 * rule has no statistic match.
 */
static void test_split_1000(void **state)
{
	enum { N = 1000 };
	struct decode_list list = { 0 };
	struct strbuf json = STRBUF_INIT, prefix = STRBUF_INIT;
	struct model *m = model_new("node-a");
	struct rules_output out;
	struct setup st = { 0 };
	char svc[RULES_CHAIN_MAX];
	double miss = 1.0, total = 0.0;
	const char *line;
	struct errbuf err;
	size_t i, n = 0;

	(void)state;
	strbuf_adds(&json,
		    "{\"kind\":\"List\",\"items\":[{\"kind\":\"Service\",\"metadata\":"
		    "{\"namespace\":\"shop\",\"name\":\"big\"},\"spec\":{\"clusterIP\":"
		    "\"198.19.1.1\",\"ports\":[{\"name\":\"http\",\"port\":80}]}},"
		    "{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"shop\","
		    "\"name\":\"big-1\",\"labels\":{\"kubernetes.io/service-name\":\"big\"}},"
		    "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080}],"
		    "\"endpoints\":[");
	for (i = 0; i < N; i++)
		strbuf_addf(&json, "%s{\"addresses\":[\"198.18.%zu.%zu\"],\"nodeName\":\"node-b\"}",
			    i ? "," : "", i / 200, i % 200 + 1);
	strbuf_adds(&json, "]}]}");
	assert_int_equal(decode_list_parse(strbuf_str(&json), json.len, &list, &err), 0);
	assert_int_equal(list.n_errors, 0);
	for (i = 0; i < list.n_objects; i++)
		assert_int_equal(model_object_update(m, &list.objects[i], &err), 0);
	decode_list_fini(&list);
	build(m, &st, NULL, true, &out);

	rules_chain_name(svc, "SVC", "shop/big:http", K8S_PROTO_TCP, NULL);
	strbuf_addf(&prefix, "-A %s ", svc);
	for (line = strbuf_str(&out.payload); *line; line = strchr(line, '\n') + 1) {
		const char *eol = strchr(line, '\n'), *prob;
		double p = 1.0, share;

		if (strncmp(line, strbuf_str(&prefix), prefix.len) != 0 ||
		    !strstr(line, " -j KPROXY-SEP-") || strstr(line, " -j KPROXY-SEP-") > eol)
			continue;
		prob = strstr(line, "--probability ");
		if (prob && prob < eol) {
			char *end;

			assert_true(n < N - 1);
			p = strtod(prob + strlen("--probability "), &end);
			assert_true(end > prob && *end == ' ');
		} else {
			/* Only the last endpoint has no statistic match. */
			assert_int_equal(n, N - 1);
			assert_true(!strstr(line, "statistic") || strstr(line, "statistic") > eol);
		}
		share = miss * p;
		if (share - 1.0 / N > 1e-6 || 1.0 / N - share > 1e-6)
			fail_msg("endpoint %zu: share %.12f, want %.12f\n%.*s", n, share, 1.0 / N,
				 (int)(eol - line), line);
		total += share;
		miss *= 1.0 - p;
		n++;
	}
	assert_int_equal(n, N);
	assert_true(total > 1.0 - 1e-9 && total < 1.0 + 1e-9);
	strbuf_fini(&prefix);
	strbuf_fini(&json);
	rules_output_fini(&out);
	model_free(m);
}

static void test_deterministic(void **state)
{
	struct model *m1 = load_model(EXAMPLE, "node-a"), *m2 = load_model(EXAMPLE, "node-a");
	struct rules_output a, b;
	struct setup s = { 0 };

	(void)state;
	build(m1, &s, NULL, true, &a);
	build(m2, &s, NULL, true, &b);
	assert_string_equal(strbuf_str(&a.payload), strbuf_str(&b.payload));
	rules_output_fini(&a);
	rules_output_fini(&b);
	model_free(m1);
	model_free(m2);
}

/*
 * With what a first sync left in the kernel, a second sync inserts no jumps,
 * removes duplicated ones, and deletes chains nothing references any more.
 */
static void test_existing_state(void **state)
{
	struct model *m = load_model(EXAMPLE, "node-a");
	struct rules_output first, second;
	struct rules_existing ex;
	struct setup s = { 0 };
	const char *p;

	(void)state;
	build(m, &s, NULL, true, &first);
	assert_non_null(strstr(strbuf_str(&first.payload), "-I PREROUTING 1 "));
	memset(&ex, 0, sizeof(ex));
	rules_existing_copy(&ex, &first.after);
	rules_existing_add(&ex, RULES_TABLE_NAT, "KPROXY-SVC-STALESTALESTALE12");
	rules_existing_add(&ex, RULES_TABLE_NAT, "KUBE-SVC-NOTOURSNOTOURS1234");
	ex.jump_count[0] = 2;
	build(m, &s, &ex, true, &second);
	p = strbuf_str(&second.payload);
	assert_null(strstr(p, "-I "));
	assert_non_null(strstr(p, "-D INPUT -m conntrack --ctstate NEW -m comment --comment "
				  "\"kproxy externally-visible service portals\" -j "
				  "KPROXY-EXTERNAL-SERVICES\n"));
	assert_non_null(strstr(p, ":KPROXY-SVC-STALESTALESTALE12 - [0:0]\n"));
	assert_non_null(strstr(p, "-X KPROXY-SVC-STALESTALESTALE12\n"));
	assert_null(strstr(p, "KUBE-SVC-NOTOURS"));
	assert_int_equal(second.stats.deleted_chains, 1);
	rules_existing_fini(&ex);
	rules_output_fini(&first);
	rules_output_fini(&second);
	model_free(m);
}

/*
 * A partial payload rewrites the top-level chains of both tables and, of the
 * per-Service chains, only what changed: none when nothing did; after one
 * endpoint of shop/web moved, its SVC chain, the new SEP chain and the
 * deletion of the old one, but no chain of the unchanged shop/cart.
 */
static void test_partial(void **state)
{
	static const char slice[] =
		"{\"kind\":\"EndpointSlice\",\"metadata\":{\"namespace\":\"shop\","
		"\"name\":\"web-abc12\",\"labels\":{\"kubernetes.io/service-name\":\"web\"}},"
		"\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080}],"
		"\"endpoints\":[{\"addresses\":[\"198.18.1.2\"],\"nodeName\":\"node-a\"},"
		"{\"addresses\":[\"198.18.2.99\"],\"nodeName\":\"node-b\"}]}";
	struct model *m = load_model(EXAMPLE, "node-a");
	struct rules_output full, same, moved;
	struct setup s = { 0 };
	char svc[RULES_CHAIN_MAX], old_sep[RULES_CHAIN_MAX], new_sep[RULES_CHAIN_MAX];
	struct k8s_object obj;
	struct errbuf err;
	cJSON *j;
	const char *p;

	(void)state;
	build(m, &s, NULL, true, &full);
	model_dirty_clear(m);
	build(m, &s, &full.after, false, &same);
	/* Nothing changed: only the top-level chains of both tables are written. */
	p = strbuf_str(&same.payload);
	assert_non_null(strstr(p, "*filter\n:KPROXY-SERVICES - [0:0]\n"));
	assert_non_null(strstr(p, "*nat\n:KPROXY-SERVICES - [0:0]\n"));
	assert_non_null(strstr(p, ":KPROXY-NODEPORTS - [0:0]\n"));
	assert_non_null(strstr(p, ":KPROXY-POSTROUTING - [0:0]\n"));
	assert_non_null(strstr(p, "-A KPROXY-SERVICES "));
	assert_null(strstr(p, ":KPROXY-SVC-"));
	assert_null(strstr(p, ":KPROXY-SEP-"));
	assert_null(strstr(p, "-X "));
	assert_int_equal(same.after.n_chains[RULES_TABLE_NAT],
			 full.after.n_chains[RULES_TABLE_NAT]);

	j = cJSON_Parse(slice);
	assert_int_equal(decode_object_any(j, &obj, &err), 0);
	cJSON_Delete(j);
	assert_int_equal(model_object_update(m, &obj, &err), 0);
	build(m, &s, &same.after, false, &moved);
	p = strbuf_str(&moved.payload);
	rules_chain_name(svc, "SVC", "shop/web:http", K8S_PROTO_TCP, NULL);
	rules_chain_name(old_sep, "SEP", "shop/web:http", K8S_PROTO_TCP, "198.18.2.2:8080");
	rules_chain_name(new_sep, "SEP", "shop/web:http", K8S_PROTO_TCP, "198.18.2.99:8080");
	assert_non_null(strstr(p, svc));
	assert_non_null(strstr(p, new_sep));
	assert_non_null(strstr(p, "-X "));
	assert_non_null(strstr(p, old_sep));
	assert_non_null(strstr(p, ":KPROXY-SERVICES "));
	assert_null(strstr(p, ":KPROXY-SVC-I5LIAMPLWKMBJ54B")); /* shop/cart: unchanged */
	assert_int_equal(moved.stats.deleted_chains, 1);
	rules_output_fini(&full);
	rules_output_fini(&same);
	rules_output_fini(&moved);
	model_free(m);
}

/* At scale KPROXY-SERVICES dispatches through buckets by the last address byte. */
static void test_dispatch_buckets(void **state)
{
	static const struct flow flows[] = {
		{ "dispatch: ClusterIP", "198.18.1.9", "198.19.0.10", "tcp", 80,
		  "198.18.1.2:8080, 198.18.2.2:8080" },
		{ "dispatch: LB IP", "203.0.113.2", "198.51.100.31", "tcp", 80, "198.18.1.7:8080" },
		{ "dispatch: NodePort after the buckets", "203.0.113.2", "192.0.2.10", "tcp", 30053,
		  "198.18.1.3:5353, 198.18.2.3:5353 masq" },
		{ "dispatch: UDP NodePort bucket", "203.0.113.2", "192.0.2.10", "udp", 30053,
		  "198.18.1.3:5353, 198.18.2.3:5353 masq" },
		{ "dispatch: NodePort in the next block", "203.0.113.2", "192.0.2.10", "tcp", 30443,
		  "198.18.1.4:8443, 198.18.2.4:8443 masq" },
		{ "dispatch: no such NodePort in a used block", "203.0.113.2", "192.0.2.10", "tcp",
		  30054, "NONE" },
		{ "dispatch: no endpoints", "198.18.1.9", "198.19.0.60", "tcp", 80, "REJECT" },
		{ "dispatch: unknown address", "198.18.1.9", "198.19.0.11", "tcp", 80, "NONE" },
	};
	static const char *const local[] = { "192.0.2.10" };
	struct model *m = load_model(EXAMPLE, "node-a");
	struct featuregate_set gates;
	struct k8s_cidr cidr;
	struct rules_config rc;
	struct rules_output out;
	struct tracer *t;
	struct errbuf err;
	size_t i;

	(void)state;
	featuregate_init(&gates);
	assert_true(k8s_cidr_parse("198.18.0.0/16", &cidr));
	memset(&rc, 0, sizeof(rc));
	rc.family = K8S_FAMILY_IPV4;
	rc.cluster_cidr = &cidr;
	rc.masquerade_bit = 14;
	rc.gates = &gates;
	rc.dispatch_split = 2;
	rules_build(m, &rc, NULL, true, &out);
	assert_non_null(strstr(strbuf_str(&out.payload),
			       "-A KPROXY-SERVICES -d 0.0.0.10/0.0.0.15 -j KPROXY-DSP-A\n"));
	assert_non_null(strstr(strbuf_str(&out.payload),
			       "-A KPROXY-DSP-A -d 0.0.0.10/0.0.0.255 -j KPROXY-DSP-0A\n"));
	/* KPROXY-NODEPORTS too: by protocol and block of 256 ports. */
	assert_non_null(strstr(strbuf_str(&out.payload),
			       "-A KPROXY-NODEPORTS -m udp -p udp --dport 29952:30207 "
			       "-j KPROXY-NPT-UDP-75\n"));
	t = tracer_new(strbuf_str(&out.payload), &err);
	if (!t)
		fail_msg("tracer: %s", err.msg);
	assert_int_equal(tracer_set_local_ips(t, local, 1), 0);
	for (i = 0; i < ARRAY_SIZE(flows); i++) {
		char *got =
			tracer_trace(t, flows[i].src, flows[i].dst, flows[i].proto, flows[i].port);

		if (strcmp(got, flows[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"\n%s", flows[i].what, got,
				 flows[i].want, tracer_matches(t));
		free(got);
	}
	tracer_free(t);
	rules_output_fini(&out);
	model_free(m);
}

/*
 * With batching, whole Services' chains go into restores before the final
 * payload: the first batch creates the fixed chains, every per-service chain
 * is declared in exactly one batch and not again in the final payload, and
 * the final payload still switches KPROXY-SERVICES over.
 */
static void test_batches(void **state)
{
	struct model *m = load_model(EXAMPLE, "node-a");
	struct featuregate_set gates;
	struct rules_config rc;
	struct rules_output out, flat;
	char svc[RULES_CHAIN_MAX], decl[64];
	size_t i, seen = 0;

	(void)state;
	featuregate_init(&gates);
	memset(&rc, 0, sizeof(rc));
	rc.family = K8S_FAMILY_IPV4;
	rc.masquerade_bit = 14;
	rc.gates = &gates;
	rules_build(m, &rc, NULL, true, &flat);
	rc.batch_chains = 100000;
	rules_build(m, &rc, NULL, true, &out);
	assert_int_equal(out.n_batches, 0);
	assert_string_equal(strbuf_str(&out.payload), strbuf_str(&flat.payload));
	rules_output_fini(&out);
	rc.batch_chains = 4;
	rules_build(m, &rc, NULL, true, &out);
	assert_true(out.n_batches > 2);
	assert_non_null(strstr(strbuf_str(&out.batches[0]), ":KPROXY-MARK-MASQ - [0:0]\n"));
	assert_null(strstr(strbuf_str(&out.batches[0]), "-A "));
	rules_chain_name(svc, "SVC", "shop/web:http", K8S_PROTO_TCP, NULL);
	snprintf(decl, sizeof(decl), ":%s - [0:0]\n", svc);
	for (i = 0; i < out.n_batches; i++) {
		const char *b = strbuf_str(&out.batches[i]);

		assert_true(strncmp(b, "*nat\n", 5) == 0);
		assert_true(out.batches[i].len >= 7 &&
			    strcmp(b + out.batches[i].len - 7, "COMMIT\n") == 0);
		seen += strstr(b, decl) != NULL;
	}
	assert_int_equal(seen, 1);
	assert_null(strstr(strbuf_str(&out.payload), decl));
	assert_non_null(strstr(strbuf_str(&out.payload), "-j KPROXY-SVC-"));
	/* Same rules, same counts, whichever way they are cut. */
	assert_int_equal(out.stats.rules_total[RULES_TABLE_NAT],
			 flat.stats.rules_total[RULES_TABLE_NAT]);
	assert_int_equal(out.stats.chains[RULES_TABLE_NAT], flat.stats.chains[RULES_TABLE_NAT]);
	rules_output_fini(&out);
	rules_output_fini(&flat);
	model_free(m);
}

static void test_cleanup_payload(void **state)
{
	struct rules_existing ex;
	struct strbuf out = STRBUF_INIT;
	const char *save = "*nat\n"
			   ":PREROUTING ACCEPT [0:0]\n"
			   ":KPROXY-SERVICES - [0:0]\n"
			   ":KUBE-SERVICES - [0:0]\n"
			   "-A PREROUTING -m comment --comment \"kproxy service portals\" -j "
			   "KPROXY-SERVICES\n"
			   "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j "
			   "KUBE-SERVICES\n"
			   "COMMIT\n";

	(void)state;
	chains_parse_save(save, &ex);
	rules_build_cleanup(&ex, &out);
	assert_string_equal(strbuf_str(&out),
			    "*nat\n"
			    ":KPROXY-SERVICES - [0:0]\n"
			    "-D PREROUTING -m comment --comment \"kproxy service portals\" -j "
			    "KPROXY-SERVICES\n"
			    "-X KPROXY-SERVICES\n"
			    "COMMIT\n");
	rules_existing_fini(&ex);
	strbuf_reset(&out);
	memset(&ex, 0, sizeof(ex));
	rules_build_cleanup(&ex, &out);
	assert_int_equal(out.len, 0);
	strbuf_fini(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_flows),
		cmocka_unit_test(test_gated_flows),
		cmocka_unit_test(test_masquerade_all_flows),
		cmocka_unit_test(test_no_cluster_cidr_flows),
		cmocka_unit_test(test_golden_flows),
		cmocka_unit_test(test_split_1000),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_existing_state),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_dispatch_buckets),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_cleanup_payload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
