// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rule generator. It reproduces kube-proxy's iptables mode, with chains
 * named KPROXY-* so that both can run side by side during a migration:
 *
 * nat KPROXY-SERVICES   one rule per service address (cluster IP, external
 *                       IP, LoadBalancer IP) and port, then the NodePort tail
 *                       rule into KPROXY-NODEPORTS.
 * nat KPROXY-SVC-*      Cluster policy: spread over all usable endpoints.
 * nat KPROXY-SVL-*      Local policy: spread over this node's endpoints.
 * nat KPROXY-EXT-*      external destinations: masquerade and short-circuit
 *                       decisions, then SVC or SVL.
 * nat KPROXY-FW-*       loadBalancerSourceRanges.
 * nat KPROXY-SEP-*      one endpoint: hairpin masquerade, affinity, DNAT.
 * filter                REJECT without endpoints, DROP for Local policy without
 *                       local endpoints, health-check ports, forwarding.
 *
 * Everything is emitted in a fixed order (services by namespace/name, ports
 * by name, endpoints by "IP:port"), so the same state gives the same bytes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "proxy/xalloc.h"

/* Chains kproxy always owns, in the order they are declared. */
static const char *const fixed_chains[RULES_TABLE_COUNT][8] = {
	[RULES_TABLE_FILTER] = { "KPROXY-SERVICES", "KPROXY-EXTERNAL-SERVICES", "KPROXY-NODEPORTS",
				 "KPROXY-FORWARD", "KPROXY-FIREWALL", "KPROXY-LOCALNET",
				 "KPROXY-CANARY", NULL },
	[RULES_TABLE_NAT] = { "KPROXY-SERVICES", "KPROXY-NODEPORTS", "KPROXY-POSTROUTING",
			      "KPROXY-MARK-MASQ", "KPROXY-CANARY", NULL },
};

static const struct rules_jump jumps[] = {
	{ RULES_TABLE_FILTER, "INPUT",
	  "-m conntrack --ctstate NEW -m comment --comment \"kproxy externally-visible service "
	  "portals\" -j KPROXY-EXTERNAL-SERVICES",
	  "KPROXY-EXTERNAL-SERVICES", "kproxy externally-visible service portals" },
	{ RULES_TABLE_FILTER, "INPUT",
	  "-m comment --comment \"kproxy health check service ports\" -j KPROXY-NODEPORTS",
	  "KPROXY-NODEPORTS", "kproxy health check service ports" },
	{ RULES_TABLE_FILTER, "INPUT",
	  "-m conntrack --ctstate NEW -m comment --comment \"kproxy load balancer firewall\" -j "
	  "KPROXY-FIREWALL",
	  "KPROXY-FIREWALL", "kproxy load balancer firewall" },
	{ RULES_TABLE_FILTER, "INPUT",
	  "-m comment --comment \"kproxy localhost nodeport protection\" -j KPROXY-LOCALNET",
	  "KPROXY-LOCALNET", "kproxy localhost nodeport protection" },
	{ RULES_TABLE_FILTER, "FORWARD",
	  "-m conntrack --ctstate NEW -m comment --comment \"kproxy externally-visible service "
	  "portals\" -j KPROXY-EXTERNAL-SERVICES",
	  "KPROXY-EXTERNAL-SERVICES", "kproxy externally-visible service portals" },
	{ RULES_TABLE_FILTER, "FORWARD",
	  "-m conntrack --ctstate NEW -m comment --comment \"kproxy service portals\" -j "
	  "KPROXY-SERVICES",
	  "KPROXY-SERVICES", "kproxy service portals" },
	{ RULES_TABLE_FILTER, "FORWARD",
	  "-m comment --comment \"kproxy forwarding rules\" -j KPROXY-FORWARD", "KPROXY-FORWARD",
	  "kproxy forwarding rules" },
	{ RULES_TABLE_FILTER, "FORWARD",
	  "-m conntrack --ctstate NEW -m comment --comment \"kproxy load balancer firewall\" -j "
	  "KPROXY-FIREWALL",
	  "KPROXY-FIREWALL", "kproxy load balancer firewall" },
	{ RULES_TABLE_FILTER, "OUTPUT",
	  "-m conntrack --ctstate NEW -m comment --comment \"kproxy service portals\" -j "
	  "KPROXY-SERVICES",
	  "KPROXY-SERVICES", "kproxy service portals" },
	{ RULES_TABLE_FILTER, "OUTPUT",
	  "-m conntrack --ctstate NEW -m comment --comment \"kproxy load balancer firewall\" -j "
	  "KPROXY-FIREWALL",
	  "KPROXY-FIREWALL", "kproxy load balancer firewall" },
	{ RULES_TABLE_NAT, "PREROUTING",
	  "-m comment --comment \"kproxy service portals\" -j KPROXY-SERVICES", "KPROXY-SERVICES",
	  "kproxy service portals" },
	{ RULES_TABLE_NAT, "OUTPUT",
	  "-m comment --comment \"kproxy service portals\" -j KPROXY-SERVICES", "KPROXY-SERVICES",
	  "kproxy service portals" },
	{ RULES_TABLE_NAT, "POSTROUTING",
	  "-m comment --comment \"kproxy postrouting rules\" -j KPROXY-POSTROUTING",
	  "KPROXY-POSTROUTING", "kproxy postrouting rules" },
};

#define N_JUMPS (sizeof(jumps) / sizeof(jumps[0]))

const struct rules_jump *rules_jumps(size_t *n)
{
	*n = N_JUMPS;
	return jumps;
}

/* A chain built apart, then written only if its text changed. */
struct cbuf {
	char name[RULES_CHAIN_MAX];
	struct strbuf text;
	size_t rules;
};

/* Address buckets of KPROXY-SERVICES, then NodePort buckets of KPROXY-NODEPORTS. */
#define N_ADDR_BUCKETS		256
#define N_BUCKETS		(N_ADDR_BUCKETS + K8S_PROTO_COUNT * 256)
#define NPT_BUCKET(proto, port) (N_ADDR_BUCKETS + (unsigned)(proto)*256 + ((port) >> 8))

struct gen {
	const struct model *m;
	const struct rules_config *cfg;
	const struct rules_existing *existing;
	bool full;
	struct strbuf *warnings;
	bool count_only;
	struct rules_stats st;
	struct strbuf chains[RULES_TABLE_COUNT];
	struct strbuf rules[RULES_TABLE_COUNT];
	char mark[32];
	char cluster_cidr[K8S_ADDR_STRLEN];
	/* Every chain the kernel holds after this payload; nat per-service ones unsorted. */
	struct rules_existing after;
	bool large; /* large-cluster mode: no comments on endpoint rules */
	/*
	 * Chains shared by all Services (the fixed chains, the dispatch buckets)
	 * are built in buffers of their own and written only when their text
	 * changed since the last sync.
	 */
	struct cbuf fixed[RULES_TABLE_COUNT][8];
	struct cbuf tail; /* the NodePort rules that end nat KPROXY-SERVICES */
	/*
	 * Dispatch leaves in nat, used at scale (layout_dispatch()): buckets
	 * [0, 256) of KPROXY-SERVICES by a service address's last byte, then
	 * those of KPROXY-NODEPORTS by protocol and a NodePort's high byte
	 * (NPT_BUCKET()).
	 */
	struct cbuf dsp[N_BUCKETS];
	size_t n_dispatch;  /* rules of nat KPROXY-SERVICES that match an address */
	struct strbuf *cur; /* where rule_* write: a cbuf, or rules[t] */
	struct cbuf *cur_cbuf;
	/*
	 * Per-service nat chains go to svc_decls/svc_rules: the payload's own
	 * buffers, or, when batching, one Service's group, later moved whole
	 * into a batch.
	 */
	struct strbuf *svc_decls;
	struct strbuf *svc_rules;
	struct strbuf group;	   /* one Service's rules */
	struct strbuf group_decls; /* and the chains they need, declared first */
	size_t group_chains;
	struct strbuf batch;	   /* rules of the batch being filled */
	struct strbuf batch_decls; /* its chain declarations */
	size_t batch_chains;
	size_t grouped_chains;
	struct rules_output *out;
	/* The memo (see "The memo" below): the last build's, and this build's. */
	const struct rules_memo *old_memo; /* NULL: nothing may be replayed */
	size_t old_cursor;
	bool *old_replayed; /* per old entry: copied into this build */
	struct rules_memo *memo;
	/* Where the Service being recorded started in each shared chain. */
	size_t rec_fixed_len[RULES_TABLE_COUNT][8];
	size_t rec_fixed_rules[RULES_TABLE_COUNT][8];
	size_t rec_dsp_len[N_BUCKETS];
	size_t rec_dsp_rules[N_BUCKETS];
	unsigned dsp_serial[N_BUCKETS]; /* rec_serial when the bucket was first touched */
	unsigned rec_serial;
	uint16_t rec_touched[N_BUCKETS];
	size_t n_rec_touched;
	size_t rec_warnings;
	size_t rec_chain;
	size_t rec_dispatch;
	struct rules_stats rec_st;
};

/**
 * struct svcport - one port of one Service, with everything derived from it.
 * @name: "ns/name:port", or "ns/name" for an unnamed port.
 * @ext_local: external traffic policy Local applies (the Service is
 *	externally accessible and says Local, or has the 1.4 annotation with the
 *	gate on).
 * @in_cluster, @in_local: per endpoint, whether it is in the Cluster-policy
 *	set and in the Local-policy set.
 */
struct svcport {
	const struct model_service *svc;
	const struct k8s_service *spec;
	const struct k8s_service_port *port;
	char name[2 * K8S_MAX_NAME + K8S_MAX_LABEL_NAME + 4];
	const char *proto;
	const struct k8s_addr *cip;
	char cluster_ip[K8S_ADDR_STRLEN];
	char svc_chain[RULES_CHAIN_MAX];
	char svl_chain[RULES_CHAIN_MAX];
	char ext_chain[RULES_CHAIN_MAX];
	char fw_chain[RULES_CHAIN_MAX];
	const struct k8s_addr **external_ips;
	size_t n_external_ips;
	const struct k8s_addr **lb_ips;
	size_t n_lb_ips;
	const struct k8s_cidr **source_ranges;
	size_t n_source_ranges;
	bool ext_accessible;
	bool ext_local;
	bool int_local;
	uint16_t hc_port;
	struct model_endpoint *eps;
	size_t n_eps;
	bool *in_cluster;
	bool *in_local;
	struct rules_chain *sep; /* endpoint chain names, for endpoints in either set */
	size_t n_cluster;
	size_t n_local;
	bool has_endpoints;
	bool write_chains;
};

/*
 * Rules of unchanged Services are not written in a partial sync, but they
 * are still counted: in count_only mode the rule_* helpers only count.
 */
static void rule_begin(struct gen *g, enum rules_table t, const char *chain)
{
	g->cur = t == RULES_TABLE_NAT ? g->svc_rules : &g->rules[t];
	g->cur_cbuf = NULL;
	if (g->count_only)
		return;
	strbuf_add(g->cur, "-A ", 3);
	strbuf_adds(g->cur, chain);
}

static void cbuf_begin(struct gen *g, struct cbuf *c)
{
	g->cur = &c->text;
	g->cur_cbuf = c;
	strbuf_add(g->cur, "-A ", 3);
	strbuf_adds(g->cur, c->name);
}

static struct cbuf *fixed_cbuf(struct gen *g, enum rules_table t, const char *chain)
{
	size_t i;

	for (i = 0; fixed_chains[t][i]; i++)
		if (strcmp(fixed_chains[t][i], chain) == 0)
			break;
	return &g->fixed[t][i];
}

/* Starts a rule in one of the fixed chains (shared by all Services). */
static void rule_begin_fixed(struct gen *g, enum rules_table t, const char *chain)
{
	cbuf_begin(g, fixed_cbuf(g, t, chain));
}

static void rule_comment(struct gen *g, enum rules_table t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void rule_comment(struct gen *g, enum rules_table t, const char *fmt, ...)
{
	char text[RULES_COMMENT_MAX + 1];
	va_list ap;

	if (g->count_only && !g->cur_cbuf)
		return;
	(void)t;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	strbuf_adds(g->cur, " -m comment --comment ");
	rules_quote_comment(g->cur, text);
}

static void rule_add(struct gen *g, enum rules_table t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void rule_add(struct gen *g, enum rules_table t, const char *fmt, ...)
{
	va_list ap;

	(void)t;
	if (g->count_only && !g->cur_cbuf)
		return;
	strbuf_addc(g->cur, ' ');
	va_start(ap, fmt);
	strbuf_vaddf(g->cur, fmt, ap);
	va_end(ap);
}

static void rule_end(struct gen *g, enum rules_table t)
{
	if (g->cur_cbuf) {
		strbuf_addc(g->cur, '\n');
		g->cur_cbuf->rules++;
		return;
	}
	g->st.rules_total[t]++;
	if (g->count_only)
		return;
	strbuf_addc(g->cur, '\n');
	g->st.rules[t]++;
}

static void chain_declare(struct gen *g, enum rules_table t, const char *chain)
{
	strbuf_addc(&g->chains[t], ':');
	strbuf_adds(&g->chains[t], chain);
	strbuf_add(&g->chains[t], " - [0:0]\n", 9);
	g->st.chains[t]++;
}

static void chain_activate(struct gen *g, const char *chain)
{
	rules_existing_add(&g->after, RULES_TABLE_NAT, chain);
}

/* Declares a per-service nat chain if this sync writes the Service's chains. */
static void service_chain(struct gen *g, const struct svcport *sp, const char *chain)
{
	chain_activate(g, chain);
	if (!sp->write_chains)
		return;
	strbuf_addc(g->svc_decls, ':');
	strbuf_adds(g->svc_decls, chain);
	strbuf_add(g->svc_decls, " - [0:0]\n", 9);
	g->st.chains[RULES_TABLE_NAT]++;
	g->group_chains++;
}

static const struct k8s_addr *family_addr(const struct k8s_addr *addrs, size_t n,
					  enum k8s_family family)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (addrs[i].family == family)
			return &addrs[i];
	return NULL;
}

/*
 * A Service from a 1.4-1.6 API server says OnlyLocal through an annotation.
 * Servers since 1.7 always fill in spec.externalTrafficPolicy, and then a
 * leftover annotation means nothing.
 */
bool rules_legacy_only_local(const struct k8s_service *spec, const struct featuregate_set *gates)
{
	if (spec->legacy_traffic != K8S_LEGACY_ONLY_LOCAL || spec->external_policy_set)
		return false;
	if (spec->type != K8S_SVC_NODE_PORT && spec->type != K8S_SVC_LOAD_BALANCER)
		return false;
	return featuregate_enabled(gates, FEATUREGATE_ALLOW_EXT_TRAFFIC_LOCAL_ENDPOINTS);
}

/*
 * Only a LoadBalancer with Local policy has a health-check node port, and its
 * port is served even before the LB has an address.
 */
uint16_t rules_health_check_port(const struct k8s_service *spec,
				 const struct featuregate_set *gates)
{
	if (spec->type != K8S_SVC_LOAD_BALANCER || spec->headless || spec->proxy_name_label)
		return 0;
	if (spec->external_policy == K8S_POLICY_LOCAL)
		return spec->health_check_node_port;
	if (rules_legacy_only_local(spec, gates))
		return spec->legacy_hc_node_port;
	return 0;
}

static bool legacy_only_local(struct gen *g, const struct k8s_service *spec)
{
	return rules_legacy_only_local(spec, g->cfg->gates);
}

static void warn_legacy(struct gen *g, const struct k8s_service *spec)
{
	/* kube-proxy 1.5 logged such a value and went on without it. */
	if (g->warnings && spec->legacy_traffic_bad && !spec->external_policy_set)
		strbuf_addf(g->warnings,
			    "service %s/%s: annotation %s: \"%s\" is neither OnlyLocal nor Global; "
			    "ignored\n",
			    spec->namespace, spec->name, spec->legacy_traffic_bad_key,
			    spec->legacy_traffic_bad);
	if (!g->warnings || spec->legacy_traffic == K8S_LEGACY_UNSET || spec->external_policy_set)
		return;
	if (featuregate_enabled(g->cfg->gates, FEATUREGATE_ALLOW_EXT_TRAFFIC_LOCAL_ENDPOINTS))
		return;
	strbuf_addf(g->warnings,
		    "service %s/%s: external-traffic annotation ignored: feature gate "
		    "AllowExtTrafficLocalEndpoints is off\n",
		    spec->namespace, spec->name);
}

/* Collects the service addresses of the generator's family. */
static void svcport_addresses(struct gen *g, struct svcport *sp)
{
	const struct k8s_service *spec = sp->spec;
	enum k8s_family family = g->cfg->family;
	bool ip_mode = featuregate_enabled(g->cfg->gates, FEATUREGATE_LOADBALANCER_IP_MODE);
	size_t i;

	sp->external_ips = xcalloc(spec->n_external_ips + 1, sizeof(*sp->external_ips));
	for (i = 0; i < spec->n_external_ips; i++)
		if (spec->external_ips[i].family == family)
			sp->external_ips[sp->n_external_ips++] = &spec->external_ips[i];

	/* A LoadBalancer whose ipMode is Proxy delivers to the node itself. */
	sp->lb_ips = xcalloc(spec->n_lb_ingress + 1, sizeof(*sp->lb_ips));
	for (i = 0; i < spec->n_lb_ingress; i++) {
		if (spec->lb_ingress[i].ip.family != family)
			continue;
		if (ip_mode && spec->lb_ingress[i].ip_mode == K8S_IPMODE_PROXY)
			continue;
		sp->lb_ips[sp->n_lb_ips++] = &spec->lb_ingress[i].ip;
	}

	sp->source_ranges = xcalloc(spec->n_source_ranges + 1, sizeof(*sp->source_ranges));
	for (i = 0; i < spec->n_source_ranges; i++)
		if (spec->source_ranges[i].addr.family == family)
			sp->source_ranges[sp->n_source_ranges++] = &spec->source_ranges[i];
}

/*
 * Sorts the endpoints into the Cluster-policy set (ready endpoints anywhere,
 * or serving+terminating ones when none is ready) and the Local-policy set
 * (the same choice among this node's endpoints).
 *
 * Topology-aware routing narrows the Cluster-policy set as kube-proxy does:
 * when every ready endpoint has zone hints (the EndpointSlice controller
 * writes them for Services with topology-mode Auto or trafficDistribution
 * PreferClose) and at least one is hinted for this node's zone, only those
 * are used. Otherwise (a hint missing, none for this zone, a node without a
 * zone label) the hints are ignored.
 */
static void svcport_categorize(struct gen *g, struct svcport *sp)
{
	bool terminating =
		featuregate_enabled(g->cfg->gates, FEATUREGATE_PROXY_TERMINATING_ENDPOINTS);
	bool uses_cluster = !sp->int_local || sp->ext_accessible;
	bool uses_local = sp->int_local || sp->ext_local;
	bool any_ready = false, local_ready = false, all_hinted = true, any_for_zone = false;
	bool by_zone;
	size_t i;

	sp->in_cluster = xcalloc(sp->n_eps + 1, sizeof(bool));
	sp->in_local = xcalloc(sp->n_eps + 1, sizeof(bool));
	for (i = 0; i < sp->n_eps; i++) {
		const struct model_endpoint *ep = &sp->eps[i];

		if (ep->ready) {
			any_ready = true;
			local_ready |= ep->local;
			all_hinted &= ep->zone_hinted;
			any_for_zone |= ep->for_this_zone;
		}
		if (ep->ready || (terminating && ep->serving && ep->terminating))
			sp->has_endpoints = true;
	}
	by_zone = any_ready && all_hinted && any_for_zone;
	for (i = 0; i < sp->n_eps; i++) {
		const struct model_endpoint *ep = &sp->eps[i];
		bool fallback = terminating && ep->serving && ep->terminating;
		bool usable = ep->ready && (!by_zone || ep->for_this_zone);

		if (uses_cluster && (any_ready ? usable : fallback)) {
			sp->in_cluster[i] = true;
			sp->n_cluster++;
		}
		if (uses_local && ep->local && (local_ready ? ep->ready : fallback)) {
			sp->in_local[i] = true;
			sp->n_local++;
		}
	}
	/* Each endpoint chain name is a SHA-256: compute it once. */
	sp->sep = xcalloc(sp->n_eps + 1, sizeof(*sp->sep));
	for (i = 0; i < sp->n_eps; i++)
		if (sp->in_cluster[i] || sp->in_local[i])
			rules_chain_name(sp->sep[i].name, "SEP", sp->name, sp->port->protocol,
					 sp->eps[i].str);
}

/* Returns false when the port has no cluster IP of this family. */
static bool svcport_init(struct gen *g, struct svcport *sp, const struct model_service *svc,
			 const struct k8s_service_port *port)
{
	const struct k8s_service *spec = svc->spec;
	const struct k8s_addr *cip;

	memset(sp, 0, sizeof(*sp));
	cip = family_addr(spec->cluster_ips, spec->n_cluster_ips, g->cfg->family);
	if (!cip)
		return false;
	sp->svc = svc;
	sp->spec = spec;
	sp->port = port;
	sp->proto = k8s_protocol_lower(port->protocol);
	sp->cip = cip;
	k8s_addr_format(cip, sp->cluster_ip);
	if (port->name[0])
		snprintf(sp->name, sizeof(sp->name), "%s/%s:%s", spec->namespace, spec->name,
			 port->name);
	else
		snprintf(sp->name, sizeof(sp->name), "%s/%s", spec->namespace, spec->name);
	rules_chain_name(sp->svc_chain, "SVC", sp->name, port->protocol, NULL);
	rules_chain_name(sp->svl_chain, "SVL", sp->name, port->protocol, NULL);
	rules_chain_name(sp->ext_chain, "EXT", sp->name, port->protocol, NULL);
	rules_chain_name(sp->fw_chain, "FW", sp->name, port->protocol, NULL);
	svcport_addresses(g, sp);

	sp->ext_accessible = port->node_port || sp->n_lb_ips || sp->n_external_ips;
	sp->ext_local = sp->ext_accessible &&
			(spec->external_policy == K8S_POLICY_LOCAL || legacy_only_local(g, spec));
	sp->hc_port = rules_health_check_port(spec, g->cfg->gates);
	sp->int_local =
		spec->internal_policy == K8S_POLICY_LOCAL &&
		featuregate_enabled(g->cfg->gates, FEATUREGATE_SERVICE_INTERNAL_TRAFFIC_POLICY);
	sp->write_chains = g->full || svc->dirty;
	sp->eps = model_port_endpoints(g->m, svc, port, g->cfg->family, &sp->n_eps);
	svcport_categorize(g, sp);
	return true;
}

static void svcport_fini(struct svcport *sp)
{
	free(sp->external_ips);
	free(sp->lb_ips);
	free(sp->source_ranges);
	free(sp->eps);
	free(sp->in_cluster);
	free(sp->in_local);
	free(sp->sep);
}

/* A rule matching one service address and port: "-m tcp -p tcp -d IP --dport N". */
static void match_vip(struct gen *g, enum rules_table t, const struct svcport *sp, const char *ip)
{
	rule_add(g, t, "-m %s -p %s -d %s --dport %u", sp->proto, sp->proto, ip, sp->port->port);
}

/*
 * Writes 1/d with ten decimals, as printf("%0.10f") would, without printf:
 * this runs once per endpoint. Only an exact decimal tie depends on how the
 * double 1.0/d was rounded in binary; that rare case goes to printf itself.
 */
void rules_format_probability(char *buf, size_t size, unsigned d)
{
	unsigned long long scale = 10000000000ull, q = scale / d, r = scale % d;

	if (2 * r == d) {
		snprintf(buf, size, "%0.10f", 1.0 / (double)d);
		return;
	}
	if (2 * r > d)
		q++;
	snprintf(buf, size, "%llu.%010llu", q / scale, q % scale);
}

/* Appends " -m comment --comment <svc> -> <ep>" unless in large-cluster mode. */
static void endpoint_comment(struct gen *g, const struct svcport *sp, size_t i, bool arrow)
{
	if (g->large || g->count_only)
		return;
	if (arrow)
		rule_comment(g, RULES_TABLE_NAT, "%s -> %s", sp->name, sp->eps[i].str);
	else
		rule_comment(g, RULES_TABLE_NAT, "%s", sp->name);
}

static void write_service_to_endpoints(struct gen *g, const struct svcport *sp, const char *chain,
				       const bool *in_set, size_t n_set)
{
	struct strbuf *r = g->svc_rules;
	char prob[32];
	size_t i, k = 0;

	if (sp->spec->affinity == K8S_AFFINITY_CLIENT_IP) {
		for (i = 0; i < sp->n_eps; i++) {
			if (!in_set[i])
				continue;
			rule_begin(g, RULES_TABLE_NAT, chain);
			endpoint_comment(g, sp, i, true);
			rule_add(g, RULES_TABLE_NAT,
				 "-m recent --name %s --rcheck --seconds %u --reap -j %s",
				 sp->sep[i].name, sp->spec->affinity_timeout, sp->sep[i].name);
			rule_end(g, RULES_TABLE_NAT);
		}
	}
	for (i = 0; i < sp->n_eps; i++) {
		if (!in_set[i])
			continue;
		rule_begin(g, RULES_TABLE_NAT, chain);
		endpoint_comment(g, sp, i, true);
		/*
		 * Endpoint i of n is taken with probability 1/(n-i), which
		 * makes every endpoint equally likely; the last one always
		 * matches. Ten decimals keep the split even at 1,000 endpoints.
		 */
		if (!g->count_only) {
			if (k < n_set - 1) {
				rules_format_probability(prob, sizeof(prob), (unsigned)(n_set - k));
				strbuf_adds(r, " -m statistic --mode random --probability ");
				strbuf_adds(r, prob);
			}
			strbuf_adds(r, " -j ");
			strbuf_adds(r, sp->sep[i].name);
		}
		rule_end(g, RULES_TABLE_NAT);
		k++;
	}
}

static void write_endpoint_chains(struct gen *g, const struct svcport *sp)
{
	struct strbuf *r = g->svc_rules;
	char ip[K8S_ADDR_STRLEN];
	size_t i;

	for (i = 0; i < sp->n_eps; i++) {
		if (!sp->in_cluster[i] && !sp->in_local[i])
			continue;
		g->st.endpoints++;
		service_chain(g, sp, sp->sep[i].name);
		if (g->count_only) {
			g->st.rules_total[RULES_TABLE_NAT] += 2;
			continue;
		}
		k8s_addr_format(&sp->eps[i].addr, ip);
		/* An endpoint reaching itself through the service must be masqueraded. */
		rule_begin(g, RULES_TABLE_NAT, sp->sep[i].name);
		endpoint_comment(g, sp, i, false);
		strbuf_adds(r, " -s ");
		strbuf_adds(r, ip);
		strbuf_adds(r, " -j KPROXY-MARK-MASQ");
		rule_end(g, RULES_TABLE_NAT);

		rule_begin(g, RULES_TABLE_NAT, sp->sep[i].name);
		endpoint_comment(g, sp, i, false);
		if (sp->spec->affinity == K8S_AFFINITY_CLIENT_IP)
			rule_add(g, RULES_TABLE_NAT, "-m recent --name %s --set", sp->sep[i].name);
		strbuf_adds(r, " -m ");
		strbuf_adds(r, sp->proto);
		strbuf_adds(r, " -p ");
		strbuf_adds(r, sp->proto);
		strbuf_adds(r, " -j DNAT --to-destination ");
		strbuf_adds(r, sp->eps[i].str);
		rule_end(g, RULES_TABLE_NAT);
	}
}

static void write_ext_chain(struct gen *g, const struct svcport *sp, bool has_ext)
{
	const char *policy_chain = sp->ext_local ? sp->svl_chain : sp->svc_chain;

	if (!sp->ext_local) {
		/* Cluster policy may cross nodes: the reply must come back here. */
		rule_begin(g, RULES_TABLE_NAT, sp->ext_chain);
		rule_comment(g, RULES_TABLE_NAT, "masquerade traffic for %s external destinations",
			     sp->name);
		rule_add(g, RULES_TABLE_NAT, "-j KPROXY-MARK-MASQ");
		rule_end(g, RULES_TABLE_NAT);
	} else {
		/*
		 * Pods on this node reach all endpoints without masquerade, as
		 * if their packet had gone out to the load balancer and back.
		 */
		if (g->cluster_cidr[0]) {
			rule_begin(g, RULES_TABLE_NAT, sp->ext_chain);
			rule_comment(g, RULES_TABLE_NAT, "pod traffic for %s external destinations",
				     sp->name);
			rule_add(g, RULES_TABLE_NAT, "-s %s -j %s", g->cluster_cidr, sp->svc_chain);
			rule_end(g, RULES_TABLE_NAT);
		}
		/*
		 * The node itself would use the (local) service address as the
		 * source, so its traffic is masqueraded and may use any endpoint.
		 */
		rule_begin(g, RULES_TABLE_NAT, sp->ext_chain);
		rule_comment(g, RULES_TABLE_NAT,
			     "masquerade LOCAL traffic for %s external destinations", sp->name);
		rule_add(g, RULES_TABLE_NAT, "-m addrtype --src-type LOCAL -j KPROXY-MARK-MASQ");
		rule_end(g, RULES_TABLE_NAT);

		rule_begin(g, RULES_TABLE_NAT, sp->ext_chain);
		rule_comment(g, RULES_TABLE_NAT, "route LOCAL traffic for %s external destinations",
			     sp->name);
		rule_add(g, RULES_TABLE_NAT, "-m addrtype --src-type LOCAL -j %s", sp->svc_chain);
		rule_end(g, RULES_TABLE_NAT);
	}
	/* Without local endpoints the packet falls through and filter drops it. */
	if (has_ext) {
		rule_begin(g, RULES_TABLE_NAT, sp->ext_chain);
		rule_add(g, RULES_TABLE_NAT, "-j %s", policy_chain);
		rule_end(g, RULES_TABLE_NAT);
	}
}

/* The node's primary address of the family: its first InternalIP (or ExternalIP). */
static const struct k8s_addr *node_primary(struct gen *g)
{
	const struct k8s_node *node = model_node(g->m);

	return node ? family_addr(node->addrs, node->n_addrs, g->cfg->family) : NULL;
}

static bool node_in_range(struct gen *g, const struct k8s_cidr *cidr)
{
	const struct k8s_addr *primary = node_primary(g);

	return primary && k8s_cidr_contains(cidr, primary);
}

static void write_fw_chain(struct gen *g, const struct svcport *sp)
{
	char buf[K8S_ADDR_STRLEN];
	bool allow_from_node = false;
	size_t i;

	for (i = 0; i < sp->n_source_ranges; i++) {
		rule_begin(g, RULES_TABLE_NAT, sp->fw_chain);
		rule_comment(g, RULES_TABLE_NAT, "%s loadbalancer IP", sp->name);
		rule_add(g, RULES_TABLE_NAT, "-s %s -j %s",
			 k8s_cidr_format(sp->source_ranges[i], buf), sp->ext_chain);
		rule_end(g, RULES_TABLE_NAT);
		allow_from_node |= node_in_range(g, sp->source_ranges[i]);
	}
	/*
	 * A node that holds the LB IP locally talks to it with the LB IP as its
	 * source; let that through when the node itself is allowed.
	 */
	if (allow_from_node) {
		for (i = 0; i < sp->n_lb_ips; i++) {
			rule_begin(g, RULES_TABLE_NAT, sp->fw_chain);
			rule_comment(g, RULES_TABLE_NAT, "%s loadbalancer IP", sp->name);
			rule_add(g, RULES_TABLE_NAT, "-s %s -j %s",
				 k8s_addr_format(sp->lb_ips[i], buf), sp->ext_chain);
			rule_end(g, RULES_TABLE_NAT);
		}
	}
	rule_begin(g, RULES_TABLE_NAT, sp->fw_chain);
	rule_comment(g, RULES_TABLE_NAT, "other traffic to %s will be dropped by KPROXY-FIREWALL",
		     sp->name);
	rule_end(g, RULES_TABLE_NAT);
}

/* Filter rule for an external address without (local) endpoints. */
static void write_ext_filter(struct gen *g, const struct svcport *sp, const char *ip,
			     const char *comment, const char *target)
{
	rule_begin_fixed(g, RULES_TABLE_FILTER, "KPROXY-EXTERNAL-SERVICES");
	rule_comment(g, RULES_TABLE_FILTER, "%s %s", sp->name, comment);
	match_vip(g, RULES_TABLE_FILTER, sp, ip);
	rule_add(g, RULES_TABLE_FILTER, "-j %s", target);
	rule_end(g, RULES_TABLE_FILTER);
}

/* The dispatch bucket of an address: its last byte, which allocation spreads evenly. */
static unsigned dispatch_bucket(const struct k8s_addr *addr)
{
	return addr->bytes[addr->family == K8S_FAMILY_IPV4 ? 3 : 15];
}

/*
 * Copies the rule just written at offset start of a fixed nat chain into
 * bucket b (renamed): which of the two layouts is written is decided once
 * all rules are known (layout_dispatch()).
 */
static void bucket_copy(struct gen *g, const struct cbuf *flat, size_t start, unsigned b)
{
	struct cbuf *bucket = &g->dsp[b];

	start += strlen("-A ") + strlen(flat->name);
	if (g->dsp_serial[b] != g->rec_serial) {
		g->dsp_serial[b] = g->rec_serial;
		g->rec_dsp_len[b] = bucket->text.len;
		g->rec_dsp_rules[b] = bucket->rules;
		g->rec_touched[g->n_rec_touched++] = (uint16_t)b;
	}
	strbuf_add(&bucket->text, "-A ", 3);
	strbuf_adds(&bucket->text, bucket->name);
	strbuf_add(&bucket->text, flat->text.buf + start, flat->text.len - start);
	bucket->rules++;
}

/*
 * Writes a rule of nat KPROXY-SERVICES that sends one service address and
 * port to target, and the same rule into the dispatch bucket of the address.
 */
static void dispatch_rule(struct gen *g, const struct svcport *sp, const struct k8s_addr *addr,
			  const char *ip, const char *what, const char *target)
{
	struct cbuf *flat = fixed_cbuf(g, RULES_TABLE_NAT, "KPROXY-SERVICES");
	size_t start = flat->text.len;

	rule_begin_fixed(g, RULES_TABLE_NAT, "KPROXY-SERVICES");
	rule_comment(g, RULES_TABLE_NAT, "%s %s", sp->name, what);
	match_vip(g, RULES_TABLE_NAT, sp, ip);
	rule_add(g, RULES_TABLE_NAT, "-j %s", target);
	rule_end(g, RULES_TABLE_NAT);
	bucket_copy(g, flat, start, dispatch_bucket(addr));
	g->n_dispatch++;
}

static void write_svcport(struct gen *g, struct svcport *sp)
{
	bool has_int = sp->has_endpoints && (!sp->int_local || sp->n_local > 0);
	bool has_ext = sp->has_endpoints && (!sp->ext_local || sp->n_local > 0);
	bool uses_ext = sp->has_endpoints && sp->ext_accessible;
	bool uses_fw = sp->has_endpoints && sp->n_lb_ips && sp->n_source_ranges;
	bool uses_svc = sp->n_cluster > 0;
	bool uses_svl = sp->n_local > 0;
	const char *int_chain = sp->int_local ? sp->svl_chain : sp->svc_chain;
	const char *lb_chain = uses_fw ? sp->fw_chain : sp->ext_chain;
	const char *int_target = "REJECT", *int_comment = "has no endpoints";
	const char *ext_target = "REJECT", *ext_comment = "has no endpoints";
	char ip[K8S_ADDR_STRLEN];
	size_t i;

	if (sp->has_endpoints) {
		int_target = "DROP";
		int_comment = "has no local endpoints";
		ext_target = "DROP";
		ext_comment = "has no local endpoints";
		if (!has_int)
			g->st.no_local_internal++;
		if (!has_ext)
			g->st.no_local_external++;
	}
	if (uses_ext)
		service_chain(g, sp, sp->ext_chain);
	if (uses_fw)
		service_chain(g, sp, sp->fw_chain);
	if (uses_svc)
		service_chain(g, sp, sp->svc_chain);
	if (uses_svl)
		service_chain(g, sp, sp->svl_chain);

	/* Cluster IP. */
	if (has_int) {
		dispatch_rule(g, sp, sp->cip, sp->cluster_ip, "cluster IP", int_chain);
	} else {
		rule_begin_fixed(g, RULES_TABLE_FILTER, "KPROXY-SERVICES");
		rule_comment(g, RULES_TABLE_FILTER, "%s %s", sp->name, int_comment);
		match_vip(g, RULES_TABLE_FILTER, sp, sp->cluster_ip);
		rule_add(g, RULES_TABLE_FILTER, "-j %s", int_target);
		rule_end(g, RULES_TABLE_FILTER);
	}

	/* External IPs. */
	for (i = 0; i < sp->n_external_ips; i++) {
		k8s_addr_format(sp->external_ips[i], ip);
		if (sp->has_endpoints)
			dispatch_rule(g, sp, sp->external_ips[i], ip, "external IP", sp->ext_chain);
		if (!has_ext)
			write_ext_filter(g, sp, ip, ext_comment, ext_target);
	}

	/* LoadBalancer ingress IPs. */
	for (i = 0; i < sp->n_lb_ips; i++) {
		k8s_addr_format(sp->lb_ips[i], ip);
		if (sp->has_endpoints)
			dispatch_rule(g, sp, sp->lb_ips[i], ip, "loadbalancer IP", lb_chain);
		if (uses_fw) {
			rule_begin_fixed(g, RULES_TABLE_FILTER, "KPROXY-FIREWALL");
			rule_comment(g, RULES_TABLE_FILTER, "%s traffic not accepted by %s",
				     sp->name, sp->fw_chain);
			match_vip(g, RULES_TABLE_FILTER, sp, ip);
			rule_add(g, RULES_TABLE_FILTER, "-j DROP");
			rule_end(g, RULES_TABLE_FILTER);
		}
	}
	if (!has_ext) {
		for (i = 0; i < sp->n_lb_ips; i++)
			write_ext_filter(g, sp, k8s_addr_format(sp->lb_ips[i], ip), ext_comment,
					 ext_target);
	}

	/* NodePort; loadBalancerSourceRanges do not apply to it. */
	if (sp->port->node_port) {
		if (sp->has_endpoints) {
			struct cbuf *flat = fixed_cbuf(g, RULES_TABLE_NAT, "KPROXY-NODEPORTS");
			size_t start = flat->text.len;

			rule_begin_fixed(g, RULES_TABLE_NAT, "KPROXY-NODEPORTS");
			rule_comment(g, RULES_TABLE_NAT, "%s", sp->name);
			rule_add(g, RULES_TABLE_NAT, "-m %s -p %s --dport %u -j %s", sp->proto,
				 sp->proto, sp->port->node_port, sp->ext_chain);
			rule_end(g, RULES_TABLE_NAT);
			bucket_copy(g, flat, start,
				    NPT_BUCKET(sp->port->protocol, sp->port->node_port));
		}
		if (!has_ext) {
			rule_begin_fixed(g, RULES_TABLE_FILTER, "KPROXY-EXTERNAL-SERVICES");
			rule_comment(g, RULES_TABLE_FILTER, "%s %s", sp->name, ext_comment);
			rule_add(g, RULES_TABLE_FILTER,
				 "-m addrtype --dst-type LOCAL -m %s -p %s --dport %u -j %s",
				 sp->proto, sp->proto, sp->port->node_port, ext_target);
			rule_end(g, RULES_TABLE_FILTER);
		}
	}

	/* The health-check node port is accepted whether or not endpoints exist. */
	if (sp->hc_port) {
		rule_begin_fixed(g, RULES_TABLE_FILTER, "KPROXY-NODEPORTS");
		rule_comment(g, RULES_TABLE_FILTER, "%s health check node port", sp->name);
		rule_add(g, RULES_TABLE_FILTER, "-m tcp -p tcp --dport %u -j ACCEPT", sp->hc_port);
		rule_end(g, RULES_TABLE_FILTER);
	}

	/* Unchanged Services keep their chains in the kernel as they are. */
	g->count_only = !sp->write_chains;

	/*
	 * Traffic to the cluster IP from outside the pod network may come back
	 * through another node, so it is masqueraded.
	 */
	if (has_int && (g->cfg->masquerade_all || g->cluster_cidr[0])) {
		rule_begin(g, RULES_TABLE_NAT, int_chain);
		rule_comment(g, RULES_TABLE_NAT, "%s cluster IP", sp->name);
		match_vip(g, RULES_TABLE_NAT, sp, sp->cluster_ip);
		if (!g->cfg->masquerade_all)
			rule_add(g, RULES_TABLE_NAT, "! -s %s", g->cluster_cidr);
		rule_add(g, RULES_TABLE_NAT, "-j KPROXY-MARK-MASQ");
		rule_end(g, RULES_TABLE_NAT);
	}
	if (uses_ext)
		write_ext_chain(g, sp, has_ext);
	if (uses_fw)
		write_fw_chain(g, sp);
	if (uses_svc)
		write_service_to_endpoints(g, sp, sp->svc_chain, sp->in_cluster, sp->n_cluster);
	if (uses_svl)
		write_service_to_endpoints(g, sp, sp->svl_chain, sp->in_local, sp->n_local);
	write_endpoint_chains(g, sp);
	g->count_only = false;
}

static int port_cmp(const void *a, const void *b)
{
	const struct k8s_service_port *x = *(const struct k8s_service_port *const *)a;
	const struct k8s_service_port *y = *(const struct k8s_service_port *const *)b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return (int)x->protocol - (int)y->protocol;
}

/* Moves the batch being filled into the output as one restore of its own. */
static void emit_batch(struct gen *g)
{
	struct rules_output *out = g->out;
	struct strbuf *b;

	out->batches = xreallocarray(out->batches, out->n_batches + 1, sizeof(*out->batches));
	b = &out->batches[out->n_batches++];
	strbuf_init(b);
	strbuf_adds(b, "*nat\n");
	strbuf_add(b, strbuf_str(&g->batch_decls), g->batch_decls.len);
	strbuf_add(b, strbuf_str(&g->batch), g->batch.len);
	strbuf_adds(b, "COMMIT\n");
	strbuf_reset(&g->batch_decls);
	strbuf_reset(&g->batch);
	g->batch_chains = 0;
}

/*
 * With batching, each Service's chains (declarations, then rules) form one
 * group; groups fill batches of about batch_chains chains. A batch touches
 * only its own Services' chains, which nothing new references yet, so
 * applying it first changes each of those Services at once and nothing else.
 */
static void close_group(struct gen *g)
{
	if (!g->group_chains && !g->group.len)
		return;
	strbuf_add(&g->batch_decls, strbuf_str(&g->group_decls), g->group_decls.len);
	strbuf_add(&g->batch, strbuf_str(&g->group), g->group.len);
	strbuf_reset(&g->group_decls);
	g->batch_chains += g->group_chains;
	g->grouped_chains += g->group_chains;
	strbuf_reset(&g->group);
	g->group_chains = 0;
	if (g->batch_chains < g->cfg->batch_chains)
		return;
	emit_batch(g);
}

/*
 * Batches are worth it only when the payload is large: otherwise everything
 * goes back into the one atomic payload. When they are used, a first batch
 * creates the fixed chains the others jump to, if the kernel lacks them.
 */
static void finish_batches(struct gen *g)
{
	struct rules_output *out = g->out;
	struct strbuf first = STRBUF_INIT;
	size_t i, k;
	bool found;

	if (!g->cfg->batch_chains)
		return;
	/* Small: the same bytes as without batching, in the one payload. */
	if (!out->n_batches) {
		strbuf_add(&g->chains[RULES_TABLE_NAT], strbuf_str(&g->batch_decls),
			   g->batch_decls.len);
		strbuf_add(&g->rules[RULES_TABLE_NAT], strbuf_str(&g->batch), g->batch.len);
		strbuf_fini(&g->batch_decls);
		strbuf_fini(&g->batch);
		return;
	}
	if (g->batch.len || g->batch_decls.len)
		emit_batch(g);
	strbuf_fini(&g->batch_decls);
	strbuf_fini(&g->batch);
	strbuf_adds(&first, "*nat\n");
	for (i = 0; fixed_chains[RULES_TABLE_NAT][i]; i++) {
		found = false;
		for (k = 0; g->existing && k < g->existing->n_chains[RULES_TABLE_NAT] && !found;
		     k++)
			found = strcmp(g->existing->chains[RULES_TABLE_NAT][k].name,
				       fixed_chains[RULES_TABLE_NAT][i]) == 0;
		if (!found)
			strbuf_addf(&first, ":%s - [0:0]\n", fixed_chains[RULES_TABLE_NAT][i]);
	}
	strbuf_adds(&first, "COMMIT\n");
	out->batches = xreallocarray(out->batches, out->n_batches + 1, sizeof(*out->batches));
	memmove(&out->batches[1], &out->batches[0], out->n_batches * sizeof(*out->batches));
	out->batches[0] = first;
	out->n_batches++;
}

static void write_service_rules(struct gen *g, const struct model_service *svc)
{
	const struct k8s_service *spec = svc->spec;
	const struct k8s_service_port **ports;
	struct svcport sp;
	size_t i;

	/* Headless and ExternalName Services, and those another proxy owns, get no rules. */
	if (spec->headless || spec->proxy_name_label || spec->type == K8S_SVC_EXTERNAL_NAME)
		return;
	warn_legacy(g, spec);
	ports = xcalloc(spec->n_ports + 1, sizeof(*ports));
	for (i = 0; i < spec->n_ports; i++)
		ports[i] = &spec->ports[i];
	qsort(ports, spec->n_ports, sizeof(*ports), port_cmp);
	for (i = 0; i < spec->n_ports; i++) {
		if (!svcport_init(g, &sp, svc, ports[i]))
			continue;
		g->st.services++;
		write_svcport(g, &sp);
		svcport_fini(&sp);
	}
	free(ports);
	if (g->cfg->batch_chains)
		close_group(g);
}

/*
 * The memo.
 *
 * Most of a build's time at 10,000 Services goes to working out what each
 * Service contributes: chain names (SHA-256 hashes), endpoints merged from
 * slices and sorted, rules formatted. A partial build writes the chains of
 * changed Services only, but the shared chains (fixed chains, dispatch
 * buckets) and the record of the kernel need every Service's part. So each
 * build records, per Service, its rules in the shared chains, its chain names
 * (a range of the record's nat chains, which is kept in build order), its
 * warnings and figures; the next partial build copies that for every Service
 * that is not dirty, which gives the same bytes as working it out again.
 *
 * A memo is valid only in the same context (memo_context()); any change there
 * and every Service is worked out and written again.
 */

/* cbuf index in a segment: fixed chain i of table t is t * 8 + i, bucket b is MEMO_DSP + b. */
#define MEMO_DSP 16

struct memo_seg {
	uint16_t cbuf;
	uint32_t len;
	uint32_t rules;
};

/**
 * struct svc_memo - one Service's part of a build.
 * @old: in a build being made, the index of the same Service's entry in the
 *	last memo (SIZE_MAX: none); @replayed: copied from it.
 */
struct svc_memo {
	char *key;
	size_t chain_start;
	size_t n_chains;
	char *text;
	struct memo_seg *segs;
	size_t n_segs;
	char *warnings;
	size_t warnings_len;
	struct rules_stats st;
	size_t n_dispatch;
	size_t old;
	bool replayed;
};

struct rules_memo {
	uint64_t context;
	struct svc_memo *svcs;
	size_t n;
	size_t cap;
};

static void *memdup(const void *p, size_t n)
{
	void *q;

	if (!n)
		return NULL;
	q = xmalloc(n);
	memcpy(q, p, n);
	return q;
}

static void svc_memo_fini(struct svc_memo *e)
{
	free(e->key);
	free(e->text);
	free(e->segs);
	free(e->warnings);
}

void rules_memo_free(struct rules_memo *memo)
{
	size_t i;

	if (!memo)
		return;
	for (i = 0; i < memo->n; i++)
		svc_memo_fini(&memo->svcs[i]);
	free(memo->svcs);
	free(memo);
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t fnv_addr(uint64_t h, const struct k8s_addr *a)
{
	h = fnv(h, &a->family, sizeof(a->family));
	return fnv(h, a->bytes, sizeof(a->bytes));
}

/*
 * Everything besides a Service and its endpoints that a Service's part
 * depends on: the flags, large-cluster mode, and the Node's primary address
 * (the loadBalancerSourceRanges rule that lets the node reach its own LB).
 * Not the node's interface addresses: they shape only the NodePort tail,
 * which every build works out again; a pod's veth coming and going must not
 * make every sync a full one.
 */
static uint64_t memo_context(struct gen *g)
{
	const struct rules_config *c = g->cfg;
	const struct k8s_node *node = model_node(g->m);
	const struct k8s_addr *primary = node_primary(g);
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned flags = (unsigned)c->masquerade_all | (unsigned)c->localhost_nodeports << 1 |
			 (unsigned)c->nodeport_primary << 2 | (unsigned)g->large << 3 |
			 (unsigned)(primary != NULL) << 4;
	size_t i;

	h = fnv(h, &c->family, sizeof(c->family));
	h = fnv(h, &c->masquerade_bit, sizeof(c->masquerade_bit));
	h = fnv(h, &flags, sizeof(flags));
	if (primary)
		h = fnv_addr(h, primary);
	/* Zone hints are read for this node's zone. */
	if (node && node->zone)
		h = fnv(h, node->zone, strlen(node->zone) + 1);
	h = fnv(h, g->cluster_cidr, strlen(g->cluster_cidr));
	if (c->gates)
		h = fnv(h, c->gates, sizeof(*c->gates));
	for (i = 0; i < c->n_nodeport_cidrs; i++) {
		h = fnv_addr(h, &c->nodeport_cidrs[i].addr);
		h = fnv(h, &c->nodeport_cidrs[i].prefix, sizeof(c->nodeport_cidrs[i].prefix));
	}
	return h;
}

static struct cbuf *memo_cbuf(struct gen *g, unsigned idx)
{
	if (idx >= MEMO_DSP)
		return &g->dsp[idx - MEMO_DSP];
	return &g->fixed[idx / 8][idx % 8];
}

static void stats_part(struct rules_stats *d, const struct rules_stats *now,
		       const struct rules_stats *before)
{
	int t;

	memset(d, 0, sizeof(*d));
	d->services = now->services - before->services;
	d->endpoints = now->endpoints - before->endpoints;
	for (t = 0; t < RULES_TABLE_COUNT; t++)
		d->rules_total[t] = now->rules_total[t] - before->rules_total[t];
	d->no_local_internal = now->no_local_internal - before->no_local_internal;
	d->no_local_external = now->no_local_external - before->no_local_external;
}

static void stats_add_part(struct rules_stats *to, const struct rules_stats *d)
{
	int t;

	to->services += d->services;
	to->endpoints += d->endpoints;
	for (t = 0; t < RULES_TABLE_COUNT; t++)
		to->rules_total[t] += d->rules_total[t];
	to->no_local_internal += d->no_local_internal;
	to->no_local_external += d->no_local_external;
}

static struct svc_memo *memo_add(struct gen *g, const char *key)
{
	struct rules_memo *m = g->memo;
	struct svc_memo *e;

	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		m->svcs = xreallocarray(m->svcs, m->cap, sizeof(*m->svcs));
	}
	e = &m->svcs[m->n++];
	memset(e, 0, sizeof(*e));
	e->key = xstrdup(key);
	e->old = SIZE_MAX;
	return e;
}

/* The last memo's entry for key, if any; keys come in the model's sorted order. */
static size_t memo_find_old(struct gen *g, const char *key)
{
	const struct rules_memo *old = g->old_memo;
	int c = 1;

	if (!old)
		return SIZE_MAX;
	while (g->old_cursor < old->n && (c = strcmp(old->svcs[g->old_cursor].key, key)) < 0)
		g->old_cursor++;
	if (g->old_cursor < old->n && c == 0)
		return g->old_cursor++;
	return SIZE_MAX;
}

static void record_begin(struct gen *g)
{
	int t;
	size_t i;

	for (t = 0; t < RULES_TABLE_COUNT; t++)
		for (i = 0; fixed_chains[t][i]; i++) {
			g->rec_fixed_len[t][i] = g->fixed[t][i].text.len;
			g->rec_fixed_rules[t][i] = g->fixed[t][i].rules;
		}
	g->rec_serial++;
	g->n_rec_touched = 0;
	g->rec_warnings = g->warnings->len;
	g->rec_chain = g->after.n_chains[RULES_TABLE_NAT];
	g->rec_dispatch = g->n_dispatch;
	g->rec_st = g->st;
}

static void record_seg(struct strbuf *text, struct svc_memo *e, unsigned idx, const struct cbuf *c,
		       size_t len0, size_t rules0)
{
	if (c->text.len == len0)
		return;
	e->segs = xreallocarray(e->segs, e->n_segs + 1, sizeof(*e->segs));
	e->segs[e->n_segs].cbuf = (uint16_t)idx;
	e->segs[e->n_segs].len = (uint32_t)(c->text.len - len0);
	e->segs[e->n_segs].rules = (uint32_t)(c->rules - rules0);
	e->n_segs++;
	strbuf_add(text, c->text.buf + len0, c->text.len - len0);
}

static void record_end(struct gen *g, struct svc_memo *e)
{
	struct strbuf text = STRBUF_INIT;
	size_t i;
	int t;

	for (t = 0; t < RULES_TABLE_COUNT; t++)
		for (i = 0; fixed_chains[t][i]; i++)
			record_seg(&text, e, (unsigned)(t * 8 + i), &g->fixed[t][i],
				   g->rec_fixed_len[t][i], g->rec_fixed_rules[t][i]);
	for (i = 0; i < g->n_rec_touched; i++) {
		unsigned b = g->rec_touched[i];

		record_seg(&text, e, MEMO_DSP + b, &g->dsp[b], g->rec_dsp_len[b],
			   g->rec_dsp_rules[b]);
	}
	e->text = text.buf;
	if (g->warnings->len > g->rec_warnings) {
		e->warnings_len = g->warnings->len - g->rec_warnings;
		e->warnings = xmalloc(e->warnings_len);
		memcpy(e->warnings, g->warnings->buf + g->rec_warnings, e->warnings_len);
	}
	e->chain_start = g->rec_chain;
	e->n_chains = g->after.n_chains[RULES_TABLE_NAT] - g->rec_chain;
	e->n_dispatch = g->n_dispatch - g->rec_dispatch;
	stats_part(&e->st, &g->st, &g->rec_st);
}

/* Copies an unchanged Service's part from the last memo into this build. */
static void replay(struct gen *g, const struct svc_memo *o, struct svc_memo *e)
{
	const struct rules_chain *chains = g->existing->chains[RULES_TABLE_NAT];
	size_t i, text_len = 0;

	for (i = 0; i < o->n_segs; i++) {
		struct cbuf *c = memo_cbuf(g, o->segs[i].cbuf);

		strbuf_add(&c->text, o->text + text_len, o->segs[i].len);
		c->rules += o->segs[i].rules;
		text_len += o->segs[i].len;
	}
	if (o->warnings_len)
		strbuf_add(g->warnings, o->warnings, o->warnings_len);
	e->chain_start = g->after.n_chains[RULES_TABLE_NAT];
	for (i = 0; i < o->n_chains; i++)
		rules_existing_add(&g->after, RULES_TABLE_NAT, chains[o->chain_start + i].name);
	e->n_chains = o->n_chains;
	g->n_dispatch += o->n_dispatch;
	stats_add_part(&g->st, &o->st);
	/* The new memo takes a copy: the last one stays its owner's. */
	e->st = o->st;
	e->n_dispatch = o->n_dispatch;
	e->n_segs = o->n_segs;
	e->segs = memdup(o->segs, o->n_segs * sizeof(*o->segs));
	e->text = memdup(o->text, text_len);
	e->warnings_len = o->warnings_len;
	e->warnings = memdup(o->warnings, o->warnings_len);
	e->replayed = true;
	g->old_replayed[e->old] = true;
}

static void write_service(struct gen *g, const struct model_service *svc)
{
	struct svc_memo *e = memo_add(g, svc->key);

	e->old = memo_find_old(g, svc->key);
	if (e->old != SIZE_MAX && !svc->dirty) {
		replay(g, &g->old_memo->svcs[e->old], e);
		return;
	}
	record_begin(g);
	write_service_rules(g, svc);
	record_end(g, e);
}

static bool addr_is_loopback(const struct k8s_addr *a)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };

	if (a->family == K8S_FAMILY_IPV4)
		return a->bytes[0] == 127;
	return memcmp(a->bytes, v6_loopback, 16) == 0;
}

static bool nodeport_addr_wanted(struct gen *g, const struct k8s_addr *a)
{
	size_t i;

	if (a->family != g->cfg->family)
		return false;
	if (addr_is_loopback(a) && !rules_localhost_nodeports(g->cfg))
		return false;
	for (i = 0; i < g->cfg->n_nodeport_cidrs; i++)
		if (k8s_cidr_contains(&g->cfg->nodeport_cidrs[i], a))
			return true;
	return false;
}

static int addr_ptr_cmp(const void *a, const void *b)
{
	return k8s_addr_cmp(*(const struct k8s_addr *const *)a, *(const struct k8s_addr *const *)b);
}

static bool nodeports_everywhere(struct gen *g)
{
	size_t i;

	if (g->cfg->nodeport_primary)
		return false;
	if (g->cfg->n_nodeport_cidrs == 0)
		return true;
	for (i = 0; i < g->cfg->n_nodeport_cidrs; i++)
		if (g->cfg->nodeport_cidrs[i].prefix == 0 &&
		    g->cfg->nodeport_cidrs[i].addr.family == g->cfg->family)
			return true;
	return false;
}

static const char nodeports_comment[] =
	"kproxy service nodeports; NOTE: this must be the last rule in this chain";

bool rules_localhost_nodeports(const struct rules_config *cfg)
{
	struct k8s_addr lo = { .family = K8S_FAMILY_IPV4, .bytes = { 127, 0, 0, 1 } };
	size_t i;

	if (!cfg->localhost_nodeports || cfg->family != K8S_FAMILY_IPV4)
		return false;
	if (cfg->nodeport_primary)
		return false;
	if (cfg->n_nodeport_cidrs == 0)
		return true;
	/* --nodeport-addresses that leave out 127.0.0.1 turn localhost NodePorts off. */
	for (i = 0; i < cfg->n_nodeport_cidrs; i++)
		if (k8s_cidr_contains(&cfg->nodeport_cidrs[i], &lo))
			return true;
	return false;
}

static void tail_rule(struct gen *g, const struct k8s_addr *addr)
{
	char ip[K8S_ADDR_STRLEN];

	cbuf_begin(g, &g->tail);
	rule_comment(g, RULES_TABLE_NAT, "%s", nodeports_comment);
	rule_add(g, RULES_TABLE_NAT, "-d %s -j KPROXY-NODEPORTS", k8s_addr_format(addr, ip));
	rule_end(g, RULES_TABLE_NAT);
}

/* The last rule of nat KPROXY-SERVICES sends traffic to node addresses on to the NodePorts. */
static void write_nodeport_tail(struct gen *g)
{
	struct k8s_addr lo = { .family = K8S_FAMILY_IPV4, .bytes = { 127, 0, 0, 1 } };
	const struct k8s_addr **addrs, *primary;
	size_t i, n = 0;

	if (nodeports_everywhere(g)) {
		cbuf_begin(g, &g->tail);
		rule_comment(g, RULES_TABLE_NAT, "%s", nodeports_comment);
		rule_add(g, RULES_TABLE_NAT, "-m addrtype --dst-type LOCAL");
		if (g->cfg->family == K8S_FAMILY_IPV6)
			rule_add(g, RULES_TABLE_NAT, "! -d ::1/128");
		else if (!rules_localhost_nodeports(g->cfg))
			rule_add(g, RULES_TABLE_NAT, "! -d 127.0.0.0/8");
		rule_add(g, RULES_TABLE_NAT, "-j KPROXY-NODEPORTS");
		rule_end(g, RULES_TABLE_NAT);
		return;
	}
	/* "primary": the Node's own address of this family, and nothing else. */
	if (g->cfg->nodeport_primary) {
		primary = node_primary(g);
		if (primary)
			tail_rule(g, primary);
		return;
	}
	/* The node's addresses inside the CIDRs, and the loopback address it always has. */
	addrs = xcalloc(g->cfg->n_local_addrs + 2, sizeof(*addrs));
	for (i = 0; i < g->cfg->n_local_addrs; i++)
		if (nodeport_addr_wanted(g, &g->cfg->local_addrs[i]))
			addrs[n++] = &g->cfg->local_addrs[i];
	if (nodeport_addr_wanted(g, &lo))
		addrs[n++] = &lo;
	qsort(addrs, n, sizeof(*addrs), addr_ptr_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || k8s_addr_cmp(addrs[i], addrs[i - 1]) != 0)
			tail_rule(g, addrs[i]);
	free(addrs);
}

static void write_fixed_rules(struct gen *g)
{
	rule_begin_fixed(g, RULES_TABLE_NAT, "KPROXY-POSTROUTING");
	rule_add(g, RULES_TABLE_NAT, "-m mark ! --mark %s/%s -j RETURN", g->mark, g->mark);
	rule_end(g, RULES_TABLE_NAT);
	/* Clear the mark so that a packet traversing again is not masqueraded twice. */
	rule_begin_fixed(g, RULES_TABLE_NAT, "KPROXY-POSTROUTING");
	rule_add(g, RULES_TABLE_NAT, "-j MARK --xor-mark %s", g->mark);
	rule_end(g, RULES_TABLE_NAT);
	rule_begin_fixed(g, RULES_TABLE_NAT, "KPROXY-POSTROUTING");
	rule_comment(g, RULES_TABLE_NAT, "kproxy service traffic requiring SNAT");
	rule_add(g, RULES_TABLE_NAT, "-j MASQUERADE --random-fully");
	rule_end(g, RULES_TABLE_NAT);
	rule_begin_fixed(g, RULES_TABLE_NAT, "KPROXY-MARK-MASQ");
	rule_add(g, RULES_TABLE_NAT, "-j MARK --or-mark %s", g->mark);
	rule_end(g, RULES_TABLE_NAT);

	rule_begin_fixed(g, RULES_TABLE_FILTER, "KPROXY-FORWARD");
	rule_add(g, RULES_TABLE_FILTER, "-m conntrack --ctstate INVALID -j DROP");
	rule_end(g, RULES_TABLE_FILTER);
	rule_begin_fixed(g, RULES_TABLE_FILTER, "KPROXY-FORWARD");
	rule_comment(g, RULES_TABLE_FILTER, "kproxy forwarding rules");
	rule_add(g, RULES_TABLE_FILTER, "-m mark --mark %s/%s -j ACCEPT", g->mark, g->mark);
	rule_end(g, RULES_TABLE_FILTER);
	rule_begin_fixed(g, RULES_TABLE_FILTER, "KPROXY-FORWARD");
	rule_comment(g, RULES_TABLE_FILTER, "kproxy forwarding conntrack rule");
	rule_add(g, RULES_TABLE_FILTER, "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
	rule_end(g, RULES_TABLE_FILTER);

	/*
	 * With localhost NodePorts the kernel routes 127.0.0.0/8 (route_localnet),
	 * so packets to it from elsewhere must be dropped (CVE-2020-8558).
	 */
	if (rules_localhost_nodeports(g->cfg)) {
		rule_begin_fixed(g, RULES_TABLE_FILTER, "KPROXY-LOCALNET");
		rule_comment(g, RULES_TABLE_FILTER, "block incoming localnet connections");
		rule_add(g, RULES_TABLE_FILTER,
			 "-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate "
			 "RELATED,ESTABLISHED,DNAT -j DROP");
		rule_end(g, RULES_TABLE_FILTER);
	}
}

/*
 * Inserts at the top the jumps from base chains that the kernel lacks, and
 * removes extra copies. Jumps already in place are left alone, so a sync never
 * reorders anyone else's rules.
 */
static void write_jumps(struct gen *g, enum rules_table t)
{
	size_t i = N_JUMPS;
	unsigned count, k;

	/* Inserting at position 1 in reverse keeps the table's order. */
	while (i-- > 0) {
		if (jumps[i].table != t)
			continue;
		count = g->existing && g->existing->jump_count ? g->existing->jump_count[i] : 0;
		for (k = 1; k < count; k++) {
			strbuf_addf(&g->rules[t], "-D %s %s\n", jumps[i].base, jumps[i].spec);
			g->st.jump_changes++;
		}
		if (count)
			continue;
		strbuf_addf(&g->rules[t], "-I %s 1 %s\n", jumps[i].base, jumps[i].spec);
		g->st.jump_changes++;
	}
}

static int chain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rules_chain *)a)->name, ((const struct rules_chain *)b)->name);
}

static bool is_fixed(enum rules_table t, const char *chain)
{
	size_t i;

	for (i = 0; fixed_chains[t][i]; i++)
		if (strcmp(fixed_chains[t][i], chain) == 0)
			return true;
	return false;
}

/*
 * Flushes and deletes the KPROXY- chains the kernel has and this payload does
 * not use, those of table t in kept (sorted).
 */
static void write_stale_sorted(struct gen *g, enum rules_table t, const struct rules_existing *kept)
{
	const struct rules_chain *ex;
	size_t i, n;

	if (!g->existing || !g->existing->n_chains[t])
		return;
	ex = g->existing->chains[t];
	n = g->existing->n_chains[t];
	for (i = 0; i < n; i++) {
		const char *c = ex[i].name;

		if (strncmp(c, RULES_CHAIN_PREFIX, strlen(RULES_CHAIN_PREFIX)) != 0 ||
		    is_fixed(t, c))
			continue;
		if (kept->n_chains[t] &&
		    bsearch(&ex[i], kept->chains[t], kept->n_chains[t], sizeof(ex[i]), chain_cmp))
			continue;
		chain_declare(g, t, c);
		strbuf_addf(&g->rules[t], "-X %s\n", c);
		g->st.deleted_chains++;
	}
}

/* write_stale_sorted() against this build's record (filter: nothing per Service, never sorted). */
static void write_stale(struct gen *g, enum rules_table t)
{
	write_stale_sorted(g, t, &g->after);
}

/* Deletes chain c unless it is in keep (sorted, n names). */
static void stale_unless_kept(struct gen *g, const char *c, const struct rules_chain *keep,
			      size_t n)
{
	struct rules_chain key;

	if (strncmp(c, RULES_CHAIN_PREFIX, strlen(RULES_CHAIN_PREFIX)) != 0 ||
	    is_fixed(RULES_TABLE_NAT, c))
		return;
	memcpy(key.name, c, RULES_CHAIN_MAX);
	if (n && bsearch(&key, keep, n, sizeof(key), chain_cmp))
		return;
	chain_declare(g, RULES_TABLE_NAT, c);
	strbuf_addf(&g->rules[RULES_TABLE_NAT], "-X %s\n", c);
	g->st.deleted_chains++;
}

/*
 * write_stale() for nat when the last memo was replayed: only the chains of
 * Services worked out again or gone, and the dispatch chains, can have become
 * stale; they are checked against the chains of the Services worked out again
 * and the dispatch chains of this build.
 */
static void write_stale_memo(struct gen *g)
{
	const struct rules_memo *old = g->old_memo, *now = g->memo;
	const struct rules_chain *ex = g->existing->chains[RULES_TABLE_NAT];
	const struct rules_chain *after = g->after.chains[RULES_TABLE_NAT];
	size_t n_ex = g->existing->n_chains[RULES_TABLE_NAT];
	size_t n_after = g->after.n_chains[RULES_TABLE_NAT];
	size_t i, k, end, n_keep = 0, cap = 64;
	struct rules_chain *keep = xmalloc(cap * sizeof(*keep));

	/* Kept: the chains of Services worked out again, then the shared tail. */
	for (i = 0, end = 0; i < now->n; i++) {
		const struct svc_memo *e = &now->svcs[i];

		end = e->chain_start + e->n_chains;
		if (e->replayed)
			continue;
		for (k = e->chain_start; k < end; k++) {
			if (n_keep == cap)
				keep = xreallocarray(keep, cap *= 2, sizeof(*keep));
			keep[n_keep++] = after[k];
		}
	}
	for (k = end; k < n_after; k++) {
		if (n_keep == cap)
			keep = xreallocarray(keep, cap *= 2, sizeof(*keep));
		keep[n_keep++] = after[k];
	}
	qsort(keep, n_keep, sizeof(*keep), chain_cmp);
	/* Candidates: the old chains of Services not replayed, then the old shared tail. */
	for (i = 0, end = 0; i < old->n; i++) {
		const struct svc_memo *o = &old->svcs[i];

		end = o->chain_start + o->n_chains;
		if (g->old_replayed[i])
			continue;
		for (k = o->chain_start; k < end && k < n_ex; k++)
			stale_unless_kept(g, ex[k].name, keep, n_keep);
	}
	for (k = end; k < n_ex; k++)
		stale_unless_kept(g, ex[k].name, keep, n_keep);
	free(keep);
}

/*
 * Moves the table's chain lines in front of its rules without a second copy
 * of the (large) rules text: the rules buffer grows and its text moves up.
 */
static void assemble_table(struct strbuf *out, const char *name, struct strbuf *chains,
			   struct strbuf *rules)
{
	struct strbuf head = STRBUF_INIT;
	size_t rules_len = rules->len;

	strbuf_addf(&head, "*%s\n", name);
	strbuf_add(&head, strbuf_str(chains), chains->len);
	strbuf_adds(rules, "COMMIT\n");
	if (out->len == 0) {
		/* Grow rules to hold the head too, then slide the rules up. */
		strbuf_add(rules, strbuf_str(&head), head.len);
		memmove(rules->buf + head.len, rules->buf, rules_len + strlen("COMMIT\n"));
		memcpy(rules->buf, head.buf, head.len);
		*out = *rules;
		strbuf_init(rules);
	} else {
		strbuf_add(out, strbuf_str(&head), head.len);
		strbuf_add(out, strbuf_str(rules), rules->len);
	}
	strbuf_fini(&head);
}

/* Counts endpoint chains to decide on large-cluster mode before writing anything. */
static size_t count_endpoints(const struct model_service *const *svcs, size_t n)
{
	size_t total = 0, i, k;

	for (i = 0; i < n; i++) {
		size_t ports = svcs[i]->spec ? svcs[i]->spec->n_ports : 0;

		for (k = 0; k < svcs[i]->n_slices; k++)
			total += svcs[i]->slices[k]->n_endpoints * (ports ? ports : 1);
	}
	return total;
}

/* Hands over what the kernel holds once the payload is applied. */
static void fill_after(struct gen *g, struct rules_existing *after)
{
	size_t i, n;
	int t;

	*after = g->after;
	memset(&g->after, 0, sizeof(g->after));
	for (t = 0; t < RULES_TABLE_COUNT; t++)
		for (i = 0; fixed_chains[t][i]; i++)
			rules_existing_add(after, (enum rules_table)t, fixed_chains[t][i]);
	rules_jumps(&n);
	after->jump_count = xcalloc(n, sizeof(*after->jump_count));
	for (i = 0; i < n; i++)
		after->jump_count[i] = 1;
}

static uint64_t text_hash(const struct strbuf *sb)
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < sb->len; i++) {
		h ^= (unsigned char)sb->buf[i];
		h *= 0x100000001b3ull;
	}
	return h ^ sb->len;
}

static bool unchanged(const struct gen *g, enum rules_table t, const char *name, uint64_t hash)
{
	size_t i;

	if (g->full || !g->existing)
		return false;
	for (i = 0; i < g->existing->n_hashed[t]; i++)
		if (g->existing->hashed[t][i].hash == hash &&
		    strcmp(g->existing->hashed[t][i].name, name) == 0)
			return true;
	return false;
}

/*
 * Writes a shared chain into the payload and remembers its hash for the
 * next sync. A dispatch bucket (skippable) is left out when the kernel
 * already holds exactly this text (a partial sync after kproxy's own last
 * sync): buckets are the per-address part of KPROXY-SERVICES at scale and
 * change only with their Services. The top-level chains of both tables are
 * written by every sync, as kube-proxy does, so a sync also repairs them if
 * someone else flushed or edited one.
 */
static void write_shared(struct gen *g, enum rules_table t, struct cbuf *c, struct strbuf *head,
			 bool skippable)
{
	struct rules_existing *a = &g->after;

	g->st.rules_total[t] += c->rules;
	if (skippable) {
		uint64_t h = text_hash(&c->text);

		a->hashed[t] =
			xreallocarray(a->hashed[t], a->n_hashed[t] + 1, sizeof(*a->hashed[t]));
		memcpy(a->hashed[t][a->n_hashed[t]].name, c->name, RULES_CHAIN_MAX);
		a->hashed[t][a->n_hashed[t]++].hash = h;
		if (unchanged(g, t, c->name, h))
			return;
	}
	strbuf_addc(head, ':');
	strbuf_adds(head, c->name);
	strbuf_add(head, " - [0:0]\n", 9);
	g->st.chains[t]++;
	strbuf_add(&g->rules[t], strbuf_str(&c->text), c->text.len);
	g->st.rules[t] += c->rules;
}

static void cbuf_init(struct cbuf *c, const char *name)
{
	snprintf(c->name, sizeof(c->name), "%s", name);
	strbuf_init(&c->text);
	c->rules = 0;
}

static void cbuf_fini(struct cbuf *c)
{
	strbuf_fini(&c->text);
}

/* "0.0.0.B/0.0.0.MASK" (or "::B/::MASK") for a match on the last byte. */
static void last_byte_match(struct gen *g, char *buf, size_t size, unsigned b, unsigned mask)
{
	if (g->cfg->family == K8S_FAMILY_IPV4)
		snprintf(buf, size, "0.0.0.%u/0.0.0.%u", b, mask);
	else
		snprintf(buf, size, "::%x/::%x", b, mask);
}

/*
 * Lays out nat KPROXY-SERVICES: flat (one rule per service address, then the
 * NodePort tail) or, at scale, through dispatch buckets, reached through 16
 * level-1 chains whose cbufs are filled into level1. *use says which.
 */
static void layout_dispatch(struct gen *g, struct cbuf level1[16], bool *use)
{
	struct cbuf *root = &g->fixed[RULES_TABLE_NAT][0];
	char match[64], name[RULES_CHAIN_MAX];
	unsigned b, n;

	*use = g->cfg->dispatch_split && g->n_dispatch > g->cfg->dispatch_split;
	if (*use) {
		strbuf_reset(&root->text);
		root->rules = 0;
		for (n = 0; n < 16; n++) {
			snprintf(name, sizeof(name), "KPROXY-DSP-%X", n);
			cbuf_init(&level1[n], name);
			for (b = n; b < 256; b += 16) {
				if (!g->dsp[b].rules)
					continue;
				last_byte_match(g, match, sizeof(match), b, 255);
				strbuf_addf(&level1[n].text, "-A %s -d %s -j %s\n", level1[n].name,
					    match, g->dsp[b].name);
				level1[n].rules++;
			}
			if (!level1[n].rules)
				continue;
			last_byte_match(g, match, sizeof(match), n, 15);
			strbuf_addf(&root->text, "-A KPROXY-SERVICES -d %s -j %s\n", match,
				    level1[n].name);
			root->rules++;
			rules_existing_add(&g->after, RULES_TABLE_NAT, level1[n].name);
		}
		for (b = 0; b < 256; b++)
			if (g->dsp[b].rules)
				rules_existing_add(&g->after, RULES_TABLE_NAT, g->dsp[b].name);
	}
	/* The NodePort rules stay last: addresses of the node itself. */
	strbuf_add(&root->text, strbuf_str(&g->tail.text), g->tail.text.len);
	root->rules += g->tail.rules;
}

/*
 * Lays out nat KPROXY-NODEPORTS: flat (a rule per NodePort) or, at the same
 * scale as KPROXY-SERVICES, a rule per protocol and block of 256 ports that
 * jumps to that block's bucket. A NodePort's change then rewrites its
 * bucket, not every NodePort rule, and a packet is matched against its
 * block's rules only. Returns whether the buckets are used.
 */
static bool layout_nodeports(struct gen *g)
{
	struct cbuf *root = fixed_cbuf(g, RULES_TABLE_NAT, "KPROXY-NODEPORTS");
	unsigned proto, block, b;

	if (!g->cfg->dispatch_split || root->rules <= g->cfg->dispatch_split)
		return false;
	strbuf_reset(&root->text);
	root->rules = 0;
	for (proto = 0; proto < K8S_PROTO_COUNT; proto++)
		for (block = 0; block < 256; block++) {
			const char *p = k8s_protocol_lower((enum k8s_protocol)proto);

			b = NPT_BUCKET(proto, block << 8);
			if (!g->dsp[b].rules)
				continue;
			strbuf_addf(&root->text,
				    "-A KPROXY-NODEPORTS -m %s -p %s --dport %u:%u -j %s\n", p, p,
				    block << 8, block << 8 | 255, g->dsp[b].name);
			root->rules++;
			rules_existing_add(&g->after, RULES_TABLE_NAT, g->dsp[b].name);
		}
	return true;
}

void rules_build(const struct model *m, const struct rules_config *cfg,
		 const struct rules_existing *existing, bool full, struct rules_output *out)
{
	static const char *const table_names[RULES_TABLE_COUNT] = { "filter", "nat" };
	const struct model_service **svcs;
	struct cbuf level1[16];
	struct strbuf head[RULES_TABLE_COUNT];
	char name[RULES_CHAIN_MAX];
	bool use_dsp, use_npt;
	struct gen g;
	size_t n, i;
	int t;

	memset(out, 0, sizeof(*out));
	strbuf_init(&out->payload);
	strbuf_init(&out->warnings);
	memset(&g, 0, sizeof(g));
	g.m = m;
	g.cfg = cfg;
	g.existing = existing;
	g.full = full;
	g.warnings = &out->warnings;
	g.out = out;
	for (t = 0; t < RULES_TABLE_COUNT; t++) {
		strbuf_init(&g.chains[t]);
		strbuf_init(&g.rules[t]);
		strbuf_init(&head[t]);
		for (i = 0; fixed_chains[t][i]; i++)
			cbuf_init(&g.fixed[t][i], fixed_chains[t][i]);
	}
	cbuf_init(&g.tail, "KPROXY-SERVICES");
	for (i = 0; i < N_BUCKETS; i++) {
		if (i < N_ADDR_BUCKETS)
			snprintf(name, sizeof(name), "KPROXY-DSP-%02zX", i);
		else
			snprintf(name, sizeof(name), "KPROXY-NPT-%s-%02zX",
				 k8s_protocol_name((enum k8s_protocol)((i - N_ADDR_BUCKETS) / 256)),
				 (i - N_ADDR_BUCKETS) % 256);
		cbuf_init(&g.dsp[i], name);
	}
	snprintf(g.mark, sizeof(g.mark), "0x%x", 1u << (cfg->masquerade_bit & 31));
	if (cfg->cluster_cidr && cfg->cluster_cidr->addr.family == cfg->family)
		k8s_cidr_format(cfg->cluster_cidr, g.cluster_cidr);

	for (t = 0; t < RULES_TABLE_COUNT; t++)
		write_jumps(&g, (enum rules_table)t);
	write_fixed_rules(&g);
	strbuf_init(&g.group);
	strbuf_init(&g.group_decls);
	strbuf_init(&g.batch);
	strbuf_init(&g.batch_decls);
	g.svc_decls = cfg->batch_chains ? &g.group_decls : &g.chains[RULES_TABLE_NAT];
	g.svc_rules = cfg->batch_chains ? &g.group : &g.rules[RULES_TABLE_NAT];

	svcs = model_services_sorted(m, &n);
	/*
	 * Above 1,000 endpoint chains the comments of endpoint rules are left
	 * out, as kube-proxy does: they are 40% of the bytes at that size.
	 */
	g.large = count_endpoints(svcs, n) > RULES_LARGE_CLUSTER_ENDPOINTS;
	g.memo = xcalloc(1, sizeof(*g.memo));
	g.memo->context = memo_context(&g);
	/*
	 * Chains of unchanged Services were written in another context (e.g.
	 * with comments on endpoint rules, before large-cluster mode): write
	 * them all again, or the kernel would differ from a fresh full sync.
	 */
	if (!full && existing && existing->memo && existing->memo->context != g.memo->context)
		g.full = full = true;
	if (!full && existing && existing->memo && existing->memo->context == g.memo->context) {
		g.old_memo = existing->memo;
		g.old_replayed = xcalloc(g.old_memo->n + 1, sizeof(*g.old_replayed));
	}
	for (i = 0; i < n; i++)
		write_service(&g, svcs[i]);
	free(svcs);
	strbuf_fini(&g.group);
	strbuf_fini(&g.group_decls);
	finish_batches(&g);
	write_nodeport_tail(&g);
	layout_dispatch(&g, level1, &use_dsp);
	use_npt = layout_nodeports(&g);

	write_stale(&g, RULES_TABLE_FILTER);
	if (g.old_memo) {
		write_stale_memo(&g);
	} else {
		/* Sorts a copy: the record keeps build order, which the memo's ranges index. */
		struct rules_existing sorted = { 0 };

		sorted.chains[RULES_TABLE_NAT] =
			memdup(g.after.chains[RULES_TABLE_NAT],
			       g.after.n_chains[RULES_TABLE_NAT] * sizeof(struct rules_chain));
		sorted.n_chains[RULES_TABLE_NAT] = g.after.n_chains[RULES_TABLE_NAT];
		if (sorted.n_chains[RULES_TABLE_NAT])
			qsort(sorted.chains[RULES_TABLE_NAT], sorted.n_chains[RULES_TABLE_NAT],
			      sizeof(struct rules_chain), chain_cmp);
		write_stale_sorted(&g, RULES_TABLE_NAT, &sorted);
		free(sorted.chains[RULES_TABLE_NAT]);
	}
	free(g.old_replayed);

	for (t = 0; t < RULES_TABLE_COUNT; t++)
		for (i = 0; fixed_chains[t][i]; i++)
			write_shared(&g, (enum rules_table)t, &g.fixed[t][i], &head[t], false);
	if (use_dsp) {
		for (i = 0; i < 16; i++) {
			if (level1[i].rules)
				write_shared(&g, RULES_TABLE_NAT, &level1[i],
					     &head[RULES_TABLE_NAT], true);
			cbuf_fini(&level1[i]);
		}
		for (i = 0; i < N_ADDR_BUCKETS; i++)
			if (g.dsp[i].rules)
				write_shared(&g, RULES_TABLE_NAT, &g.dsp[i], &head[RULES_TABLE_NAT],
					     true);
	}
	if (use_npt)
		for (i = N_ADDR_BUCKETS; i < N_BUCKETS; i++)
			if (g.dsp[i].rules)
				write_shared(&g, RULES_TABLE_NAT, &g.dsp[i], &head[RULES_TABLE_NAT],
					     true);

	for (t = 0; t < RULES_TABLE_COUNT; t++) {
		strbuf_add(&head[t], strbuf_str(&g.chains[t]), g.chains[t].len);
		assemble_table(&out->payload, table_names[t], &head[t], &g.rules[t]);
		strbuf_fini(&head[t]);
		strbuf_fini(&g.chains[t]);
		strbuf_fini(&g.rules[t]);
		for (i = 0; fixed_chains[t][i]; i++)
			cbuf_fini(&g.fixed[t][i]);
	}
	cbuf_fini(&g.tail);
	for (i = 0; i < N_BUCKETS; i++)
		cbuf_fini(&g.dsp[i]);
	fill_after(&g, &out->after);
	out->after.memo = g.memo;
	out->stats = g.st;
	out->full = full;
}

void rules_output_fini(struct rules_output *out)
{
	size_t i;

	for (i = 0; i < out->n_batches; i++)
		strbuf_fini(&out->batches[i]);
	free(out->batches);
	strbuf_fini(&out->payload);
	strbuf_fini(&out->warnings);
	rules_existing_fini(&out->after);
}
