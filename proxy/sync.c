// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The sync engine runs what its scheduler (struct sync_sched, pure) decides,
 * on the loop, with one timer:
 *
 *   idle --sync--> (full: read the kernel's nat and filter tables, with
 *   iptables-nft-save -t nat then -t filter, or libiptc on legacy) --> build
 *   --> restore (batches, then the payload) --exit--> idle
 *   idle --check--> iptables -S of the canary chains and the base chains,
 *   one after the other --> idle (a full sync is due when something is missing)
 *
 * Only one child runs at a time. Changes that arrive meanwhile wait in the
 * scheduler and are picked up when the child is done, so a burst of changes
 * costs one more restore, not one each.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/log.h"
#include "proxy/sync.h"
#include "proxy/xalloc.h"
#include "rules/chains.h"

#define SYNC_MAX_LOCAL_ADDRS 256

/* The chains the periodic check lists: canaries, then the base chains with jumps. */
static const struct {
	const char *table;
	const char *chain;
} checks[] = {
	{ "nat", RULES_CANARY }, { "filter", RULES_CANARY }, { "nat", "PREROUTING" },
	{ "nat", "OUTPUT" },	 { "nat", "POSTROUTING" },   { "filter", "INPUT" },
	{ "filter", "FORWARD" }, { "filter", "OUTPUT" },
};

#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))

struct sync {
	struct loop *loop;
	const struct config *cfg;
	enum restore_backend backend;
	struct model *model;
	struct sync_hooks hooks;
	void *arg;
	struct sync_sched *sched;
	struct loop_timer *timer; /* when the scheduler asked to be woken */
	struct restore_child *child;
	bool known; /* existing reflects the kernel */
	bool inflight_full;
	size_t save_index; /* the table being read (chains_save_argv()) */
	size_t check_index;
	size_t batch_index; /* next batch of the inflight output to apply */
	struct rules_existing existing;
	struct rules_output inflight;
	bool inflight_valid;
	char **inflight_changed;
	size_t n_inflight_changed;
	uint64_t inflight_since; /* oldest change the running sync carries */
	uint64_t inflight_started;
	uint64_t pending_since; /* oldest change not yet in a sync */
	char *last_good;
	size_t last_good_len;
	size_t last_good_batches;
	char *last_warnings;
	unsigned long successes;
	unsigned long failures;
	struct metrics metrics;
	struct k8s_addr local_addrs[SYNC_MAX_LOCAL_ADDRS];
	size_t n_local_addrs;
};

static void drive(struct sync *s);

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t sync_plan_delay(uint64_t now, uint64_t last_start, uint64_t min_period,
			 uint64_t not_before)
{
	uint64_t at = now;

	if (last_start && last_start + min_period > at)
		at = last_start + min_period;
	if (not_before > at)
		at = not_before;
	return at - now;
}

uint64_t sync_plan_retry(unsigned consecutive_failures, uint64_t sync_period)
{
	uint64_t delay = 1000;
	unsigned i;

	for (i = 1; i < consecutive_failures && delay < sync_period; i++)
		delay *= 2;
	return delay > sync_period ? sync_period : delay;
}

enum sched_busy {
	SCHED_IDLE,
	SCHED_SYNCING,
	SCHED_CHECKING,
};

struct sync_sched {
	uint64_t min_period;
	uint64_t sync_period;
	enum sched_busy busy;
	bool pending;			/* a change waits for a sync */
	enum sync_sched_full need_full; /* why the next sync must be full, or PARTIAL */
	bool applied;			/* a sync succeeded: kproxy's rules are there to check */
	bool check_due;			/* a sync period passed since the last check */
	bool check_next;		/* and a sync ran since: the check goes before the next */
	uint64_t last_start;
	uint64_t last_full;  /* end of the last successful full sync */
	uint64_t not_before; /* a retry's earliest time */
	uint64_t next_check;
	unsigned consecutive_failures;
};

struct sync_sched *sync_sched_new(uint64_t now, uint64_t min_sync_period, uint64_t sync_period)
{
	struct sync_sched *ss = xcalloc(1, sizeof(*ss));

	ss->min_period = min_sync_period;
	ss->sync_period = sync_period;
	/* Not knowing what the kernel holds, the first sync writes everything. */
	ss->need_full = SYNC_SCHED_FULL_START;
	ss->next_check = now + sync_period;
	return ss;
}

void sync_sched_free(struct sync_sched *ss)
{
	free(ss);
}

/* The earlier of two times where 0 means none. */
static uint64_t earliest(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

void sync_sched_next(struct sync_sched *ss, uint64_t now, struct sync_sched_decision *d)
{
	bool periodic = ss->last_full && now - ss->last_full >= SYNC_FULL_PERIOD_MS;
	uint64_t delay;

	memset(d, 0, sizeof(*d));
	/* The end of what runs is the next event. */
	if (ss->busy != SCHED_IDLE)
		return;
	if (now >= ss->next_check) {
		ss->next_check = now + ss->sync_period;
		if (ss->applied)
			ss->check_due = true;
	}
	/*
	 * A due check lets a waiting change have its sync first, then runs
	 * before the sync after: under constant churn a check that waited for
	 * a quiet moment would never run. While a full sync is due there is
	 * nothing to check: it rewrites every chain and jump anyway.
	 */
	if (ss->check_due && ss->need_full == SYNC_SCHED_PARTIAL &&
	    (!ss->pending || ss->check_next)) {
		ss->check_due = false;
		ss->check_next = false;
		ss->busy = SCHED_CHECKING;
		d->action = SYNC_SCHED_CHECK;
		return;
	}
	/* An hour after the last full sync, another one runs, change or not. */
	if (ss->pending || periodic) {
		delay = sync_plan_delay(now, ss->last_start, ss->min_period, ss->not_before);
		if (!delay) {
			d->action = SYNC_SCHED_SYNC;
			d->full = ss->need_full;
			if (d->full == SYNC_SCHED_PARTIAL && periodic)
				d->full = SYNC_SCHED_FULL_PERIODIC;
			ss->pending = false;
			ss->last_start = now;
			ss->busy = SCHED_SYNCING;
			if (ss->check_due)
				ss->check_next = true;
			return;
		}
		d->wake_at = now + delay;
	}
	d->wake_at = earliest(d->wake_at, ss->next_check);
	if (ss->last_full && !periodic)
		d->wake_at = earliest(d->wake_at, ss->last_full + SYNC_FULL_PERIOD_MS);
}

void sync_sched_change(struct sync_sched *ss)
{
	ss->pending = true;
}

uint64_t sync_sched_sync_done(struct sync_sched *ss, uint64_t now, bool ok, bool full)
{
	uint64_t delay;

	ss->busy = SCHED_IDLE;
	if (ok) {
		ss->applied = true;
		ss->consecutive_failures = 0;
		ss->not_before = 0;
		if (full) {
			ss->last_full = now;
			ss->need_full = SYNC_SCHED_PARTIAL;
		}
		return 0;
	}
	/* The kernel keeps what it had; what kproxy knows of it is in doubt. */
	ss->consecutive_failures++;
	delay = sync_plan_retry(ss->consecutive_failures, ss->sync_period);
	ss->not_before = now + delay;
	ss->need_full = SYNC_SCHED_FULL_FAILURE;
	ss->pending = true;
	return delay;
}

void sync_sched_check_done(struct sync_sched *ss, bool ok)
{
	ss->busy = SCHED_IDLE;
	if (!ok) {
		ss->need_full = SYNC_SCHED_FULL_CHECK;
		ss->pending = true;
	}
}

static void on_timer(void *arg)
{
	drive(arg);
}

static void free_changed(struct sync *s)
{
	size_t i;

	for (i = 0; i < s->n_inflight_changed; i++)
		free(s->inflight_changed[i]);
	free(s->inflight_changed);
	s->inflight_changed = NULL;
	s->n_inflight_changed = 0;
}

/* The changes the failed sync carried wait again, as old as they were. */
static void requeue_inflight(struct sync *s)
{
	if (s->inflight_since && (!s->pending_since || s->inflight_since < s->pending_since))
		s->pending_since = s->inflight_since;
	s->inflight_since = 0;
}

/* A failed sync: the kernel keeps what it had; retry a full sync with backoff. */
static void sync_failed(struct sync *s)
{
	uint64_t delay;

	s->failures++;
	s->metrics.restore_failures_total++;
	if (!s->inflight_full)
		s->metrics.partial_restore_failures_total++;
	delay = sync_sched_sync_done(s->sched, loop_now_ms(), false, s->inflight_full);
	s->known = false;
	requeue_inflight(s);
	free_changed(s);
	/*
	 * Every Service counts as changed again, those the failed sync carried
	 * among them: the conntrack cleanup after the retry covers them.
	 */
	model_dirty_all(s->model);
	log_warn("sync: retrying with a full sync in %llu ms", (unsigned long long)delay);
	drive(s);
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

void sync_rules_config_from(const struct config *cfg, const struct k8s_addr *local_addrs,
			    size_t n_local_addrs, struct rules_config *rc)
{
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
	rc->dispatch_split = cfg->dispatch_split;
	rc->local_addrs = local_addrs;
	rc->n_local_addrs = n_local_addrs;
}

void sync_rules_config(struct sync *s, struct rules_config *rc)
{
	sync_rules_config_from(s->cfg, s->local_addrs, s->n_local_addrs, rc);
	/*
	 * iptables-nft's --noflush restore slows down with the square of the
	 * chains one payload declares (minutes at 10,000 Services): large syncs
	 * go in batches of whole Services. Legacy commits the whole table each
	 * time, so there one restore is cheapest.
	 */
	if (s->backend == RESTORE_BACKEND_NFT)
		rc->batch_chains = SYNC_BATCH_CHAINS;
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

static void record_success(struct sync *s, const struct rules_stats *st)
{
	uint64_t now = loop_now_ms();
	double secs = (double)(now - s->inflight_started) / 1000.0;
	struct metrics *m = &s->metrics;

	metrics_observe(&m->sync_duration, secs);
	metrics_observe(s->inflight_full ? &m->sync_full_duration : &m->sync_partial_duration,
			secs);
	if (s->inflight_since)
		metrics_observe(&m->programming_latency,
				(double)(now - s->inflight_since) / 1000.0);
	m->last_sync_timestamp = wall_now();
	m->iptables_last[RULES_TABLE_FILTER] = st->rules[RULES_TABLE_FILTER];
	m->iptables_last[RULES_TABLE_NAT] = st->rules[RULES_TABLE_NAT];
	m->iptables_total[RULES_TABLE_FILTER] = st->rules_total[RULES_TABLE_FILTER];
	m->iptables_total[RULES_TABLE_NAT] = st->rules_total[RULES_TABLE_NAT];
	m->no_local_endpoints_internal = st->no_local_internal;
	m->no_local_endpoints_external = st->no_local_external;
	m->services = st->services;
	m->endpoints = st->endpoints;
}

static void restore_done(const struct restore_result *res, void *arg)
{
	struct sync *s = arg;
	struct rules_output *out = &s->inflight;
	bool first = s->successes == 0;
	bool failed = res->status != 0 || res->timed_out;

	/* res belongs to the child: use it before freeing the child. */
	if (failed)
		log_restore_failure(res, strbuf_str(&out->payload));
	else
		log_debug(2, "sync: restore took %llu ms", (unsigned long long)res->elapsed_ms);
	restore_child_free(s->child);
	s->child = NULL;
	if (failed) {
		rules_output_fini(out);
		s->inflight_valid = false;
		sync_failed(s);
		return;
	}
	s->successes++;
	record_success(s, &out->stats);
	s->inflight_since = 0;
	rules_existing_fini(&s->existing);
	s->existing = out->after;
	memset(&out->after, 0, sizeof(out->after));
	s->known = true;
	/*
	 * Kept for /debug/rules while it tells the whole story: not a payload
	 * that came with batches (it lacks their chains), nor one of tens of
	 * MB (a full sync at 10,000 Services: that is rebuilt on request).
	 */
	free(s->last_good);
	s->last_good = NULL;
	if (!out->n_batches && out->payload.len <= SYNC_LAST_GOOD_MAX)
		s->last_good = strbuf_detach(&out->payload, NULL);
	s->last_good_len = out->payload.len;
	s->last_good_batches = out->n_batches;
	log_info("sync: applied %s sync of %zu services, %zu endpoints: filter %zu rules, "
		 "nat %zu of %zu rules written, %zu stale chains deleted, in %llu ms",
		 s->inflight_full ? "a full" : "a partial", out->stats.services,
		 out->stats.endpoints, out->stats.rules[RULES_TABLE_FILTER],
		 out->stats.rules[RULES_TABLE_NAT], out->stats.rules_total[RULES_TABLE_NAT],
		 out->stats.deleted_chains,
		 (unsigned long long)(loop_now_ms() - s->inflight_started));
	if (s->hooks.applied)
		s->hooks.applied(&out->stats, s->inflight_full, first, s->inflight_changed,
				 s->n_inflight_changed, s->arg);
	free_changed(s);
	rules_output_fini(out);
	s->inflight_valid = false;
	/* A large build leaves tens of MB free in the heap: give them back. */
	malloc_trim(0);
	/* Last: a hook that asked for a sync must not see this one still in its hands. */
	sync_sched_sync_done(s->sched, loop_now_ms(), true, s->inflight_full);
	drive(s);
}

/* Remembers which Services this sync changes, for the conntrack cleanup. */
static void collect_changed(struct sync *s)
{
	const struct model_service **svcs;
	size_t n, i;

	free_changed(s);
	svcs = model_services_sorted(s->model, &n);
	s->inflight_changed = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		if (svcs[i]->dirty)
			s->inflight_changed[s->n_inflight_changed++] = xstrdup(svcs[i]->key);
	free(svcs);
}

static void batch_done(const struct restore_result *res, void *arg);

/* Starts the next batch of the inflight output, or its final payload. */
static int apply_next(struct sync *s)
{
	const struct strbuf *text = &s->inflight.payload;
	const char *argv[8];
	restore_done_cb done = restore_done;

	if (s->batch_index < s->inflight.n_batches) {
		text = &s->inflight.batches[s->batch_index];
		done = batch_done;
	}
	restore_argv(s->backend, true, argv);
	s->child = restore_child_start(s->loop, argv, strbuf_str(text), text->len,
				       s->cfg->restore_timeout_ms, done, s);
	if (!s->child) {
		log_error("sync: cannot run %s: %s", argv[0], strerror(errno));
		return -errno;
	}
	return 0;
}

static void batch_done(const struct restore_result *res, void *arg)
{
	struct sync *s = arg;
	bool failed = res->status != 0 || res->timed_out;

	if (failed)
		log_restore_failure(res, strbuf_str(&s->inflight.batches[s->batch_index]));
	restore_child_free(s->child);
	s->child = NULL;
	if (failed) {
		rules_output_fini(&s->inflight);
		s->inflight_valid = false;
		sync_failed(s);
		return;
	}
	s->batch_index++;
	if (apply_next(s) < 0) {
		rules_output_fini(&s->inflight);
		s->inflight_valid = false;
		sync_failed(s);
	}
}

static void build_and_apply(struct sync *s)
{
	struct rules_config rc;
	size_t svc_changes, ep_changes;

	s->inflight_started = loop_now_ms();
	s->inflight_since = s->pending_since;
	s->pending_since = 0;
	read_local_addrs(s);
	sync_rules_config(s, &rc);
	rules_build(s->model, &rc, &s->existing, s->inflight_full, &s->inflight);
	s->inflight_full = s->inflight.full;
	s->inflight_valid = true;
	collect_changed(s);
	if (s->hooks.built)
		s->hooks.built(s->arg);
	model_changes_pending(s->model, &svc_changes, &ep_changes);
	s->metrics.service_changes_total += svc_changes;
	s->metrics.endpoint_changes_total += ep_changes;
	s->metrics.service_changes_pending = 0;
	s->metrics.endpoint_changes_pending = 0;
	model_dirty_clear(s->model);
	log_new_warnings(s, &s->inflight.warnings);
	log_debug(9, "sync: restoring:\n%s", strbuf_str(&s->inflight.payload));
	if (s->inflight.n_batches)
		log_info("sync: %zu chains in %zu batches before the final restore",
			 s->inflight.stats.chains[RULES_TABLE_NAT], s->inflight.n_batches);
	s->batch_index = 0;
	if (apply_next(s) < 0) {
		rules_output_fini(&s->inflight);
		s->inflight_valid = false;
		sync_failed(s);
	}
}

static int start_save(struct sync *s);

/* One table read; the tables are parsed into existing as they come. */
static void save_done(const struct restore_result *res, void *arg)
{
	struct sync *s = arg;
	int status = res->timed_out ? -1 : res->status;
	const char *argv[4];

	if (status != 0) {
		chains_save_argv(s->backend, s->save_index, argv);
		log_error("sync: %s -t %s failed (exit %d): %s", argv[0], argv[2], status,
			  strbuf_str(res->err));
		restore_child_free(s->child);
		s->child = NULL;
		sync_failed(s);
		return;
	}
	chains_parse_save_add(strbuf_str(res->out), &s->existing);
	restore_child_free(s->child);
	s->child = NULL;
	if (++s->save_index < CHAINS_SAVE_TABLES) {
		if (start_save(s) < 0)
			sync_failed(s);
		return;
	}
	s->known = true;
	build_and_apply(s);
}

/* Starts `iptables-nft-save -t TABLE` for the table at save_index. */
static int start_save(struct sync *s)
{
	const char *argv[4];

	chains_save_argv(s->backend, s->save_index, argv);
	s->child = restore_child_start(s->loop, argv, NULL, 0, s->cfg->restore_timeout_ms,
				       save_done, s);
	if (!s->child) {
		int ret = -errno;

		log_error("sync: cannot run %s: %s", argv[0], strerror(-ret));
		return ret;
	}
	return 0;
}

static void start_sync(struct sync *s, enum sync_sched_full full)
{
	struct errbuf err;

	s->inflight_full = full != SYNC_SCHED_PARTIAL;
	if (full == SYNC_SCHED_FULL_PERIODIC)
		log_info("sync: running the periodic full sync (the last full one is %u min old)",
			 SYNC_FULL_PERIOD_MS / 60000);
	if (!s->inflight_full) {
		build_and_apply(s);
		return;
	}
	/*
	 * A full sync does not trust what kproxy last wrote (there is nothing
	 * at start; a failure, a flush or an hour may have changed anything):
	 * it reads what the kernel holds and writes everything.
	 */
	s->known = false;
	rules_existing_fini(&s->existing);
	if (s->backend == RESTORE_BACKEND_LEGACY) {
		if (chains_read_legacy(&s->existing, &err) < 0) {
			log_error("sync: %s", err.msg);
			sync_failed(s);
			return;
		}
		s->known = true;
		build_and_apply(s);
		return;
	}
	s->save_index = 0;
	if (start_save(s) < 0)
		sync_failed(s);
}

static void start_check(struct sync *s);

/* Does `iptables -S CHAIN` show what kproxy put there? */
static bool check_output_ok(struct sync *s, size_t i, const char *out)
{
	const struct rules_jump *jumps;
	char line[1024];
	size_t n, k;

	if (strcmp(checks[i].chain, RULES_CANARY) == 0)
		return true; /* it exists: the command succeeded */
	jumps = rules_jumps(&n);
	for (k = 0; k < n; k++) {
		const char *tname = jumps[k].table == RULES_TABLE_NAT ? "nat" : "filter";

		if (strcmp(tname, checks[i].table) != 0 || strcmp(jumps[k].base, checks[i].chain))
			continue;
		snprintf(line, sizeof(line), "-A %s %s\n", jumps[k].base, jumps[k].spec);
		if (!strstr(out, line))
			return false;
	}
	(void)s;
	return true;
}

static void check_done(const struct restore_result *res, void *arg)
{
	struct sync *s = arg;
	size_t i = s->check_index;
	bool ok =
		!res->timed_out && res->status == 0 && check_output_ok(s, i, strbuf_str(res->out));
	char why[128];

	restore_child_free(s->child);
	s->child = NULL;
	if (!ok) {
		/* Something outside changed kproxy's rules: read the kernel and rewrite. */
		snprintf(why, sizeof(why), "%s %s %s", checks[i].table, checks[i].chain,
			 strcmp(checks[i].chain, RULES_CANARY) == 0 ? "is gone"
								    : "lost kproxy's jumps");
		log_warn("sync: %s; running a full sync", why);
		s->known = false;
		model_dirty_all(s->model);
		sync_sched_check_done(s->sched, false);
		sync_request(s);
		return;
	}
	s->check_index++;
	if (s->check_index < N_CHECKS) {
		start_check(s);
		return;
	}
	sync_sched_check_done(s->sched, true);
	drive(s);
}

static void start_check(struct sync *s)
{
	const char *argv[] = {
		restore_cmd(s->backend, "cmd"), "-w", "5", "-t", checks[s->check_index].table, "-S",
		checks[s->check_index].chain,	NULL
	};

	s->child = restore_child_start(s->loop, argv, NULL, 0, 60000, check_done, s);
	if (!s->child) {
		/* Nothing was found missing; the next sync period tries again. */
		log_error("sync: cannot run %s: %s", argv[0], strerror(errno));
		sync_sched_check_done(s->sched, true);
		drive(s);
	}
}

/* Does what the scheduler decides now: start a sync or a check, or wait. */
static void drive(struct sync *s)
{
	struct sync_sched_decision d;
	uint64_t now = loop_now_ms();

	sync_sched_next(s->sched, now, &d);
	switch (d.action) {
	case SYNC_SCHED_WAIT:
		if (d.wake_at)
			loop_timer_arm(s->timer, d.wake_at - now);
		else
			loop_timer_disarm(s->timer);
		break;
	case SYNC_SCHED_SYNC:
		loop_timer_disarm(s->timer);
		start_sync(s, d.full);
		break;
	case SYNC_SCHED_CHECK:
		/* Every sync period: are kproxy's canaries and jumps still where it put them? */
		loop_timer_disarm(s->timer);
		s->check_index = 0;
		start_check(s);
		break;
	}
}

struct sync *sync_new(struct loop *l, const struct config *cfg, enum restore_backend backend,
		      struct model *m, const struct sync_hooks *hooks, void *arg)
{
	struct sync *s = xcalloc(1, sizeof(*s));

	s->loop = l;
	s->cfg = cfg;
	s->backend = backend;
	s->model = m;
	if (hooks)
		s->hooks = *hooks;
	s->arg = arg;
	metrics_init(&s->metrics);
	s->sched = sync_sched_new(loop_now_ms(), cfg->min_sync_period_ms, cfg->sync_period_ms);
	s->timer = loop_timer_new(l, on_timer, s);
	if (!s->timer) {
		sync_free(s);
		return NULL;
	}
	drive(s);
	return s;
}

void sync_free(struct sync *s)
{
	if (!s)
		return;
	restore_child_free(s->child);
	loop_timer_free(s->timer);
	sync_sched_free(s->sched);
	if (s->inflight_valid)
		rules_output_fini(&s->inflight);
	free_changed(s);
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
	size_t svc, ep;

	if (!s->pending_since)
		s->pending_since = loop_now_ms();
	model_changes_pending(s->model, &svc, &ep);
	s->metrics.service_changes_pending = svc;
	s->metrics.endpoint_changes_pending = ep;
	s->metrics.last_queued_timestamp = wall_now();
	sync_sched_change(s->sched);
	drive(s);
}

/*
 * Appends the payload of a full build of the model against existing (NULL:
 * an empty kernel); with whole, without batches, so that it holds every chain.
 */
static void append_full_build(struct sync *s, const struct rules_existing *existing, bool whole,
			      struct strbuf *out)
{
	struct rules_config rc;
	struct rules_output o;

	sync_rules_config(s, &rc);
	if (whole)
		rc.batch_chains = 0;
	rules_build(s->model, &rc, existing, true, &o);
	strbuf_add(out, strbuf_str(&o.payload), o.payload.len);
	rules_output_fini(&o);
}

void sync_build_pending(struct sync *s, struct strbuf *out)
{
	append_full_build(s, s->known ? &s->existing : NULL, false, out);
}

bool sync_describe_applied(struct sync *s, struct strbuf *out)
{
	if (s->last_good) {
		strbuf_adds(out, s->last_good);
		return true;
	}
	if (!s->successes)
		return false;
	strbuf_addf(
		out,
		"# The last payload applied (%zu bytes after %zu batches) is not kept; this is\n"
		"# the whole of kproxy's rules for the current state, as one payload.\n",
		s->last_good_len, s->last_good_batches);
	/* The rebuild reads the model, which may be ahead of the kernel. */
	if (sync_oldest_pending(s))
		strbuf_adds(
			out,
			"# Changes not yet applied are included: the kernel does not hold them\n"
			"# until the next sync succeeds.\n");
	append_full_build(s, NULL, true, out);
	return true;
}

uint64_t sync_oldest_pending(const struct sync *s)
{
	return earliest(s->pending_since, s->inflight_since);
}

struct metrics *sync_metrics(struct sync *s)
{
	return &s->metrics;
}

unsigned long sync_successes(const struct sync *s)
{
	return s->successes;
}

unsigned long sync_failures(const struct sync *s)
{
	return s->failures;
}
