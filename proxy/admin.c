// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/admin.h"
#include "proxy/fdlimit.h"
#include "proxy/health.h"
#include "proxy/log.h"
#include "proxy/server.h"
#include "proxy/xalloc.h"

/* How often a taken health or metrics port is tried again. */
#define ADMIN_RETRY_MS 5000

struct admin {
	struct loop *loop;
	const struct config *cfg;
	struct sync *sync;
	struct model *const *model;
	struct server *healthz;
	struct server *metrics;
	struct loop_timer *retry;
	bool reported;			 /* a bind failure was logged and not yet resolved */
	struct timespec start;		 /* CLOCK_MONOTONIC at admin_new() */
	struct health_time last_applied; /* of the last successful sync, unset before */
};

typedef void (*route_fn)(struct admin *a, const struct server_request *req,
			 struct server_response *resp);

struct route {
	const char *path;
	route_fn fn;
};

bool admin_proxy_healthy(const struct admin *a)
{
	return health_is_fresh(loop_now_ms(), sync_oldest_pending(a->sync),
			       2 * a->cfg->sync_period_ms);
}

static void proxy_health(struct admin *a, struct server_response *resp, bool with_node)
{
	struct metrics *m = sync_metrics(a->sync);
	bool healthy = admin_proxy_healthy(a);
	bool eligible = health_node_eligible(model_node(*a->model));
	bool ok = healthy && (!with_node || eligible);
	struct health_time now;

	health_time_now(&now, &a->start);
	resp->status = ok ? 200 : 503;
	resp->content_type = "application/json";
	/* While kube-proxy answers 200, its last update is now (nothing is waiting). */
	health_proxy_body(&resp->body, ok ? &now : &a->last_applied, &now, with_node, eligible);
	if (with_node)
		ok ? m->healthz_200_total++ : m->healthz_503_total++;
	else
		ok ? m->livez_200_total++ : m->livez_503_total++;
}

static void route_healthz(struct admin *a, const struct server_request *req,
			  struct server_response *resp)
{
	(void)req;
	proxy_health(a, resp, true);
}

static void route_livez(struct admin *a, const struct server_request *req,
			struct server_response *resp)
{
	(void)req;
	proxy_health(a, resp, false);
}

static void route_metrics(struct admin *a, const struct server_request *req,
			  struct server_response *resp)
{
	struct metrics *m = sync_metrics(a->sync);
	size_t limit = fdlimit_limit();
	unsigned long long refused, cut;

	(void)req;
	m->open_fds = fdlimit_in_use();
	m->max_fds = limit == (size_t)-1 ? 0 : limit;
	server_stats(&refused, &cut);
	m->http_refused_total = refused;
	m->http_header_timeouts_total = cut;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	metrics_format(m, &resp->body);
}

/* With --enable-debug-handlers=false the debug routes do not exist. */
static bool debug_off(struct admin *a, struct server_response *resp)
{
	if (a->cfg->debug_handlers)
		return false;
	resp->status = 404;
	strbuf_adds(&resp->body, "404 page not found\n");
	return true;
}

static void route_debug_rules(struct admin *a, const struct server_request *req,
			      struct server_response *resp)
{
	if (debug_off(a, resp))
		return;
	if (req->pending) {
		sync_build_pending(a->sync, &resp->body);
		return;
	}
	if (!sync_describe_applied(a->sync, &resp->body)) {
		resp->status = 503;
		strbuf_adds(&resp->body, "no rules applied yet\n");
	}
}

static void route_debug_model(struct admin *a, const struct server_request *req,
			      struct server_response *resp)
{
	(void)req;
	if (debug_off(a, resp))
		return;
	resp->content_type = "application/json";
	model_format_json(*a->model, &resp->body);
}

static const struct route healthz_routes[] = {
	{ "/healthz", route_healthz },
	{ "/livez", route_livez },
	{ NULL, NULL },
};

static const struct route metrics_routes[] = {
	{ "/metrics", route_metrics },
	{ "/debug/rules", route_debug_rules },
	{ "/debug/model", route_debug_model },
	{ "/healthz", route_healthz },
	{ "/livez", route_livez },
	{ NULL, NULL },
};

static void dispatch(struct admin *a, const struct route *routes, const struct server_request *req,
		     struct server_response *resp)
{
	const struct route *r;

	for (r = routes; r->path; r++) {
		if (strcmp(r->path, req->path) == 0) {
			r->fn(a, req, resp);
			return;
		}
	}
	resp->status = 404;
	strbuf_adds(&resp->body, "404 page not found\n");
}

static void on_healthz(const struct server_request *req, struct server_response *resp, void *arg)
{
	dispatch(arg, healthz_routes, req, resp);
}

static void on_metrics(const struct server_request *req, struct server_response *resp, void *arg)
{
	dispatch(arg, metrics_routes, req, resp);
}

/*
 * Opens the servers that are not open yet. A port that is taken (kube-proxy
 * still running during a migration, say) is logged once and tried again every
 * few seconds; kproxy keeps programming rules meanwhile.
 */
static void try_listen(void *arg)
{
	struct admin *a = arg;
	struct errbuf err;
	bool failed = false;

	if (a->cfg->healthz.enabled && !a->healthz) {
		a->healthz = server_new(a->loop, &a->cfg->healthz.addr, a->cfg->healthz.port,
					on_healthz, a, &err);
		if (!a->healthz) {
			failed = true;
			if (!a->reported)
				log_error("--healthz-bind-address: %s; retrying", err.msg);
		}
	}
	if (a->cfg->metrics.enabled && !a->metrics) {
		a->metrics = server_new(a->loop, &a->cfg->metrics.addr, a->cfg->metrics.port,
					on_metrics, a, &err);
		if (!a->metrics) {
			failed = true;
			if (!a->reported)
				log_error("--metrics-bind-address: %s; retrying", err.msg);
		}
	}
	if (!failed && a->reported)
		log_info("health and metrics servers listening");
	a->reported = failed;
	if (failed)
		loop_timer_arm(a->retry, ADMIN_RETRY_MS);
}

struct admin *admin_new(struct loop *l, const struct config *cfg, struct sync *s,
			struct model *const *model, struct errbuf *err)
{
	struct admin *a = xcalloc(1, sizeof(*a));

	a->loop = l;
	a->cfg = cfg;
	a->sync = s;
	a->model = model;
	clock_gettime(CLOCK_MONOTONIC, &a->start);
	a->retry = loop_timer_new(l, try_listen, a);
	if (!a->retry) {
		errbuf_set(err, "cannot create a timer: %s", strerror(errno));
		free(a);
		return NULL;
	}
	try_listen(a);
	return a;
}

void admin_applied(struct admin *a)
{
	health_time_now(&a->last_applied, &a->start);
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	server_free(a->healthz);
	server_free(a->metrics);
	loop_timer_free(a->retry);
	free(a);
}
