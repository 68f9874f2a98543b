// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * kproxy: a node-local Kubernetes service proxy that programs iptables.
 *
 * main.c turns the command line into a configuration and runs one of the
 * modes. It is the only place that decides to exit: status 0 on success, 2 for
 * bad flags or unreadable input, 1 for a runtime failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apiwatch/apiwatch.h"
#include "apiwatch/decode.h"
#include "proxy/admin.h"
#include "proxy/config.h"
#include "proxy/conntrack.h"
#include "proxy/fdlimit.h"
#include "proxy/health.h"
#include "proxy/log.h"
#include "proxy/loop.h"
#include "proxy/model.h"
#include "proxy/sync.h"
#include "proxy/xalloc.h"
#include "rules/chains.h"
#include "rules/restore.h"
#include "rules/rules.h"

/**
 * struct proxy - the running daemon: everything main wires together.
 * @state_dir, @state_base: the --from-file path split, for inotify.
 */
struct proxy {
	const struct config *cfg;
	struct loop *loop;
	struct model *model;
	struct sync *sync;
	enum restore_backend backend;
	struct apiwatch *watch;
	bool synced; /* every watched kind has been listed once */
	struct admin *admin;
	struct hcports *hcports;
	struct loop_timer *hc_retry_timer;
	int inotify_fd;
	char *state_dir;
	char *state_base;
	struct loop_timer *reload_timer;
};

#define EXIT_BAD_INPUT 2

/* Reads a whole file of at most K8S_MAX_DOCUMENT bytes into a new buffer. */
static int read_file(const char *path, char **text, size_t *len, struct errbuf *err)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[65536];
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(err, "%s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = errbuf_set(err, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (sb.len + (size_t)n > K8S_MAX_DOCUMENT) {
			ret = errbuf_set(err, "%s: larger than %u bytes", path, K8S_MAX_DOCUMENT);
			goto out;
		}
		strbuf_add(&sb, chunk, (size_t)n);
	}
	*text = strbuf_detach(&sb, len);
out:
	close(fd);
	if (ret)
		strbuf_fini(&sb);
	return ret;
}

/*
 * Loads a cluster state file into the model. Objects that do not decode are
 * reported and skipped; the rest still load. Returns -EINVAL only when the
 * file cannot be read or is not a JSON list at all.
 */
static int load_state_file(const char *path, struct model *m, struct errbuf *err)
{
	struct decode_list list = { 0 };
	char *text = NULL;
	size_t len, i;
	int ret;

	ret = read_file(path, &text, &len, err);
	if (ret)
		return ret;
	ret = decode_list_parse(text, len, &list, err);
	free(text);
	if (ret) {
		errbuf_prefix(err, "%s", path);
		return ret;
	}
	for (i = 0; i < list.n_errors; i++)
		log_error("%s: skipped %s", path, list.errors[i]);
	for (i = 0; i < list.n_objects; i++) {
		struct errbuf oerr;

		if (model_object_update(m, &list.objects[i], &oerr))
			log_error("%s: skipped %s", path, oerr.msg);
	}
	decode_list_fini(&list);
	return 0;
}

/* The generator's view of the flags, with the Node's addresses as the local ones. */
static void rules_config_from(struct rules_config *rc, const struct config *cfg,
			      const struct model *m)
{
	const struct k8s_node *node = model_node(m);

	sync_rules_config_from(cfg, node ? node->addrs : NULL, node ? node->n_addrs : 0, rc);
}

static void log_warnings(const struct strbuf *warnings)
{
	const char *p = strbuf_str(warnings), *nl;

	while ((nl = strchr(p, '\n')) != NULL) {
		log_warn("%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

/* --dry-run: print the payload of one full sync of the file's state to stdout. */
static int run_dry(const struct config *cfg)
{
	struct rules_output out;
	struct rules_config rc;
	struct errbuf err;
	struct model *m;
	int status = 0;

	if (!cfg->from_file) {
		fprintf(stderr, "kproxy: --dry-run needs --from-file\n");
		return EXIT_BAD_INPUT;
	}
	m = model_new(cfg->hostname);
	if (load_state_file(cfg->from_file, m, &err)) {
		fprintf(stderr, "kproxy: %s\n", err.msg);
		status = EXIT_BAD_INPUT;
		goto out;
	}
	rules_config_from(&rc, cfg, m);
	rules_build(m, &rc, NULL, true, &out);
	log_warnings(&out.warnings);
	if (fwrite(strbuf_str(&out.payload), 1, out.payload.len, stdout) != out.payload.len ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "kproxy: writing the payload: %s\n", strerror(errno));
		status = EXIT_FAILURE;
	}
	rules_output_fini(&out);
out:
	model_free(m);
	return status;
}

static int pick_backend(const struct config *cfg, enum restore_backend *b)
{
	struct strbuf why = STRBUF_INIT;

	switch (cfg->backend) {
	case CONFIG_BACKEND_NFT:
		*b = RESTORE_BACKEND_NFT;
		strbuf_adds(&why, "--iptables-backend=nft");
		break;
	case CONFIG_BACKEND_LEGACY:
		*b = RESTORE_BACKEND_LEGACY;
		strbuf_adds(&why, "--iptables-backend=legacy");
		break;
	case CONFIG_BACKEND_AUTO:
		*b = chains_detect_backend(&why);
		break;
	}
	log_info("using the %s backend (%s)", *b == RESTORE_BACKEND_NFT ? "nft" : "legacy",
		 strbuf_str(&why));
	strbuf_fini(&why);
	return 0;
}

/*
 * Localhost NodePorts need the kernel to route 127.0.0.0/8 off the loopback
 * device. That is the one sysctl kproxy changes, and only when asked to.
 */
static int enable_route_localnet(void)
{
	static const char path[] = "/proc/sys/net/ipv4/conf/all/route_localnet";
	char cur = '0';
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (read(fd, &cur, 1) == 1 && cur == '1')
		goto out;
	if (pwrite(fd, "1\n", 2, 0) != 2) {
		ret = -errno;
		goto out;
	}
	log_info("set net.ipv4.conf.all.route_localnet=1 for localhost NodePorts");
out:
	close(fd);
	return ret;
}

/*
 * Health-check node ports listen where NodePorts answer: on every address,
 * or on this node's addresses that --nodeport-addresses selects. Noted as a
 * sync builds its rules (local addresses just read), in effect once it is
 * applied.
 */
static void on_built(void *arg)
{
	struct proxy *p = arg;
	struct k8s_addr addrs[64];
	struct rules_config rc;
	size_t n = 0, i, k;
	const struct k8s_node *node = model_node(p->model);

	sync_rules_config(p->sync, &rc);
	if (p->cfg->nodeport_primary && node) {
		for (i = 0; i < node->n_addrs && n < 1; i++)
			if (node->addrs[i].family == K8S_FAMILY_IPV4)
				addrs[n++] = node->addrs[i];
	} else {
		for (i = 0; i < rc.n_local_addrs && n < 64; i++)
			for (k = 0; k < rc.n_nodeport_cidrs; k++)
				if (k8s_cidr_contains(&rc.nodeport_cidrs[k], &rc.local_addrs[i])) {
					addrs[n++] = rc.local_addrs[i];
					break;
				}
	}
	if ((p->cfg->nodeport_primary || rc.n_nodeport_cidrs) && n == 0)
		log_warn("health checks: no local address matches --nodeport-addresses");
	hcports_prepare(p->hcports, p->model, n ? addrs : NULL, n);
}

/* Ports that could not be bound are tried again a sync period later. */
static void retry_health_check_ports(void *arg)
{
	struct proxy *p = arg;

	if (hcports_retry(p->hcports) > 0)
		loop_timer_arm(p->hc_retry_timer, p->cfg->sync_period_ms);
}

static bool proxy_healthy(void *arg)
{
	struct proxy *p = arg;

	return admin_proxy_healthy(p->admin);
}

static void health_check_port_failed(const char *ns, const char *name, const char *msg,
				     bool repeated, void *arg)
{
	struct proxy *p = arg;
	char text[512];

	sync_metrics(p->sync)->healthcheck_bind_failures_total++;
	if (repeated)
		return;
	log_error("service %s/%s: health check node port: %s", ns, name, msg);
	if (p->watch) {
		/* As kube-proxy: a Warning about the Service, in its namespace. */
		struct apiwatch_event ev = {
			.about = K8S_KIND_SERVICE,
			.namespace = ns,
			.name = name,
			.reason = "FailedToStartServiceHealthcheck",
			.action = "Listen",
			.message = text,
		};

		snprintf(text, sizeof(text),
			 "node %s failed to start the health check of %s/%s: %s", p->cfg->hostname,
			 ns, name, msg);
		apiwatch_event_post(p->watch, &ev);
	}
}

/* The API server's objects go to the model; rules follow once all kinds are listed. */
static void on_watch_update(struct k8s_object *obj, void *arg)
{
	struct proxy *p = arg;
	unsigned long node_changes = model_node_changes(p->model);
	struct errbuf err;

	if (model_object_update(p->model, obj, &err) < 0)
		log_error("%s", err.msg);
	/* The Node's heartbeats change nothing kproxy uses: sync only on real changes. */
	if (p->synced &&
	    (model_dirty_count(p->model) || model_node_changes(p->model) != node_changes))
		sync_request(p->sync);
}

static void on_watch_remove(const struct k8s_object *obj, void *arg)
{
	struct proxy *p = arg;

	model_object_delete(p->model, obj);
	if (p->synced)
		sync_request(p->sync);
}

/*
 * No rules are written before every kind has been listed: a sync of a
 * half-known cluster would remove the rules of Services not yet seen.
 */
static void on_watch_synced(void *arg)
{
	struct proxy *p = arg;

	p->synced = true;
	log_info("api: every kind listed: %zu services", model_service_count(p->model));
	sync_request(p->sync);
}

static void on_watch_error(const char *msg, void *arg)
{
	(void)arg;
	log_error("api: %s", msg);
}

struct changed_set {
	char *const *keys;
	size_t n;
};

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool service_changed(const struct model_service *svc, void *arg)
{
	const struct changed_set *c = arg;
	const char *key = svc->key;

	return bsearch(&key, c->keys, c->n, sizeof(*c->keys), key_cmp) != NULL;
}

/*
 * UDP has no connection to close: a client keeps sending to the endpoint its
 * conntrack entry names, even after that endpoint is gone. Once the new rules
 * are in, entries of changed Services that point elsewhere than a serving
 * endpoint are deleted. Not after kproxy's own first sync: a restart must not
 * break live flows.
 */
static void clean_conntrack(struct proxy *p, char *const *changed, size_t n_changed)
{
	struct changed_set set = { changed, n_changed };
	struct conntrack_target *targets;
	struct errbuf err;
	size_t n, deleted = 0;

	targets = conntrack_targets_build(p->model, K8S_FAMILY_IPV4, &p->cfg->gates,
					  service_changed, &set, &n);
	if (conntrack_cleanup(targets, n, K8S_FAMILY_IPV4, &deleted, &err) < 0)
		log_error("%s", err.msg);
	if (deleted)
		log_info("conntrack: deleted %zu stale UDP entries", deleted);
	sync_metrics(p->sync)->conntrack_deleted_total += deleted;
	conntrack_targets_free(targets, n);
}

static void on_applied(const struct rules_stats *stats, bool full, bool first, char *const *changed,
		       size_t n_changed, void *arg)
{
	struct proxy *p = arg;

	(void)stats;
	(void)full;
	admin_applied(p->admin);
	if (hcports_commit(p->hcports) > 0)
		loop_timer_arm(p->hc_retry_timer, p->cfg->sync_period_ms);
	if (!first && n_changed &&
	    featuregate_enabled(&p->cfg->gates, FEATUREGATE_UDP_CONNTRACK_CLEANUP))
		clean_conntrack(p, changed, n_changed);
}

/*
 * Re-reads the state file into the model: objects that changed are updated,
 * objects no longer in the file are removed, and unchanged ones stay as they
 * are, so the next sync rewrites only what changed. A file that does not parse
 * keeps the last good state.
 */
static void reload_state(void *arg)
{
	struct proxy *p = arg;
	struct errbuf err;
	size_t removed;

	model_reconcile_begin(p->model);
	if (load_state_file(p->cfg->from_file, p->model, &err)) {
		log_error("keeping the last good state: %s", err.msg);
		return;
	}
	removed = model_reconcile_end(p->model);
	log_info("reloaded %s: %zu services, %zu changed, %zu objects removed", p->cfg->from_file,
		 model_service_count(p->model), model_dirty_count(p->model), removed);
	if (model_dirty_count(p->model) || removed)
		sync_request(p->sync);
}

static void on_inotify(int fd, uint32_t events, void *arg)
{
	struct proxy *p = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	bool changed = false;
	ssize_t n;

	(void)events;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *q = buf; q < buf + n; q += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)q;
			if (ev->len && strcmp(ev->name, p->state_base) == 0)
				changed = true;
		}
	}
	/* Editors write in several steps; read the file once they are done. */
	if (changed)
		loop_timer_arm(p->reload_timer, 20);
}

static int watch_state_file(struct proxy *p)
{
	char *a = xstrdup(p->cfg->from_file), *b = xstrdup(p->cfg->from_file);
	int ret;

	p->state_dir = xstrdup(dirname(a));
	p->state_base = xstrdup(basename(b));
	free(a);
	free(b);
	p->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (p->inotify_fd < 0)
		return -errno;
	/* Watch the directory, so that a rename over the file is seen too. */
	if (inotify_add_watch(p->inotify_fd, p->state_dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0)
		return -errno;
	ret = loop_fd_add(p->loop, p->inotify_fd, EPOLLIN, on_inotify, p);
	if (ret < 0)
		return ret;
	p->reload_timer = loop_timer_new(p->loop, reload_state, p);
	return p->reload_timer ? 0 : -errno;
}

static void on_stop_signal(int signo, void *arg)
{
	struct proxy *p = arg;

	log_info("signal %d: exiting, rules stay in place", signo);
	loop_stop(p->loop);
}

/*
 * Daemon mode: apply the state, keep it applied and follow the file. Exiting
 * never removes rules: a restarted kproxy finds them in place and its first
 * sync replaces them atomically.
 */
static int run_daemon(const struct config *cfg)
{
	static const struct sync_hooks hooks = { .built = on_built, .applied = on_applied };
	struct proxy p = { 0 };
	struct rules_config rc;
	struct errbuf err;
	int status = EXIT_FAILURE, ret;
	size_t nofile = 0;

	p.cfg = cfg;
	p.inotify_fd = -1;
	/* Health-check listeners take three descriptors each; see fdlimit.h. */
	if (fdlimit_raise(&nofile, &err) < 0)
		log_warn("%s", err.msg);
	log_info("open file limit: %zu descriptors, %zu kept for syncing rules", nofile,
		 fdlimit_reserve(nofile));
	p.model = model_new(cfg->hostname);
	if (cfg->from_file && load_state_file(cfg->from_file, p.model, &err)) {
		fprintf(stderr, "kproxy: %s\n", err.msg);
		model_free(p.model);
		return EXIT_BAD_INPUT;
	}
	pick_backend(cfg, &p.backend);
	rules_config_from(&rc, cfg, p.model);
	if (rules_localhost_nodeports(&rc) && (ret = enable_route_localnet()) < 0)
		log_error("cannot enable route_localnet: %s", strerror(-ret));
	p.loop = loop_new();
	if (!p.loop) {
		log_error("cannot create the event loop: %s", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if (loop_signal_add(p.loop, SIGTERM, on_stop_signal, &p) < 0 ||
	    loop_signal_add(p.loop, SIGINT, on_stop_signal, &p) < 0) {
		log_error("cannot handle signals: %s", strerror(errno));
		goto out;
	}
	if (cfg->from_file && (ret = watch_state_file(&p)) < 0) {
		log_error("cannot watch %s: %s", cfg->from_file, strerror(-ret));
		goto out;
	}
	p.sync = sync_new(p.loop, cfg, p.backend, p.model, &hooks, &p);
	if (!p.sync) {
		log_error("cannot start the sync engine: %s", strerror(errno));
		goto out;
	}
	p.admin = admin_new(p.loop, cfg, p.sync, &p.model, &err);
	if (!p.admin) {
		log_error("%s", err.msg);
		goto out;
	}
	p.hcports = hcports_new(p.loop, &cfg->gates, proxy_healthy, health_check_port_failed, &p);
	p.hc_retry_timer = loop_timer_new(p.loop, retry_health_check_ports, &p);
	if (!p.hc_retry_timer) {
		log_error("cannot create a timer: %s", strerror(errno));
		goto out;
	}
	if (cfg->from_file) {
		log_info("kproxy %s on node %s: %zu services from %s", KPROXY_VERSION,
			 cfg->hostname, model_service_count(p.model), cfg->from_file);
		p.synced = true;
		sync_request(p.sync);
	} else {
		static const struct apiwatch_ops ops = {
			.update = on_watch_update,
			.remove = on_watch_remove,
			.synced = on_watch_synced,
			.error = on_watch_error,
		};
		struct apiwatch_config wc = { 0 };

		wc.master = cfg->master;
		wc.kubeconfig = cfg->kubeconfig;
		wc.node_name = cfg->hostname;
		p.watch = apiwatch_new(p.loop, &wc, &ops, &p, &err);
		if (!p.watch) {
			log_error("%s", err.msg);
			status = EXIT_BAD_INPUT;
			goto out;
		}
		log_info("kproxy %s on node %s: watching %s", KPROXY_VERSION, cfg->hostname,
			 cfg->master	   ? cfg->master
			 : cfg->kubeconfig ? cfg->kubeconfig
					   : "in-cluster");
		apiwatch_start(p.watch);
	}
	if ((ret = loop_run(p.loop)) < 0)
		log_error("event loop: %s", strerror(-ret));
	else
		status = EXIT_SUCCESS;
out:
	apiwatch_free(p.watch);
	hcports_free(p.hcports);
	loop_timer_free(p.hc_retry_timer);
	admin_free(p.admin);
	sync_free(p.sync);
	loop_timer_free(p.reload_timer);
	if (p.inotify_fd >= 0)
		close(p.inotify_fd);
	loop_free(p.loop);
	model_free(p.model);
	free(p.state_dir);
	free(p.state_base);
	return status;
}

/* Removes kproxy's chains and jumps from one backend. */
static int cleanup_backend(enum restore_backend b)
{
	const char *argv[8];
	struct strbuf err = STRBUF_INIT, payload = STRBUF_INIT;
	struct rules_existing ex;
	struct errbuf e;
	int ret = 0;

	/*
	 * Both backends are read from iptables-save text (nat and filter): each
	 * jump is deleted by the text the kernel shows for it, which libiptc
	 * cannot give.
	 */
	if (chains_read_save(b, 300000, &ex, &e) < 0) {
		log_error("cleanup: %s", e.msg);
		return -EIO;
	}
	rules_build_cleanup(&ex, &payload);
	if (payload.len == 0)
		goto out;
	restore_argv(b, true, argv);
	if (restore_run_sync(argv, strbuf_str(&payload), payload.len, 300000, NULL, &err) != 0) {
		log_error("cleanup: %s failed: %s", argv[0], strbuf_str(&err));
		ret = -EIO;
		goto out;
	}
	log_info("cleanup: removed %zu filter and %zu nat chains and %zu jumps from the %s backend",
		 ex.n_chains[RULES_TABLE_FILTER], ex.n_chains[RULES_TABLE_NAT],
		 ex.n_jump_rules[RULES_TABLE_FILTER] + ex.n_jump_rules[RULES_TABLE_NAT],
		 b == RESTORE_BACKEND_NFT ? "nft" : "legacy");
out:
	rules_existing_fini(&ex);
	strbuf_fini(&err);
	strbuf_fini(&payload);
	return ret;
}

/* --cleanup: remove every KPROXY- chain and every jump to them, nothing else. */
static int run_cleanup(const struct config *cfg)
{
	int ret = 0;

	/* With auto, clean both: a backend switch may have left rules in the other. */
	if (cfg->backend != CONFIG_BACKEND_LEGACY)
		ret |= cleanup_backend(RESTORE_BACKEND_NFT);
	if (cfg->backend != CONFIG_BACKEND_NFT)
		ret |= cleanup_backend(RESTORE_BACKEND_LEGACY);
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct errbuf err;
	int status = EXIT_SUCCESS;

	config_init(&cfg);
	if (config_parse_argv(&cfg, argc, argv, &err)) {
		fprintf(stderr, "kproxy: %s\n", err.msg);
		fprintf(stderr, "Run 'kproxy --help' for the list of flags.\n");
		config_fini(&cfg);
		return EXIT_BAD_INPUT;
	}
	log_set_verbosity(cfg.verbosity);

	switch (cfg.mode) {
	case CONFIG_MODE_HELP:
		config_usage(stdout);
		break;
	case CONFIG_MODE_VERSION:
		printf("kproxy %s\n", KPROXY_VERSION);
		break;
	case CONFIG_MODE_DRY_RUN:
		status = run_dry(&cfg);
		break;
	case CONFIG_MODE_CLEANUP:
		status = run_cleanup(&cfg);
		break;
	case CONFIG_MODE_RUN:
		status = run_daemon(&cfg);
		break;
	}
	config_fini(&cfg);
	return status;
}
