// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sync engine is a small state machine on the loop:
 *
 *   IDLE --timer--> (SAVING: iptables-nft-save, only when the kernel's state
 *   is unknown) --> build --> RESTORING --exit--> IDLE
 *
 * Only one child runs at a time. Changes that arrive meanwhile set "pending"
 * and are picked up when the child is done, so a burst of changes costs one
 * more restore, not one each.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/log.h"
#include "proxy/sync.h"
#include "proxy/xalloc.h"
#include "rules/chains.h"
#include "rules/rules.h"

#define SYNC_MAX_LOCAL_ADDRS 256

enum sync_phase {
	SYNC_IDLE,
	SYNC_SAVING,
	SYNC_RESTORING,
};

struct sync {
	struct loop *loop;
	const struct config *cfg;
	enum restore_backend backend;
	struct model *model;
	struct loop_timer *timer;
	struct restore_child *child;
	enum sync_phase phase;
	bool pending;
	bool known; /* existing reflects the kernel */
	struct rules_existing existing;
	struct rules_output inflight;
	bool inflight_valid;
	char *last_good;
	char *last_warnings;
	uint64_t last_start_ms;
	uint64_t not_before_ms;
	unsigned consecutive_failures;
	unsigned long successes;
	unsigned long failures;
	struct k8s_addr local_addrs[SYNC_MAX_LOCAL_ADDRS];
	size_t n_local_addrs;
};

static void start_sync(struct sync *s);

static void schedule(struct sync *s)
{
	uint64_t now = loop_now_ms(), at = now;

	if (s->phase != SYNC_IDLE || !s->pending || loop_timer_armed(s->timer))
		return;
	if (s->last_start_ms && s->last_start_ms + s->cfg->min_sync_period_ms > at)
		at = s->last_start_ms + s->cfg->min_sync_period_ms;
	if (s->not_before_ms > at)
		at = s->not_before_ms;
	loop_timer_arm(s->timer, at - now);
}

static void on_timer(void *arg)
{
	struct sync *s = arg;

	if (s->phase == SYNC_IDLE && s->pending)
		start_sync(s);
}

/* A failed sync: the kernel keeps what it had; retry a full sync with backoff. */
static void sync_failed(struct sync *s)
{
	uint64_t delay = 1000;
	unsigned i;

	s->failures++;
	s->consecutive_failures++;
	for (i = 1; i < s->consecutive_failures && delay < s->cfg->sync_period_ms; i++)
		delay *= 2;
	if (delay > s->cfg->sync_period_ms)
		delay = s->cfg->sync_period_ms;
	s->known = false;
	s->pending = true;
	s->not_before_ms = loop_now_ms() + delay;
	model_dirty_all(s->model);
	log_warn("sync: retrying with a full sync in %llu ms", (unsigned long long)delay);
	s->phase = SYNC_IDLE;
	schedule(s);
}

/* Reads this node's addresses (for --nodeport-addresses). */
static void read_local_addrs(struct sync *s)
{
	struct ifaddrs *ifa, *p;

	s->n_local_addrs = 0;
	if (getifaddrs(&ifa) < 0)
		return;
	for (p = ifa; p && s->n_local_addrs < SYNC_MAX_LOCAL_ADDRS; p = p->ifa_next) {
		struct k8s_addr *a = &s->local_addrs[s->n_local_addrs];

		if (!p->ifa_addr)
			continue;
		memset(a, 0, sizeof(*a));
		if (p->ifa_addr->sa_family == AF_INET) {
			a->family = K8S_FAMILY_IPV4;
			memcpy(a->bytes, &((struct sockaddr_in *)(void *)p->ifa_addr)->sin_addr, 4);
		} else if (p->ifa_addr->sa_family == AF_INET6) {
			a->family = K8S_FAMILY_IPV6;
			memcpy(a->bytes, &((struct sockaddr_in6 *)(void *)p->ifa_addr)->sin6_addr,
			       16);
		} else {
			continue;
		}
		s->n_local_addrs++;
	}
	freeifaddrs(ifa);
}

static void rules_config_fill(struct sync *s, struct rules_config *rc)
{
	const struct config *cfg = s->cfg;
	size_t i;

	memset(rc, 0, sizeof(*rc));
	rc->family = K8S_FAMILY_IPV4;
	for (i = 0; i < cfg->n_cluster_cidrs; i++) {
		if (cfg->cluster_cidrs[i].addr.family == rc->family) {
			rc->cluster_cidr = &cfg->cluster_cidrs[i];
			break;
		}
	}
	rc->masquerade_all = cfg->masquerade_all;
	rc->masquerade_bit = cfg->masquerade_bit;
	rc->localhost_nodeports = cfg->localhost_nodeports;
	rc->nodeport_cidrs = cfg->nodeport_cidrs;
	rc->n_nodeport_cidrs = cfg->n_nodeport_cidrs;
	rc->nodeport_primary = cfg->nodeport_primary;
	rc->gates = &cfg->gates;
	rc->local_addrs = s->local_addrs;
	rc->n_local_addrs = s->n_local_addrs;
}

static void log_new_warnings(struct sync *s, const struct strbuf *w)
{
	const char *p, *nl;

	/* The same warnings come with every sync; log them when they change. */
	if (s->last_warnings && strcmp(s->last_warnings, strbuf_str(w)) == 0)
		return;
	free(s->last_warnings);
	s->last_warnings = xstrdup(strbuf_str(w));
	for (p = s->last_warnings; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		log_warn("%.*s", (int)(nl - p), p);
}

static void log_restore_failure(const struct restore_result *res, const char *payload)
{
	struct strbuf ctx = STRBUF_INIT;
	unsigned line;

	if (res->timed_out)
		log_error("sync: iptables-restore killed after %llu ms",
			  (unsigned long long)res->elapsed_ms);
	else
		log_error("sync: iptables-restore failed (exit %d): %s", res->status,
			  strbuf_str(res->err));
	line = restore_failed_line(strbuf_str(res->err));
	if (line) {
		restore_context(payload, line, &ctx);
		log_error("sync: payload around line %u:\n%s", line, strbuf_str(&ctx));
	}
	strbuf_fini(&ctx);
}

static void restore_done(const struct restore_result *res, void *arg)
{
	struct sync *s = arg;
	struct rules_output *out = &s->inflight;

	restore_child_free(s->child);
	s->child = NULL;
	if (res->status != 0 || res->timed_out) {
		log_restore_failure(res, strbuf_str(&out->payload));
		rules_output_fini(out);
		s->inflight_valid = false;
		sync_failed(s);
		return;
	}
	s->successes++;
	s->consecutive_failures = 0;
	s->not_before_ms = 0;
	rules_existing_fini(&s->existing);
	s->existing = out->after;
	memset(&out->after, 0, sizeof(out->after));
	s->known = true;
	free(s->last_good);
	s->last_good = strbuf_detach(&out->payload, NULL);
	log_info("sync: applied %zu services, %zu endpoints: filter %zu chains %zu rules, "
		 "nat %zu chains %zu rules, %zu stale chains deleted, in %llu ms",
		 out->stats.services, out->stats.endpoints, out->stats.chains[RULES_TABLE_FILTER],
		 out->stats.rules[RULES_TABLE_FILTER], out->stats.chains[RULES_TABLE_NAT],
		 out->stats.rules[RULES_TABLE_NAT], out->stats.deleted_chains,
		 (unsigned long long)res->elapsed_ms);
	rules_output_fini(out);
	s->inflight_valid = false;
	s->phase = SYNC_IDLE;
	schedule(s);
}

static void build_and_apply(struct sync *s)
{
	struct rules_config rc;
	const char *argv[8];

	read_local_addrs(s);
	rules_config_fill(s, &rc);
	rules_build(s->model, &rc, &s->existing, true, &s->inflight);
	s->inflight_valid = true;
	model_dirty_clear(s->model);
	log_new_warnings(s, &s->inflight.warnings);
	log_debug(9, "sync: restoring:\n%s", strbuf_str(&s->inflight.payload));
	restore_argv(s->backend, true, argv);
	s->child = restore_child_start(s->loop, argv, strbuf_str(&s->inflight.payload),
				       s->inflight.payload.len, SYNC_RESTORE_TIMEOUT_MS,
				       restore_done, s);
	if (!s->child) {
		log_error("sync: cannot run %s: %s", argv[0], strerror(errno));
		rules_output_fini(&s->inflight);
		s->inflight_valid = false;
		sync_failed(s);
		return;
	}
	s->phase = SYNC_RESTORING;
}

static void save_done(const struct restore_result *res, void *arg)
{
	struct sync *s = arg;
	int status = res->timed_out ? -1 : res->status;

	if (status != 0) {
		log_error("sync: %s failed (exit %d): %s", restore_cmd(s->backend, "save"), status,
			  strbuf_str(res->err));
		restore_child_free(s->child);
		s->child = NULL;
		sync_failed(s);
		return;
	}
	rules_existing_fini(&s->existing);
	chains_parse_save(strbuf_str(res->out), &s->existing);
	restore_child_free(s->child);
	s->child = NULL;
	s->known = true;
	build_and_apply(s);
}

static void start_sync(struct sync *s)
{
	struct errbuf err;

	s->pending = false;
	s->last_start_ms = loop_now_ms();
	if (s->known) {
		build_and_apply(s);
		return;
	}
	if (s->backend == RESTORE_BACKEND_LEGACY) {
		rules_existing_fini(&s->existing);
		if (chains_read_legacy(&s->existing, &err) < 0) {
			log_error("sync: %s", err.msg);
			sync_failed(s);
			return;
		}
		s->known = true;
		build_and_apply(s);
		return;
	}
	{
		const char *argv[] = { restore_cmd(s->backend, "save"), NULL };

		s->child = restore_child_start(s->loop, argv, NULL, 0, SYNC_RESTORE_TIMEOUT_MS,
					       save_done, s);
	}
	if (!s->child) {
		log_error("sync: cannot run %s: %s", restore_cmd(s->backend, "save"),
			  strerror(errno));
		sync_failed(s);
		return;
	}
	s->phase = SYNC_SAVING;
}

struct sync *sync_new(struct loop *l, const struct config *cfg, enum restore_backend backend,
		      struct model *m)
{
	struct sync *s = xcalloc(1, sizeof(*s));

	s->loop = l;
	s->cfg = cfg;
	s->backend = backend;
	s->model = m;
	s->timer = loop_timer_new(l, on_timer, s);
	if (!s->timer) {
		free(s);
		return NULL;
	}
	return s;
}

void sync_free(struct sync *s)
{
	if (!s)
		return;
	restore_child_free(s->child);
	loop_timer_free(s->timer);
	if (s->inflight_valid)
		rules_output_fini(&s->inflight);
	rules_existing_fini(&s->existing);
	free(s->last_good);
	free(s->last_warnings);
	free(s);
}

void sync_set_model(struct sync *s, struct model *m)
{
	s->model = m;
	model_dirty_all(m);
	sync_request(s);
}

void sync_request(struct sync *s)
{
	s->pending = true;
	schedule(s);
}

const char *sync_last_good(const struct sync *s)
{
	return s->last_good;
}

unsigned long sync_successes(const struct sync *s)
{
	return s->successes;
}

unsigned long sync_failures(const struct sync *s)
{
	return s->failures;
}
