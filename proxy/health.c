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

void health_time_now(struct health_time *t, const struct timespec *start)
{
	struct timespec mono;

	clock_gettime(CLOCK_REALTIME, &t->wall);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	t->mono.tv_sec = mono.tv_sec - start->tv_sec;
	t->mono.tv_nsec = mono.tv_nsec - start->tv_nsec;
	if (t->mono.tv_nsec < 0) {
		t->mono.tv_sec--;
		t->mono.tv_nsec += 1000000000L;
	}
	t->set = true;
}

/*
 * Go's time.Time String(), quoted, of a time.Now() in UTC (kube-proxy's
 * image has no time zone): the fraction of the second without its trailing
 * zeros, none when it is zero, then the monotonic reading that Go appends to
 * the times of time.Now(), always with 9 digits. Go's zero Time has no
 * monotonic reading.
 */
static void go_time(struct strbuf *out, const struct health_time *t)
{
	char date[32], frac[16];
	time_t sec = t->wall.tv_sec;
	struct tm tm;
	int len;

	if (!t->set) {
		strbuf_adds(out, "\"0001-01-01 00:00:00 +0000 UTC\"");
		return;
	}
	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	frac[0] = '\0';
	if (t->wall.tv_nsec > 0 && t->wall.tv_nsec < 1000000000L) {
		len = snprintf(frac, sizeof(frac), ".%09ld", t->wall.tv_nsec);
		while (frac[len - 1] == '0')
			frac[--len] = '\0';
	}
	strbuf_addf(out, "\"%s%s +0000 UTC m=+%lld.%09ld\"", date, frac, (long long)t->mono.tv_sec,
		    t->mono.tv_nsec);
}

void health_proxy_body(struct strbuf *out, const struct health_time *last_updated,
		       const struct health_time *now, bool with_node, bool node_eligible)
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
 * struct hc_want - a listener the rules of a sync call for: Service ns/name's
 * health-check port on addr (or every address).
 * @local: the Service's local ready endpoints when those rules were built.
 */
struct hc_want {
	char *ns;
	char *name;
	uint16_t port;
	struct k8s_addr addr;
	bool any_addr;
	size_t local;
};

/**
 * struct listener - one open health-check port of one Service.
 * @want: the note of the last committed sync that calls for it; its
 *	@local is what the port answers with.
 */
struct listener {
	struct hcports *owner;
	struct hc_want want;
	struct server *server;
	char *last_error; /* kind of the previous failed attempt, NULL once open */
	bool wanted;	  /* named by the commit being made */
};

/**
 * struct hcports - the listeners, and the notes of the sync in flight.
 * @pending: what the last hcports_prepare() found (n_pending entries), until
 *	hcports_commit() moves it into the listeners.
 */
struct hcports {
	struct loop *loop;
	const struct featuregate_set *gates;
	hcports_healthy_cb healthy;
	hcports_report_cb report;
	void *arg;
	struct listener **ls;
	size_t n;
	struct hc_want *pending;
	size_t n_pending;
};

static void answer(const struct server_request *req, struct server_response *resp, void *arg)
{
	struct listener *l = arg;
	struct hcports *h = l->owner;
	bool healthy = h->healthy(h->arg);

	(void)req;
	resp->status = l->want.local > 0 && healthy ? 200 : 503;
	resp->content_type = "application/json";
	health_service_body(&resp->body, l->want.ns, l->want.name, l->want.local, healthy);
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

static void want_fini(struct hc_want *w)
{
	free(w->ns);
	free(w->name);
}

static void listener_free(struct listener *l)
{
	server_free(l->server);
	free(l->last_error);
	want_fini(&l->want);
	free(l);
}

static void pending_clear(struct hcports *h)
{
	size_t i;

	for (i = 0; i < h->n_pending; i++)
		want_fini(&h->pending[i]);
	free(h->pending);
	h->pending = NULL;
	h->n_pending = 0;
}

void hcports_free(struct hcports *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++)
		listener_free(h->ls[i]);
	free(h->ls);
	pending_clear(h);
	free(h);
}

/* Whether a and b are the same listener (their counts aside). */
static bool same_listener(const struct hc_want *a, const struct hc_want *b)
{
	return a->port == b->port && strcmp(a->ns, b->ns) == 0 && strcmp(a->name, b->name) == 0 &&
	       a->any_addr == b->any_addr && (a->any_addr || k8s_addr_cmp(&a->addr, &b->addr) == 0);
}

static struct listener *find(struct hcports *h, const struct hc_want *w)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (same_listener(&h->ls[i]->want, w))
			return h->ls[i];
	return NULL;
}

/* Takes w's strings when a new listener needs them; w is left to want_fini(). */
static void want(struct hcports *h, struct hc_want *w)
{
	struct listener *l = find(h, w);

	if (l) {
		l->want.local = w->local;
	} else {
		l = xcalloc(1, sizeof(*l));
		l->owner = h;
		l->want = *w;
		w->ns = NULL;
		w->name = NULL;
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
		h->report(l->want.ns, l->want.name, msg, repeated, h->arg);
}

static void note(struct hcports *h, const struct k8s_service *spec, uint16_t port,
		 const struct k8s_addr *addr, size_t local)
{
	struct hc_want *w;

	h->pending = xreallocarray(h->pending, h->n_pending + 1, sizeof(*h->pending));
	w = &h->pending[h->n_pending++];
	memset(w, 0, sizeof(*w));
	w->ns = xstrdup(spec->namespace);
	w->name = xstrdup(spec->name);
	w->port = port;
	w->any_addr = addr == NULL;
	if (addr)
		w->addr = *addr;
	w->local = local;
}

void hcports_prepare(struct hcports *h, const struct model *m, const struct k8s_addr *addrs,
		     size_t n_addrs)
{
	const struct model_service **svcs;
	size_t n, i, k, local;

	pending_clear(h);
	svcs = model_services_sorted(m, &n);
	for (i = 0; i < n; i++) {
		uint16_t port = rules_health_check_port(svcs[i]->spec, h->gates);

		if (!port)
			continue;
		local = health_local_endpoints(m, svcs[i]);
		if (n_addrs == 0)
			note(h, svcs[i]->spec, port, NULL, local);
		for (k = 0; k < n_addrs; k++)
			note(h, svcs[i]->spec, port, &addrs[k], local);
	}
	free(svcs);
}

/* Opens the listeners that are not open; returns how many could not be. */
static size_t open_missing(struct hcports *h)
{
	size_t i, failed = 0, limit = 0, in_use = 0;
	bool counted = false;

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
		l->server = server_new(h->loop, l->want.any_addr ? NULL : &l->want.addr,
				       l->want.port, answer, l, &err);
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

size_t hcports_commit(struct hcports *h)
{
	size_t i, k;

	for (i = 0; i < h->n; i++)
		h->ls[i]->wanted = false;
	for (i = 0; i < h->n_pending; i++)
		want(h, &h->pending[i]);
	pending_clear(h);
	/* Close what is no longer wanted, then open what is missing. */
	for (i = 0, k = 0; i < h->n; i++) {
		if (h->ls[i]->wanted)
			h->ls[k++] = h->ls[i];
		else
			listener_free(h->ls[i]);
	}
	h->n = k;
	return open_missing(h);
}

size_t hcports_retry(struct hcports *h)
{
	return open_missing(h);
}

size_t hcports_count(const struct hcports *h)
{
	size_t i, n = 0;

	for (i = 0; i < h->n; i++)
		n += h->ls[i]->server != NULL;
	return n;
}

long hcports_local_endpoints(const struct hcports *h, const char *ns, const char *name)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->ls[i]->want.ns, ns) == 0 && strcmp(h->ls[i]->want.name, name) == 0)
			return (long)h->ls[i]->want.local;
	return -1;
}
