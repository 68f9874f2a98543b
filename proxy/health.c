// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/fdlimit.h"
#include "proxy/health.h"
#include "proxy/server.h"
#include "proxy/xalloc.h"
#include "rules/rules.h"

bool health_is_fresh(uint64_t now_ms, uint64_t oldest_pending_ms, uint64_t timeout_ms)
{
	return oldest_pending_ms == 0 || now_ms < oldest_pending_ms + timeout_ms;
}

/* Go's time.Time String() form, quoted: "2026-11-26 04:30:00.123456789 +0000 UTC". */
static void go_time(struct strbuf *out, double t)
{
	time_t sec = (time_t)t;
	long nsec = (long)((t - (double)sec) * 1e9);
	struct tm tm;
	char buf[64];

	if (nsec < 0)
		nsec = 0;
	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	strbuf_addf(out, "\"%s.%09ld +0000 UTC\"", buf, nsec);
}

void health_proxy_body(struct strbuf *out, double last_updated, double now, bool with_node,
		       bool node_eligible)
{
	strbuf_adds(out, "{\"lastUpdated\": ");
	go_time(out, last_updated);
	strbuf_adds(out, ",\"currentTime\": ");
	go_time(out, now);
	if (with_node)
		strbuf_addf(out, ", \"nodeEligible\": %s", node_eligible ? "true" : "false");
	strbuf_adds(out, "}");
}

void health_service_body(struct strbuf *out, const char *ns, const char *name, size_t local,
			 bool healthy)
{
	/* Names are validated DNS-1123 labels: nothing in them needs escaping. */
	strbuf_addf(out,
		    "{\n\t\"service\": {\n\t\t\"namespace\": \"%s\",\n\t\t\"name\": \"%s\"\n\t},\n"
		    "\t\"localEndpoints\": %zu,\n\t\"serviceProxyHealthy\": %s\n}",
		    ns, name, local, healthy ? "true" : "false");
}

static int addr_cmp(const void *a, const void *b)
{
	return k8s_addr_cmp(a, b);
}

size_t health_local_endpoints(const struct model *m, const struct model_service *svc)
{
	struct k8s_addr *ips = NULL;
	size_t n_ips = 0, i, k, n, distinct = 0;

	if (!svc->spec)
		return 0;
	for (i = 0; i < svc->spec->n_ports; i++) {
		struct model_endpoint *eps =
			model_port_endpoints(m, svc, &svc->spec->ports[i], K8S_FAMILY_IPV4, &n);

		ips = xreallocarray(ips, n_ips + n + 1, sizeof(*ips));
		for (k = 0; k < n; k++)
			if (eps[k].local && eps[k].ready)
				ips[n_ips++] = eps[k].addr;
		free(eps);
	}
	if (n_ips)
		qsort(ips, n_ips, sizeof(*ips), addr_cmp);
	for (i = 0; i < n_ips; i++)
		if (i == 0 || k8s_addr_cmp(&ips[i], &ips[i - 1]) != 0)
			distinct++;
	free(ips);
	return distinct;
}

bool health_node_eligible(const struct k8s_node *node)
{
	return !node || (!node->deleting && !node->to_be_deleted);
}

/**
 * struct listener - one open health-check port of one Service.
 * @key: "namespace/name".
 */
struct listener {
	struct hcports *owner;
	char *ns;
	char *name;
	uint16_t port;
	struct k8s_addr addr;
	bool any_addr;
	struct server *server;
	char *last_error; /* kind of the previous failed attempt, NULL once open */
	bool wanted;	  /* seen in the current hcports_sync() */
};

struct hcports {
	struct loop *loop;
	const struct featuregate_set *gates;
	hcports_healthy_cb healthy;
	hcports_report_cb report;
	void *arg;
	const struct model *model;
	struct listener **ls;
	size_t n;
};

static void answer(const struct server_request *req, struct server_response *resp, void *arg)
{
	struct listener *l = arg;
	struct hcports *h = l->owner;
	const struct model_service *svc = model_service_lookup(h->model, l->ns, l->name);
	size_t local = svc ? health_local_endpoints(h->model, svc) : 0;
	bool healthy = h->healthy(h->arg);

	(void)req;
	resp->status = local > 0 && healthy ? 200 : 503;
	resp->content_type = "application/json";
	health_service_body(&resp->body, l->ns, l->name, local, healthy);
}

struct hcports *hcports_new(struct loop *l, const struct featuregate_set *gates,
			    hcports_healthy_cb healthy, hcports_report_cb report, void *arg)
{
	struct hcports *h = xcalloc(1, sizeof(*h));

	h->loop = l;
	h->gates = gates;
	h->healthy = healthy;
	h->report = report;
	h->arg = arg;
	return h;
}

static void listener_free(struct listener *l)
{
	server_free(l->server);
	free(l->last_error);
	free(l->ns);
	free(l->name);
	free(l);
}

void hcports_free(struct hcports *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++)
		listener_free(h->ls[i]);
	free(h->ls);
	free(h);
}

static struct listener *find(struct hcports *h, const struct k8s_service *spec, uint16_t port,
			     const struct k8s_addr *addr)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		struct listener *l = h->ls[i];

		if (l->port == port && strcmp(l->ns, spec->namespace) == 0 &&
		    strcmp(l->name, spec->name) == 0 &&
		    (addr ? !l->any_addr && k8s_addr_cmp(&l->addr, addr) == 0 : l->any_addr))
			return l;
	}
	return NULL;
}

static void want(struct hcports *h, const struct k8s_service *spec, uint16_t port,
		 const struct k8s_addr *addr)
{
	struct listener *l = find(h, spec, port, addr);

	if (!l) {
		l = xcalloc(1, sizeof(*l));
		l->owner = h;
		l->ns = xstrdup(spec->namespace);
		l->name = xstrdup(spec->name);
		l->port = port;
		l->any_addr = addr == NULL;
		if (addr)
			l->addr = *addr;
		h->ls = xreallocarray(h->ls, h->n + 1, sizeof(*h->ls));
		h->ls[h->n++] = l;
	}
	l->wanted = true;
}

/* key: what kind of failure it is (msg may carry figures that vary from one try to the next). */
static void report(struct hcports *h, struct listener *l, const char *key, const char *msg)
{
	bool repeated = l->last_error && strcmp(l->last_error, key) == 0;

	if (!repeated) {
		free(l->last_error);
		l->last_error = xstrdup(key);
	}
	if (h->report)
		h->report(l->ns, l->name, msg, repeated, h->arg);
}

size_t hcports_sync(struct hcports *h, const struct model *m, const struct k8s_addr *addrs,
		    size_t n_addrs)
{
	const struct model_service **svcs;
	size_t n, i, k, failed = 0, limit = 0, in_use = 0;
	bool counted = false;

	h->model = m;
	for (i = 0; i < h->n; i++)
		h->ls[i]->wanted = false;
	svcs = model_services_sorted(m, &n);
	for (i = 0; i < n; i++) {
		uint16_t port = rules_health_check_port(svcs[i]->spec, h->gates);

		if (!port)
			continue;
		if (n_addrs == 0)
			want(h, svcs[i]->spec, port, NULL);
		for (k = 0; k < n_addrs; k++)
			want(h, svcs[i]->spec, port, &addrs[k]);
	}
	free(svcs);
	/* Close what is no longer wanted, then open what is missing. */
	for (i = 0, k = 0; i < h->n; i++) {
		if (h->ls[i]->wanted)
			h->ls[k++] = h->ls[i];
		else
			listener_free(h->ls[i]);
	}
	h->n = k;
	for (i = 0; i < h->n; i++) {
		struct listener *l = h->ls[i];
		struct errbuf err;

		if (l->server)
			continue;
		/* Counted once, when the first listener is to be opened. */
		if (!counted) {
			limit = fdlimit_limit();
			in_use = fdlimit_in_use();
			counted = true;
		}
		if (!fdlimit_allows(limit, in_use, FDLIMIT_PER_LISTENER)) {
			errbuf_set(&err,
				   "not opened: %zu of %zu file descriptors in use, the last %zu "
				   "are kept for syncing rules",
				   in_use, limit, fdlimit_reserve(limit));
			failed++;
			report(h, l, "descriptors", err.msg);
			continue;
		}
		l->server = server_new(h->loop, l->any_addr ? NULL : &l->addr, l->port, answer, l,
				       &err);
		if (l->server)
			in_use += FDLIMIT_PER_LISTENER;
		if (!l->server) {
			failed++;
			report(h, l, err.msg, err.msg);
		} else {
			free(l->last_error);
			l->last_error = NULL;
		}
	}
	return failed;
}

size_t hcports_count(const struct hcports *h)
{
	size_t i, n = 0;

	for (i = 0; i < h->n; i++)
		n += h->ls[i]->server != NULL;
	return n;
}
