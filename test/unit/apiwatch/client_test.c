// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for apiwatch/client against test/fakeapi.py, a fake API server run
 * as a child process on a free loopback port (no root, no network).
 *
 * Each test starts its own fake server, scripts it through its control
 * endpoint, runs kproxy's loop with a watcher and a recorder for what the
 * watcher reports, and waits (polling with a deadline, never a bare sleep)
 * until the recorder shows what the scenario must produce. Timings are
 * shortened through apiwatch_tuning so the whole file runs in well under a
 * minute.
 *
 * JSON in this file is written with ' for " so that it reads without
 * escapes; sq() turns it back. Set KPROXY_FAKEAPI to use another fakeapi.py.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "apiwatch/apiwatch.h"
#include "proxy/loop.h"
#include "proxy/strbuf.h"

extern char **environ;

#define FAKEAPI_DEFAULT "test/fakeapi.py"
#define MAX_OBJS	64
#define WAIT_MS		10000 /* deadline of every wait; a passing test waits far less */
#define POLL_MS		10

/* clang-format off */
#define SVC_PORT(ns, name, port) \
	"{'kind':'Service','apiVersion':'v1','metadata':{'namespace':'" ns "','name':'" name "'}," \
	"'spec':{'type':'ClusterIP','clusterIP':'198.19.0.10','ports':[{'name':'http','port':" \
	port ",'protocol':'TCP'}]}}"
#define SVC(ns, name) SVC_PORT(ns, name, "80")
#define SVC_HEADLESS(ns, name) \
	"{'kind':'Service','apiVersion':'v1','metadata':{'namespace':'" ns "','name':'" name "'}," \
	"'spec':{'type':'ClusterIP','clusterIP':'None'}}"
#define SVC_OTHER_PROXY(ns, name) \
	"{'kind':'Service','apiVersion':'v1','metadata':{'namespace':'" ns "','name':'" name "'," \
	"'labels':{'service.kubernetes.io/service-proxy-name':'other'}}," \
	"'spec':{'type':'ClusterIP','clusterIP':'198.19.0.11'}}"
#define SLICE(ns, name, svc) \
	"{'kind':'EndpointSlice','apiVersion':'discovery.k8s.io/v1','metadata':{'namespace':'" ns \
	"','name':'" name "','labels':{'kubernetes.io/service-name':'" svc "'}}," \
	"'addressType':'IPv4','ports':[{'name':'http','port':8080,'protocol':'TCP'}]," \
	"'endpoints':[{'addresses':['198.18.0.5'],'nodeName':'node-a'}]}"
#define SLICE_HEADLESS(ns, name, svc) \
	"{'kind':'EndpointSlice','apiVersion':'discovery.k8s.io/v1','metadata':{'namespace':'" ns \
	"','name':'" name "','labels':{'kubernetes.io/service-name':'" svc "'," \
	"'service.kubernetes.io/headless':''}},'addressType':'IPv4','endpoints':[]}"
#define ENDPOINTS(ns, name) \
	"{'kind':'Endpoints','apiVersion':'v1','metadata':{'namespace':'" ns "','name':'" name "'}," \
	"'subsets':[{'addresses':[{'ip':'198.18.0.5'}],'ports':[{'name':'http','port':8080}]}]}"
#define NODE(name) \
	"{'kind':'Node','apiVersion':'v1','metadata':{'name':'" name "'}," \
	"'status':{'addresses':[{'type':'InternalIP','address':'192.0.2.1'}]}}"
#define PUT(obj) "{'op':'put','object':" obj "}"
#define DEL(kind, ns, name) "{'op':'delete','kind':'" kind "','namespace':'" ns "','name':'" name "'}"
#define DEL_NODE(name) "{'op':'delete','kind':'Node','name':'" name "'}"
/* A cluster with one service, its slice and this node. */
#define BASIC PUT(SVC("default", "web")) "," PUT(SLICE("default", "web-1", "web")) "," \
	PUT(NODE("node-a"))
/* Objects the selectors keep out: another proxy's Service, a headless slice, another node. */
#define SCENE_SELECTORS BASIC "," PUT(SVC_OTHER_PROXY("default", "other")) "," \
	PUT(SVC_HEADLESS("default", "hl")) "," PUT(SLICE_HEADLESS("default", "hl-1", "hl")) "," \
	PUT(NODE("node-b"))
/* Seven objects, for pages of two. */
#define SCENE_PAGES BASIC "," PUT(SVC("default", "a")) "," PUT(SVC("default", "b")) "," \
	PUT(SVC("default", "c")) "," PUT(SVC("default", "d"))
/* A cluster without EndpointSlices. */
#define SCENE_CORE PUT(SVC("default", "web")) "," PUT(ENDPOINTS("default", "web")) "," \
	PUT(NODE("node-a"))
/* The server forgets its history while objects change. */
#define WHILE_AWAY "{'op':'restart'}," DEL("Service", "default", "b") "," \
	PUT(SVC_PORT("default", "a", "90")) "," PUT(SVC("default", "new")) "," \
	DEL("EndpointSlice", "default", "web-1")
/* clang-format on */

/* What the watcher reported: the objects it holds now and a log of calls. */
struct recorder {
	struct {
		char key[300];
		char summary[300];
	} objs[MAX_OBJS];
	size_t n;
	struct strbuf log;    /* "+service default/web\n", "-service default/web\n" */
	struct strbuf errors; /* one per line */
	int synced;
};

struct harness {
	pid_t pid;
	int port;
	char url[64];
	char dir[64]; /* temporary files of the test */
	struct loop *loop;
	struct loop_timer *poll;
	struct apiwatch *w;
	struct recorder rec;
	struct apiwatch_config cfg;
	char kubeconfig[128];
	int min_watches; /* the next injection waits for this many services watches */
	bool (*pred)(struct harness *h, const void *arg);
	const void *pred_arg;
	uint64_t deadline;
	bool met;
};

/* ---- helpers ---- */

/* Returns a copy of s with every ' turned into "; the caller frees it. */
static char *sq(const char *s)
{
	char *out = strdup(s), *p;

	assert_non_null(out);
	for (p = out; *p; p++)
		if (*p == '\'')
			*p = '"';
	return out;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void summarize(const struct k8s_object *obj, char *key, char *summary, size_t size)
{
	switch (obj->kind) {
	case K8S_KIND_SERVICE:
		snprintf(key, size, "service %s/%s", obj->u.service->namespace,
			 obj->u.service->name);
		snprintf(summary, size, "%s port=%u%s", key,
			 obj->u.service->n_ports ? obj->u.service->ports[0].port : 0,
			 obj->u.service->headless ? " headless" : "");
		break;
	case K8S_KIND_ENDPOINTSLICE:
		snprintf(key, size, "endpointslice %s/%s", obj->u.slice->namespace,
			 obj->u.slice->name);
		snprintf(summary, size, "%s svc=%s eps=%zu", key,
			 obj->u.slice->service_name ? obj->u.slice->service_name : "?",
			 obj->u.slice->n_endpoints);
		break;
	case K8S_KIND_ENDPOINTS:
		snprintf(key, size, "endpoints %s/%s", obj->u.endpoints->namespace,
			 obj->u.endpoints->name);
		snprintf(summary, size, "%s subsets=%zu", key,
			 obj->u.endpoints ? obj->u.endpoints->n_subsets : 0);
		break;
	case K8S_KIND_NODE:
		snprintf(key, size, "node %s", obj->u.node->name);
		snprintf(summary, size, "%s addrs=%zu", key, obj->u.node->n_addrs);
		break;
	}
}

static int rec_find(const struct recorder *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->objs[i].key, key) == 0)
			return (int)i;
	return -1;
}

static void on_update(struct k8s_object *obj, void *arg)
{
	struct harness *h = arg;
	struct recorder *r = &h->rec;
	char key[300], summary[300];
	int i;

	summarize(obj, key, summary, sizeof(key));
	i = rec_find(r, key);
	if (i < 0) {
		assert_true(r->n < MAX_OBJS);
		i = (int)r->n++;
	}
	snprintf(r->objs[i].key, sizeof(r->objs[i].key), "%s", key);
	snprintf(r->objs[i].summary, sizeof(r->objs[i].summary), "%s", summary);
	strbuf_addf(&r->log, "+%s\n", key);
	k8s_object_fini(obj);
}

static void on_remove(const struct k8s_object *obj, void *arg)
{
	struct harness *h = arg;
	struct recorder *r = &h->rec;
	char key[300], summary[300];
	int i;

	summarize(obj, key, summary, sizeof(key));
	strbuf_addf(&r->log, "-%s\n", key);
	i = rec_find(r, key);
	if (i < 0)
		return;
	r->objs[i] = r->objs[--r->n];
}

static void on_synced(void *arg)
{
	struct harness *h = arg;

	h->rec.synced++;
}

static void on_error(const char *msg, void *arg)
{
	struct harness *h = arg;

	strbuf_addf(&h->rec.errors, "%s\n", msg);
}

static const struct apiwatch_ops ops = {
	.update = on_update,
	.remove = on_remove,
	.synced = on_synced,
	.error = on_error,
};

/* ---- the fake API server ---- */

static const char *fakeapi_path(void)
{
	const char *p = getenv("KPROXY_FAKEAPI");

	return p && p[0] ? p : FAKEAPI_DEFAULT;
}

/* Starts fakeapi.py with extra arguments (NULL-terminated) and reads its port. */
static void fake_start(struct harness *h, ...)
{
	char *argv[16];
	posix_spawn_file_actions_t fa;
	int pipefd[2], n = 0;
	char line[64];
	va_list ap;
	FILE *f;

	if (access(fakeapi_path(), R_OK) < 0)
		fail_msg("%s not found: run from the repository root or set KPROXY_FAKEAPI",
			 fakeapi_path());
	argv[n++] = "python3";
	argv[n++] = (char *)fakeapi_path();
	va_start(ap, h);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(pipe(pipefd), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	posix_spawn_file_actions_addclose(&fa, pipefd[1]);
	assert_int_equal(posix_spawnp(&h->pid, "python3", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	assert_non_null(f);
	if (!fgets(line, sizeof(line), f) || sscanf(line, "PORT %d", &h->port) != 1)
		fail_msg("fakeapi.py did not start");
	fclose(f);
	snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%d", h->port);
}

static size_t collect_body(char *data, size_t size, size_t n, void *arg)
{
	strbuf_add(arg, data, size * n);
	return size * n;
}

/* A blocking request to the fake server's control side; returns the body. */
static char *fake_http(struct harness *h, const char *path, const char *post)
{
	struct strbuf body = STRBUF_INIT;
	char url[128];
	CURL *c = curl_easy_init();
	long status = 0;

	assert_non_null(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", h->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (status != 200)
		fail_msg("fakeapi %s: HTTP %ld: %s", path, status, strbuf_str(&body));
	return strbuf_detach(&body, NULL);
}

/* Sends control commands (JSON written with '). */
static void control(struct harness *h, const char *cmds)
{
	char *json = sq(cmds);

	free(fake_http(h, "/_control", json));
	free(json);
}

static cJSON *fake_state(struct harness *h)
{
	char *text = fake_http(h, "/_state", NULL);
	cJSON *root = cJSON_Parse(text);

	free(text);
	assert_non_null(root);
	return root;
}

/*
 * Counts the API requests to path; with key, only those whose query has key
 * (equal to value unless value is NULL).
 */
static int count_requests(struct harness *h, const char *path, const char *key, const char *value)
{
	cJSON *root = fake_state(h), *req;
	int n = 0;

	cJSON_ArrayForEach(req, cJSON_GetObjectItem(root, "requests"))
	{
		const cJSON *q = cJSON_GetObjectItem(req, "query");
		const cJSON *v = key ? cJSON_GetObjectItem(q, key) : NULL;

		if (strcmp(cJSON_GetObjectItem(req, "path")->valuestring, path) != 0)
			continue;
		if (key && (!v || (value && strcmp(v->valuestring, value) != 0)))
			continue;
		n++;
	}
	cJSON_Delete(root);
	return n;
}

/* The number of API requests the fake server has seen. */
static int request_total(struct harness *h)
{
	cJSON *root = fake_state(h);
	int n = cJSON_GetArraySize(cJSON_GetObjectItem(root, "requests"));

	cJSON_Delete(root);
	return n;
}

/* The query value key of the last request to path that has it (copied into buf). */
static const char *last_query(struct harness *h, const char *path, const char *key, char *buf,
			      size_t size)
{
	cJSON *root = fake_state(h), *req;

	buf[0] = '\0';
	cJSON_ArrayForEach(req, cJSON_GetObjectItem(root, "requests"))
	{
		const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(req, "query"), key);

		if (strcmp(cJSON_GetObjectItem(req, "path")->valuestring, path) == 0 && v)
			snprintf(buf, size, "%s", v->valuestring);
	}
	cJSON_Delete(root);
	return buf;
}

static int current_rv(struct harness *h)
{
	cJSON *root = fake_state(h);
	int rv = cJSON_GetObjectItem(root, "rv")->valueint;

	cJSON_Delete(root);
	return rv;
}

/* ---- running the loop ---- */

static void poll_fired(void *arg)
{
	struct harness *h = arg;

	if (h->pred(h, h->pred_arg)) {
		h->met = true;
		loop_stop(h->loop);
		return;
	}
	if (loop_now_ms() >= h->deadline) {
		loop_stop(h->loop);
		return;
	}
	loop_timer_arm(h->poll, POLL_MS);
}

/* Runs the loop until pred holds or ms pass; returns whether it held. */
static bool run_until(struct harness *h, bool (*pred)(struct harness *, const void *),
		      const void *arg, uint64_t ms)
{
	h->pred = pred;
	h->pred_arg = arg;
	h->met = false;
	h->deadline = loop_now_ms() + ms;
	loop_timer_arm(h->poll, 0);
	assert_int_equal(loop_run(h->loop), 0);
	loop_timer_disarm(h->poll);
	return h->met;
}

static bool never(struct harness *h, const void *arg)
{
	(void)h;
	(void)arg;
	return false;
}

/* Runs the loop for ms, whatever happens. */
static void run_for(struct harness *h, uint64_t ms)
{
	run_until(h, never, NULL, ms);
}

static bool is_synced(struct harness *h, const void *arg)
{
	(void)arg;
	return h->rec.synced > 0;
}

static bool has_summary(struct harness *h, const void *arg)
{
	size_t i;

	for (i = 0; i < h->rec.n; i++)
		if (strcmp(h->rec.objs[i].summary, arg) == 0)
			return true;
	return false;
}

static bool lacks_key(struct harness *h, const void *arg)
{
	return rec_find(&h->rec, arg) < 0;
}

static bool has_error(struct harness *h, const void *arg)
{
	return strstr(strbuf_str(&h->rec.errors), arg) != NULL;
}

static bool in_log(struct harness *h, const void *arg)
{
	return strstr(strbuf_str(&h->rec.log), arg) != NULL;
}

static int occurrences(const char *text, const char *what)
{
	int n = 0;

	while ((text = strstr(text, what)) != NULL) {
		n++;
		text += strlen(what);
	}
	return n;
}

/* Calls of ops->remove so far. */
static int removals(struct harness *h)
{
	const char *log = strbuf_str(&h->rec.log);

	return (log[0] == '-') + occurrences(log, "\n-");
}

#define WAIT(h, pred, arg)                                                                         \
	do {                                                                                       \
		if (!run_until((h), (pred), (arg), WAIT_MS))                                       \
			fail_msg("timed out waiting for %s(%s); errors:\n%s", #pred,               \
				 (const char *)(arg) ? (const char *)(arg) : "",                   \
				 strbuf_str(&(h)->rec.errors));                                    \
	} while (0)

#define WAIT_SYNCED(h) WAIT((h), is_synced, NULL)

struct log_count {
	const char *what;
	int n;
};

static bool log_has_n(struct harness *h, const void *arg)
{
	const struct log_count *c = arg;

	return occurrences(strbuf_str(&h->rec.log), c->what) >= c->n;
}

/* Waits until what appears n times in the log. */
static void wait_log(struct harness *h, const char *what, int n)
{
	struct log_count c = { what, n };

	if (!run_until(h, log_has_n, &c, WAIT_MS))
		fail_msg("timed out waiting for %d x %s; log:\n%s\nerrors:\n%s", n, what,
			 strbuf_str(&h->rec.log), strbuf_str(&h->rec.errors));
}

/*
 * Whether the services watch the client has open now is registered with the
 * fake server: the latest of at least h->min_watches watch requests has a
 * stream. Injections go to registered streams, so they wait for this.
 */
static bool live_stream(struct harness *h, const void *arg)
{
	cJSON *root = fake_state(h), *req, *st;
	int i = 0, latest = -1, n = 0;
	bool live = false;

	(void)arg;
	cJSON_ArrayForEach(req, cJSON_GetObjectItem(root, "requests"))
	{
		if (strcmp(cJSON_GetObjectItem(req, "path")->valuestring, "/api/v1/services") ==
			    0 &&
		    cJSON_GetObjectItem(cJSON_GetObjectItem(req, "query"), "watch")) {
			latest = i;
			n++;
		}
		i++;
	}
	cJSON_ArrayForEach(st, cJSON_GetObjectItem(root, "streams"))
	{
		if (cJSON_GetObjectItem(st, "request")->valueint == latest)
			live = true;
	}
	cJSON_Delete(root);
	return live && n >= h->min_watches;
}

/*
 * Whether services, endpointslices and nodes each have an open watch opened
 * by request number *(const int *)arg or later.
 */
static bool watching_all(struct harness *h, const void *arg)
{
	static const char *const resources[] = { "services", "endpointslices", "nodes" };
	cJSON *root = fake_state(h), *st;
	int mark = *(const int *)arg, found = 0;
	size_t i;

	for (i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
		cJSON_ArrayForEach(st, cJSON_GetObjectItem(root, "streams"))
		{
			const char *res = cJSON_GetObjectItem(st, "resource")->valuestring;

			if (strcmp(res, resources[i]) == 0 &&
			    cJSON_GetObjectItem(st, "request")->valueint >= mark) {
				found++;
				break;
			}
		}
	}
	cJSON_Delete(root);
	return found == (int)(sizeof(resources) / sizeof(resources[0]));
}

/*
 * Sends control commands that act on the open services watch. When they end
 * that watch (kills), the next injection waits for the watch after it.
 */
static void inject(struct harness *h, const char *cmds, bool kills)
{
	if (h->min_watches < 1)
		h->min_watches = 1;
	WAIT(h, live_stream, NULL);
	if (kills)
		h->min_watches = count_requests(h, "/api/v1/services", "watch", NULL) + 1;
	control(h, cmds);
}

/* ---- set-up ---- */

static int setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));

	if (!h)
		return -1;
	strbuf_init(&h->rec.log);
	strbuf_init(&h->rec.errors);
	snprintf(h->dir, sizeof(h->dir), "/tmp/kproxy-client-XXXXXX");
	if (!mkdtemp(h->dir))
		return -1;
	h->loop = loop_new();
	h->poll = loop_timer_new(h->loop, poll_fired, h);
	h->pid = -1;
	h->cfg.node_name = "node-a";
	h->cfg.tuning.backoff_initial_ms = 50;
	h->cfg.tuning.backoff_max_ms = 200;
	h->cfg.tuning.watch_timeout_s = 30;
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct harness *h = *state;
	char cmd[128];
	int r;

	if (getenv("KPROXY_TEST_VERBOSE"))
		print_message("log:\n%serrors:\n%s", strbuf_str(&h->rec.log),
			      strbuf_str(&h->rec.errors));
	apiwatch_free(h->w);
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		waitpid(h->pid, NULL, 0);
	}
	loop_timer_free(h->poll);
	loop_free(h->loop);
	strbuf_fini(&h->rec.log);
	strbuf_fini(&h->rec.errors);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	r = system(cmd);
	free(h);
	return r == 0 ? 0 : -1;
}

/* Creates and starts the watcher with h->cfg (master: the fake server unless set). */
static void watch_start(struct harness *h)
{
	struct errbuf err = { { 0 } };

	if (!h->cfg.master && !h->cfg.kubeconfig)
		h->cfg.master = h->url;
	h->rec.synced = 0;
	h->w = apiwatch_new(h->loop, &h->cfg, &ops, h, &err);
	if (!h->w)
		fail_msg("apiwatch_new: %s", err.msg);
	assert_int_equal(apiwatch_start(h->w), 0);
	assert_int_equal(apiwatch_start(h->w), -EALREADY);
}

/* ---- tests ---- */

/*
 * The first list delivers what the selectors let through, then the watch
 * delivers creates, updates and deletes; requests carry the headers and
 * query parameters of the contract.
 */
static void test_list_then_watch(void **state)
{
	struct harness *h = *state;
	char buf[64];

	fake_start(h, NULL);
	control(h, "[" SCENE_SELECTORS "]");
	watch_start(h);
	WAIT_SYNCED(h);
	assert_true(apiwatch_synced(h->w));
	assert_true(apiwatch_last_contact_ms(h->w) > 0);
	assert_true(has_summary(h, "service default/web port=80"));
	assert_true(has_summary(h, "service default/hl port=0 headless"));
	assert_true(has_summary(h, "endpointslice default/web-1 svc=web eps=1"));
	assert_true(has_summary(h, "node node-a addrs=1"));
	assert_int_equal(h->rec.n, 4); /* not: other (label), hl-1 (label), node-b (field) */

	control(h, PUT(SVC_PORT("default", "web", "81")));
	WAIT(h, has_summary, "service default/web port=81");
	control(h, PUT(SVC("shop", "cart")));
	WAIT(h, has_summary, "service shop/cart port=80");
	control(h, DEL("Service", "default", "web"));
	WAIT(h, lacks_key, "service default/web");
	control(h, DEL("EndpointSlice", "default", "web-1"));
	WAIT(h, lacks_key, "endpointslice default/web-1");
	control(h, DEL_NODE("node-a"));
	WAIT(h, lacks_key, "node node-a");
	control(h, PUT(NODE("node-a")));
	WAIT(h, has_summary, "node node-a addrs=1");
	assert_int_equal(h->rec.synced, 1);
	assert_string_equal(strbuf_str(&h->rec.errors), "");

	/* The contract's query parameters and headers. */
	assert_int_equal(count_requests(h, "/apis/discovery.k8s.io/v1", NULL, NULL), 1);
	assert_int_equal(count_requests(h, "/api/v1/services", "labelSelector",
					"!service.kubernetes.io/service-proxy-name"),
			 count_requests(h, "/api/v1/services", NULL, NULL));
	assert_int_equal(count_requests(h, "/apis/discovery.k8s.io/v1/endpointslices",
					"labelSelector", "!service.kubernetes.io/headless"),
			 count_requests(h, "/apis/discovery.k8s.io/v1/endpointslices", NULL, NULL));
	assert_int_equal(
		count_requests(h, "/api/v1/nodes", "fieldSelector", "metadata.name=node-a"),
		count_requests(h, "/api/v1/nodes", NULL, NULL));
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", "500"), 1);
	assert_int_equal(count_requests(h, "/api/v1/services", "resourceVersion", NULL), 1);
	assert_int_equal(count_requests(h, "/api/v1/services", "allowWatchBookmarks", "true"), 1);
	assert_int_equal(count_requests(h, "/api/v1/services", "timeoutSeconds", "30"), 1);
	assert_int_equal(count_requests(h, "/api/v1/services", "watch", "1"), 1);
	assert_string_equal(last_query(h, "/api/v1/services", "resourceVersion", buf, sizeof(buf)),
			    "8");

	{
		cJSON *root = fake_state(h), *req;

		cJSON_ArrayForEach(req, cJSON_GetObjectItem(root, "requests"))
		{
			assert_string_equal(cJSON_GetObjectItem(req, "user_agent")->valuestring,
					    "kproxy/" KPROXY_VERSION);
			assert_string_equal(cJSON_GetObjectItem(req, "accept")->valuestring,
					    "application/json");
			assert_true(cJSON_IsNull(cJSON_GetObjectItem(req, "auth")));
		}
		cJSON_Delete(root);
	}
}

/* The default watch timeout is random in [300, 600] seconds. */
static void test_default_watch_timeout(void **state)
{
	struct harness *h = *state;
	char buf[32];
	long t;

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	h->cfg.tuning.watch_timeout_s = 0;
	watch_start(h);
	WAIT_SYNCED(h);
	run_for(h, 100);
	t = strtol(last_query(h, "/api/v1/services", "timeoutSeconds", buf, sizeof(buf)), NULL, 10);
	assert_true(t >= 300 && t <= 600);
}

/*
 * Pages of two items; the continue token expires on the second page, so the
 * list starts over from page 1 and completes. Nothing is reported removed.
 */
static void test_paging_expired_continue(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" SCENE_PAGES ",{'op':'expire_continue','count':1}]");
	h->cfg.tuning.page_limit = 2;
	watch_start(h);
	WAIT_SYNCED(h);
	assert_int_equal(h->rec.n, 7);
	assert_int_equal(removals(h), 0);
	/* page 1, page 2 (410), page 1, page 2, page 3, then the watch */
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", "2"), 5);
	assert_int_equal(count_requests(h, "/api/v1/services", "continue", NULL), 3);
	/* A continued page never carries a resourceVersion. */
	assert_int_equal(count_requests(h, "/api/v1/services", "resourceVersion", NULL),
			 count_requests(h, "/api/v1/services", "watch", NULL));
	assert_int_equal(h->rec.synced, 1);
}

/* Lists of services (page 1 of each) the server has seen. */
static int services_first_pages(struct harness *h)
{
	return count_requests(h, "/api/v1/services", "limit", NULL) -
	       count_requests(h, "/api/v1/services", "continue", NULL);
}

/*
 * A server that expires every continue token: the first expiry starts the
 * list over at once, the second in a row goes through the backoff (reported),
 * and so does every one after it, so kproxy does not list in a tight loop.
 * Once the tokens last, the list completes; a later single expiry starts over
 * at once again (the count was reset by the complete list).
 */
static void test_paging_always_expired(void **state)
{
	struct harness *h = *state;
	int lists, reports;

	fake_start(h, NULL);
	control(h, "[" SCENE_PAGES ",{'op':'expire_continue','count':1000000}]");
	h->cfg.tuning.page_limit = 2;
	h->cfg.tuning.backoff_initial_ms = 600;
	h->cfg.tuning.backoff_max_ms = 600;
	watch_start(h);
	WAIT(h, has_error,
	     "list services: continue token expired 2 times in a row; listing from "
	     "the start after a backoff");
	run_for(h, 1500);
	/*
	 * Without the backoff this is hundreds of lists; with it, a delay of
	 * 300 ms on average after each expiry from the second on.
	 */
	lists = services_first_pages(h);
	if (lists < 3 || lists > 20)
		fail_msg("%d lists of services in 1.5 s", lists);
	assert_true(has_error(h, "continue token expired 3 times in a row"));
	assert_int_equal(h->rec.synced, 0);

	control(h, "{'op':'expire_continue','count':0}");
	WAIT_SYNCED(h);
	assert_int_equal(h->rec.n, 7);
	assert_int_equal(removals(h), 0);

	/* One expiry after a complete list: at once, no report. */
	reports = occurrences(strbuf_str(&h->rec.errors), "in a row");
	lists = services_first_pages(h);
	inject(h, "[{'op':'expire_continue','count':1},{'op':'error_410','resource':'services'}]",
	       true);
	control(h, PUT(SVC("default", "e")));
	WAIT(h, has_summary, "service default/e port=80");
	assert_int_equal(services_first_pages(h), lists + 2);
	assert_int_equal(occurrences(strbuf_str(&h->rec.errors), "in a row"), reports);
}

/*
 * The server forgets its history (a restart) while objects change: the watch
 * from the old resourceVersion gets a 410 ERROR event, the relist finds the
 * new state, and the object deleted meanwhile is reported removed.
 */
static void test_relist_reconciles(void **state)
{
	struct harness *h = *state;
	int lists;

	fake_start(h, NULL);
	control(h, "[" BASIC "," PUT(SVC("default", "a")) "," PUT(SVC("default", "b")) "]");
	watch_start(h);
	WAIT_SYNCED(h);
	lists = count_requests(h, "/api/v1/services", "limit", NULL);
	assert_int_equal(lists, 1);

	control(h, "[" WHILE_AWAY "]");
	WAIT(h, lacks_key, "service default/b");
	WAIT(h, has_summary, "service default/new port=80");
	WAIT(h, has_summary, "service default/a port=90");
	WAIT(h, lacks_key, "endpointslice default/web-1");
	assert_true(has_summary(h, "service default/web port=80"));
	assert_true(has_summary(h, "node node-a addrs=1"));
	assert_int_equal(occurrences(strbuf_str(&h->rec.log), "-service default/b\n"), 1);
	assert_int_equal(removals(h), 2);
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 2);
	assert_int_equal(h->rec.synced, 1);
	/* The lost connections are reported; the 410 is routine and is not. */
	assert_true(has_error(h, "watch services: connection lost: "));
	assert_false(has_error(h, "410"));

	/* Later changes arrive through the new watch. */
	control(h, DEL("Service", "default", "a"));
	WAIT(h, lacks_key, "service default/a");
}

/* The same when the stale watch is refused with HTTP 410 instead of an event. */
static void test_relist_http_410(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC "," PUT(SVC("default", "b")) ",{'op':'watch_410_http'}]");
	watch_start(h);
	WAIT_SYNCED(h);
	control(h, "[{'op':'restart'}," DEL("Service", "default", "b") "]");
	WAIT(h, lacks_key, "service default/b");
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 2);
	control(h, PUT(SVC("default", "c")));
	WAIT(h, has_summary, "service default/c port=80");
}

/* An ERROR 410 event on a live watch leads to a relist that changes nothing. */
static void test_error_event_relists(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	watch_start(h);
	WAIT_SYNCED(h);
	run_for(h, 1100); /* so that the watch does not count as a short one */
	inject(h, "{'op':'error_410','resource':'services'}", true);
	wait_log(h, "+service default/web\n", 2);
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 2);
	assert_int_equal(removals(h), 0);
	control(h, PUT(SVC("default", "after")));
	WAIT(h, has_summary, "service default/after port=80");
}

/*
 * Injects an ERROR event with code and message on the live services watch:
 * kproxy reports it (as report), nothing is removed, later changes arrive,
 * and the services were listed lists times in all (1: not again).
 */
static void error_event_case(void **state, int code, const char *message, const char *report,
			     int lists)
{
	struct harness *h = *state;
	char cmd[512];

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	watch_start(h);
	WAIT_SYNCED(h);
	snprintf(cmd, sizeof(cmd),
		 "{'op':'raw','resource':'services','data':'{\\'type\\':\\'ERROR\\',"
		 "\\'object\\':{\\'kind\\':\\'Status\\',\\'code\\':%d,"
		 "\\'message\\':\\'%s\\'}}\\n'}",
		 code, message);
	inject(h, cmd, true);
	WAIT(h, has_error, report);
	if (lists > 1)
		wait_log(h, "+service default/web\n", lists);
	assert_int_equal(removals(h), 0);
	control(h, PUT(SVC("default", "after")));
	WAIT(h, has_summary, "service default/after port=80");
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), lists);
}

/*
 * Any other ERROR event lists again too (after the backoff), as client-go
 * does: the resourceVersion may be one the server cannot serve.
 */
static void test_error_event_other_relists(void **state)
{
	error_event_case(state, 500, "etcdserver: request timed out",
			 "watch services: ERROR event: code 500: etcdserver: request timed out; "
			 "listing again",
			 2);
}

/* An ERROR 429 event (too many requests) watches again, without a list. */
static void test_error_event_429_rewatches(void **state)
{
	error_event_case(state, 429, "too many requests",
			 "watch services: ERROR event: code 429: too many requests", 1);
}

/*
 * A watch refused with an HTTP error other than 401 and 429 lists again;
 * one refused with 429 is retried from its resourceVersion
 * (test_retry_after).
 */
static void test_watch_refused_relists(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	watch_start(h);
	WAIT_SYNCED(h);
	inject(h,
	       "[{'op':'fail','status':500,'count':1,'match':'/api/v1/services'},"
	       "{'op':'close_streams','resource':'services'}]",
	       true);
	WAIT(h, has_error, "watch services: HTTP 500: injected failure 500");
	wait_log(h, "+service default/web\n", 2);
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 2);
	assert_int_equal(removals(h), 0);
	control(h, PUT(SVC("default", "after")));
	WAIT(h, has_summary, "service default/after port=80");
}

/*
 * A watch that ends at its timeout is watched again at once from the last
 * resourceVersion, without a list.
 */
static void test_rewatch_on_timeout(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	h->cfg.tuning.watch_timeout_s = 1;
	watch_start(h);
	WAIT_SYNCED(h);
	run_for(h, 2500);
	assert_true(count_requests(h, "/api/v1/services", "watch", NULL) >= 2);
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 1);
	control(h, PUT(SVC("default", "x")));
	WAIT(h, has_summary, "service default/x port=80");
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 1);
	assert_string_equal(strbuf_str(&h->rec.errors), "");
}

/*
 * A watch cut off mid-stream is resumed from the last resourceVersion; a
 * BOOKMARK moves that resourceVersion on.
 */
static void test_rewatch_and_bookmark(void **state)
{
	struct harness *h = *state;
	char buf[32], want[32];

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	watch_start(h);
	WAIT_SYNCED(h);
	inject(h, "{'op':'close_streams','resource':'services'}", true);
	control(h, PUT(SVC("default", "x")));
	WAIT(h, has_summary, "service default/x port=80");
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 1);
	assert_true(has_error(h, "watch services: "));

	/* Changes to other nodes move the RV past what the services watch has seen. */
	control(h, PUT(NODE("node-b")));
	control(h, PUT(NODE("node-c")));
	snprintf(want, sizeof(want), "%d", current_rv(h));
	inject(h,
	       "[{'op':'bookmark','resource':'services'},"
	       "{'op':'close_streams','resource':'services','clean':true}]",
	       true);
	WAIT(h, live_stream, NULL);
	assert_string_equal(last_query(h, "/api/v1/services", "resourceVersion", buf, sizeof(buf)),
			    want);
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 1);
}

/*
 * A bad object is reported with the decoder's message and skipped, in a list
 * and in a watch, without dropping the connection; broken JSON ends the
 * stream and the watch resumes from the last good resourceVersion.
 */
static void test_garbage(void **state)
{
	struct harness *h = *state;
	int watches;

	fake_start(h, NULL);
	control(h, "[" BASIC "," PUT(SVC_PORT("default", "bad", "70000")) "]");
	watch_start(h);
	WAIT_SYNCED(h);
	assert_true(has_error(h, "service default/bad: spec.ports[0].port: 70000 out of range"));
	assert_true(lacks_key(h, "service default/bad"));
	assert_true(has_summary(h, "service default/web port=80"));

	watches = count_requests(h, "/api/v1/services", "watch", NULL);
	control(h, PUT(SVC_PORT("default", "web", "70001")));
	WAIT(h, has_error, "service default/web: spec.ports[0].port: 70001 out of range");
	control(h, PUT(SVC("default", "good")));
	WAIT(h, has_summary, "service default/good port=80");
	assert_int_equal(count_requests(h, "/api/v1/services", "watch", NULL), watches);
	/* The owner keeps the last good version of an object that went bad. */
	assert_true(has_summary(h, "service default/web port=80"));

	/*
	 * A relist still counts the bad object as present: it is not removed.
	 * After the restart come the watch refused with 410, the list, and a
	 * new watch, which the injections below wait for.
	 */
	h->min_watches = count_requests(h, "/api/v1/services", "watch", NULL) + 2;
	control(h, "[{'op':'restart'}]");
	wait_log(h, "+service default/good\n", 2);
	assert_true(has_summary(h, "service default/web port=80"));
	assert_int_equal(removals(h), 0);

	inject(h, "{'op':'raw','resource':'services','data':'{\\'type\\':\\'ADDED\\',\\'obj\\n'}",
	       true);
	WAIT(h, has_error, "watch services: event 1 is not a JSON object (20 bytes); reconnecting");
	inject(h,
	       "{'op':'raw','resource':'services','data':'{\\'type\\':\\'WHAT\\',"
	       "\\'object\\':{}}\\n'}",
	       true);
	WAIT(h, has_error, "watch services: event 1 has unknown type \"WHAT\"; reconnecting");
	inject(h, "{'op':'raw','resource':'services','data':'[1,2]\\n'}", true);
	WAIT(h, has_error, "watch services: event 1 is not a JSON object (5 bytes); reconnecting");
	inject(h, "{'op':'raw','resource':'services','data':'{\\'type\\':\\'ADDED\\'}\\n'}", true);
	WAIT(h, has_error, "watch services: event 1 has no type or object; reconnecting");
	/* A truncated last event: the stream ends without its newline. */
	inject(h,
	       "[{'op':'raw','resource':'services','data':'{\\'type\\':\\'MODIF'},"
	       "{'op':'close_streams','resource':'services','clean':true}]",
	       true);
	WAIT(h, has_error, "watch services: event 1 is not a JSON object (14 bytes); reconnecting");
	/*
	 * A \u0000 in a name must not make it another object's name: cJSON
	 * would end "web\u0000evil" at the NUL, and it would replace web.
	 */
	inject(h,
	       "{'op':'raw','resource':'services','data':'{\\'type\\':\\'MODIFIED\\',"
	       "\\'object\\':{\\'apiVersion\\':\\'v1\\',\\'kind\\':\\'Service\\',"
	       "\\'metadata\\':{\\'namespace\\':\\'default\\',\\'name\\':"
	       "\\'web\\\\u0000evil\\',\\'resourceVersion\\':\\'999\\'},"
	       "\\'spec\\':{\\'clusterIP\\':\\'10.96.0.99\\',"
	       "\\'ports\\':[{\\'port\\':81}]}}}\\n'}",
	       true);
	WAIT(h, has_error, "metadata.name");
	assert_true(has_summary(h, "service default/web port=80"));
	control(h, DEL("Service", "default", "good"));
	WAIT(h, lacks_key, "service default/good");
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 2);
}

/* An event over the cap is an error and leads to a relist, not an allocation. */
static void test_huge_event(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	h->cfg.tuning.max_event = 65536;
	watch_start(h);
	WAIT_SYNCED(h);
	inject(h, "{'op':'huge','resource':'services','bytes':100000}", true);
	WAIT(h, has_error, "watch services: an event is larger than 65536 bytes");
	wait_log(h, "+service default/web\n", 2);
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 2);
	control(h, PUT(SVC("default", "after")));
	WAIT(h, has_summary, "service default/after port=80");
}

/* A list response over the cap is refused. */
static void test_list_too_large(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	h->cfg.tuning.max_body = 100;
	watch_start(h);
	WAIT(h, has_error, "list services: the response is larger than 100 bytes");
	assert_int_equal(h->rec.synced, 0);
}

/* 429 with Retry-After: the next attempt waits as long as the server asked. */
static void test_retry_after(void **state)
{
	struct harness *h = *state;
	uint64_t start;

	fake_start(h, NULL);
	control(h, "[" BASIC ",{'op':'fail','status':429,'count':1,'retry_after':1,"
		   "'match':'/api/v1/services'}]");
	start = loop_now_ms();
	watch_start(h);
	WAIT_SYNCED(h);
	assert_true(loop_now_ms() - start >= 950);
	assert_true(
		has_error(h, "list services: HTTP 429: injected failure 429; retrying after 1 s"));

	/* And on a watch (closed, then refused once): the watch is retried, no list. */
	inject(h,
	       "[{'op':'fail','status':429,'count':1,'retry_after':1,"
	       "'match':'/api/v1/services'},{'op':'close_streams','resource':'services'}]",
	       true);
	WAIT(h, has_error, "watch services: HTTP 429: injected failure 429; retrying after 1 s");
	control(h, PUT(SVC("default", "later")));
	WAIT(h, has_summary, "service default/later port=80");
	/* The list refused with 429 and the one that went through; no relist. */
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 2);
}

/* Server errors go through the backoff and are retried until they stop. */
static void test_server_errors(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC ",{'op':'fail','status':500,'count':3}]");
	watch_start(h);
	WAIT_SYNCED(h);
	assert_int_equal(occurrences(strbuf_str(&h->rec.errors), "HTTP 500: injected failure 500"),
			 3);
	assert_int_equal(h->rec.n, 3);
}

static void write_kubeconfig(struct harness *h, const char *cluster_extra, const char *user)
{
	char *text;

	snprintf(h->kubeconfig, sizeof(h->kubeconfig), "%s/kubeconfig", h->dir);
	text = NULL;
	assert_true(asprintf(&text,
			     "apiVersion: v1\nkind: Config\ncurrent-context: t\n"
			     "contexts:\n- name: t\n  context: {cluster: c, user: u}\n"
			     "clusters:\n- name: c\n  cluster:\n    server: %s\n%s"
			     "users:\n- name: u\n  user:\n%s",
			     h->url, cluster_extra, user) > 0);
	write_text(h->kubeconfig, text);
	free(text);
	h->cfg.kubeconfig = h->kubeconfig;
}

/*
 * A token file whose token the server refuses: 401 is reported and retried;
 * once the file holds the right token, the next 401 re-reads it and the
 * request is retried at once with it.
 */
static void test_token_rotation(void **state)
{
	struct harness *h = *state;
	char path[128];
	int unauthorized, mark;

	fake_start(h, NULL);
	control(h, "[" BASIC ",{'op':'require_token','token':'new'}]");
	snprintf(path, sizeof(path), "%s/token", h->dir);
	write_text(path, "old\n");
	write_kubeconfig(h, "", "    tokenFile: token\n");
	h->cfg.tuning.token_reread_ms = 3600000; /* only a 401 re-reads it here */
	watch_start(h);
	WAIT(h, has_error, "list services: HTTP 401: Unauthorized");
	run_for(h, 200);
	assert_int_equal(h->rec.synced, 0);
	write_text(path, "new\n");
	WAIT_SYNCED(h);
	assert_true(has_error(h, "HTTP 401: Unauthorized; retrying with the new token"));
	assert_true(count_requests(h, "/api/v1/services", NULL, NULL) > 1);

	/* The periodic re-read: rotate again; requests carry the new token. */
	apiwatch_free(h->w);
	h->w = NULL;
	h->cfg.tuning.token_reread_ms = 100;
	mark = request_total(h);
	watch_start(h);
	WAIT_SYNCED(h);
	/*
	 * The watch after the last list is sent only when the loop runs again:
	 * rotating before it is open would have it refused.
	 */
	if (!run_until(h, watching_all, &mark, WAIT_MS))
		fail_msg("not every kind is watched; errors:\n%s", strbuf_str(&h->rec.errors));
	unauthorized = occurrences(strbuf_str(&h->rec.errors), "HTTP 401");
	write_text(path, "newer\n");
	control(h, "{'op':'require_token','token':'newer'}");
	run_for(h, 300);
	inject(h, "{'op':'close_streams','resource':'services'}", true);
	control(h, PUT(SVC("default", "z")));
	WAIT(h, has_summary, "service default/z port=80");
	/* The new watch already had the new token: no 401 on the way. */
	assert_int_equal(occurrences(strbuf_str(&h->rec.errors), "HTTP 401"), unauthorized);
}

/* A fixed token from the kubeconfig is sent as a bearer token. */
static void test_static_token(void **state)
{
	struct harness *h = *state;
	cJSON *root, *req;

	fake_start(h, NULL);
	control(h, "[" BASIC ",{'op':'require_token','token':'s3cret'}]");
	write_kubeconfig(h, "", "    token: s3cret\n");
	watch_start(h);
	WAIT_SYNCED(h);
	root = fake_state(h);
	cJSON_ArrayForEach(req, cJSON_GetObjectItem(root, "requests"))
	{
		assert_string_equal(cJSON_GetObjectItem(req, "auth")->valuestring, "Bearer s3cret");
	}
	cJSON_Delete(root);
}

/* The N of the first "watch services: no data for N ms" reported, or 0. */
static unsigned long long silent_ms(struct harness *h)
{
	const char *what = "watch services: no data for ";
	const char *p = strstr(strbuf_str(&h->rec.errors), what);

	return p ? strtoull(p + strlen(what), NULL, 10) : 0;
}

/*
 * A stream that goes silent (a dead peer) is dropped and watched again,
 * without a list, once it has been silent for the smaller of its timeout
 * plus a grace and the idle limit. Here the limit (2 s) is the smaller: a
 * watch of 30 s is dropped after 2 s, not 30 + 60 s. (With kproxy's
 * defaults, 5-10 min watches, 60 s of grace and a limit of 180 s, this is
 * the case that always holds.)
 */
/*
 * Stalls the services watch (with h's tuning) and checks it was dropped
 * between lo and hi ms after its last byte, then resumed without a relist.
 */
static void stall_and_measure(struct harness *h, unsigned long long lo, unsigned long long hi)
{
	unsigned long long ms;

	watch_start(h);
	WAIT_SYNCED(h);
	inject(h, "{'op':'stall','resource':'services'}", true);
	control(h, PUT(SVC("default", "late")));
	WAIT(h, has_error, "watch services: no data for ");
	WAIT(h, has_summary, "service default/late port=80");
	ms = silent_ms(h);
	if (ms < lo || ms >= hi)
		fail_msg("the stalled watch was dropped after %llu ms, not %llu-%llu", ms, lo, hi);
	assert_int_equal(count_requests(h, "/api/v1/services", "limit", NULL), 1);
}

static void test_silent_stream_limit(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	h->cfg.tuning.watch_timeout_s = 30;
	h->cfg.tuning.idle_timeout_ms = 2000;
	stall_and_measure(h, 2000, 3000);
}

/*
 * ... and here the timeout plus the grace (2 s + 1 s) is smaller than the
 * limit (60 s): the watch is dropped 3 s after its last byte.
 */
static void test_silent_stream_past_timeout(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	h->cfg.tuning.watch_timeout_s = 2;
	h->cfg.tuning.idle_grace_ms = 1000;
	h->cfg.tuning.idle_timeout_ms = 60000;
	stall_and_measure(h, 3000, 4000);
	/* The other watches ended at their timeout and were never idle. */
	assert_int_equal(occurrences(strbuf_str(&h->rec.errors), "no data"), 1);
}

/* Without discovery.k8s.io/v1, endpoints come from core/v1 Endpoints. */
static void test_endpoints_fallback(void **state)
{
	struct harness *h = *state;

	fake_start(h, "--core-only", NULL);
	control(h, "[" SCENE_CORE "]");
	watch_start(h);
	WAIT_SYNCED(h);
	assert_true(has_summary(h, "endpoints default/web subsets=1"));
	assert_int_equal(count_requests(h, "/apis/discovery.k8s.io/v1/endpointslices", NULL, NULL),
			 0);
	assert_int_equal(count_requests(h, "/api/v1/endpoints", "labelSelector",
					"!service.kubernetes.io/headless,!service.kubernetes.io/"
					"service-proxy-name"),
			 count_requests(h, "/api/v1/endpoints", NULL, NULL));
	control(h, DEL("Endpoints", "default", "web"));
	WAIT(h, lacks_key, "endpoints default/web");
}

/* Discovery failing with a server error is retried; it is not taken as "no slices". */
static void test_discovery_retried(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC ",{'op':'fail','status':503,'count':2,'match':'/apis/discovery'}]");
	watch_start(h);
	WAIT_SYNCED(h);
	assert_true(
		has_error(h, "probe /apis/discovery.k8s.io/v1: HTTP 503: injected failure 503"));
	assert_true(has_summary(h, "endpointslice default/web-1 svc=web eps=1"));
	assert_int_equal(count_requests(h, "/apis/discovery.k8s.io/v1", NULL, NULL), 3);
}

/* A slice whose service-name label changes is removed from its old Service first. */
static void test_slice_moves(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	control(h, "[" BASIC "]");
	watch_start(h);
	WAIT_SYNCED(h);
	control(h, PUT(SLICE("default", "web-1", "api")));
	WAIT(h, has_summary, "endpointslice default/web-1 svc=api eps=1");
	assert_true(in_log(h, "-endpointslice default/web-1\n+endpointslice default/web-1\n"));
}

/* Runs the loop until the fake server holds n Events; returns its /_state. */
static cJSON *wait_events(struct harness *h, int n)
{
	cJSON *root;
	int i;

	for (i = 0; i < 250; i++) {
		run_for(h, 20);
		root = fake_state(h);
		if (cJSON_GetArraySize(cJSON_GetObjectItem(root, "events")) >= n)
			return root;
		cJSON_Delete(root);
	}
	fail_msg("the fake server did not get %d Events", n);
	return NULL;
}

static const char *json_at(const cJSON *obj, const char *key, const char *member)
{
	const cJSON *v = cJSON_GetObjectItem(member ? cJSON_GetObjectItem(obj, member) : obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * An Event about a Service goes to the Service's namespace and names it
 * (kind, namespace, name) as its involvedObject, as kube-proxy's
 * FailedToStartServiceHealthcheck does; one about the Node goes to
 * "default". The fake server refuses an Event whose namespaces disagree.
 */
static void test_event(void **state)
{
	struct harness *h = *state;
	const struct apiwatch_event svc_ev = {
		.about = K8S_KIND_SERVICE,
		.namespace = "shop",
		.name = "web",
		.reason = "FailedToStartServiceHealthcheck",
		.action = "Listen",
		.message = "node node-a failed to start the health check of shop/web: "
			   "cannot listen on 0.0.0.0:32000: Address already in use",
	};
	char long_message[3000];
	struct apiwatch_event node_ev = {
		.about = K8S_KIND_NODE,
		.reason = "Broken",
		.action = "Sync",
		.message = long_message,
	};
	const cJSON *ev, *src;
	cJSON *root;
	char stamp[32];

	fake_start(h, NULL);
	control(h, "[" BASIC ",{'op':'require_token','token':'t'}]");
	write_kubeconfig(h, "", "    token: t\n");
	watch_start(h);
	WAIT_SYNCED(h);
	apiwatch_event_post(h->w, &svc_ev);
	root = wait_events(h, 1);
	ev = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "events"), 0);
	assert_string_equal(json_at(ev, "apiVersion", NULL), "v1");
	assert_string_equal(json_at(ev, "kind", NULL), "Event");
	assert_string_equal(json_at(ev, "namespace", "metadata"), "shop");
	assert_string_equal(json_at(ev, "generateName", "metadata"), "kproxy-");
	assert_string_equal(json_at(ev, "apiVersion", "involvedObject"), "v1");
	assert_string_equal(json_at(ev, "kind", "involvedObject"), "Service");
	assert_string_equal(json_at(ev, "namespace", "involvedObject"), "shop");
	assert_string_equal(json_at(ev, "name", "involvedObject"), "web");
	assert_string_equal(json_at(ev, "uid", "involvedObject"), "shop/web");
	assert_string_equal(json_at(ev, "reason", NULL), "FailedToStartServiceHealthcheck");
	assert_string_equal(json_at(ev, "action", NULL), "Listen");
	assert_string_equal(json_at(ev, "type", NULL), "Warning");
	assert_string_equal(json_at(ev, "message", NULL), svc_ev.message);
	assert_string_equal(json_at(ev, "component", "source"), "kproxy");
	assert_string_equal(json_at(ev, "host", "source"), "node-a");
	assert_string_equal(json_at(ev, "reportingComponent", NULL), "kproxy");
	assert_string_equal(json_at(ev, "reportingInstance", NULL), "node-a");
	assert_int_equal(cJSON_GetObjectItem(ev, "count")->valueint, 1);
	/* RFC 3339 in UTC, as the API's timestamps. */
	snprintf(stamp, sizeof(stamp), "%s", json_at(ev, "firstTimestamp", NULL));
	assert_int_equal(strlen(stamp), 20);
	assert_int_equal(stamp[10], 'T');
	assert_int_equal(stamp[19], 'Z');
	assert_string_equal(json_at(ev, "lastTimestamp", NULL), stamp);
	cJSON_Delete(root);
	assert_int_equal(count_requests(h, "/api/v1/namespaces/shop/events", NULL, NULL), 1);

	/* About the Node: in "default", the involvedObject without a namespace. */
	memset(long_message, 'x', sizeof(long_message) - 1);
	long_message[sizeof(long_message) - 1] = '\0';
	apiwatch_event_post(h->w, &node_ev);
	root = wait_events(h, 2);
	ev = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "events"), 1);
	assert_string_equal(json_at(ev, "namespace", "metadata"), "default");
	assert_string_equal(json_at(ev, "kind", "involvedObject"), "Node");
	assert_string_equal(json_at(ev, "name", "involvedObject"), "node-a");
	assert_null(json_at(ev, "namespace", "involvedObject"));
	assert_string_equal(json_at(ev, "reason", NULL), "Broken");
	/* The message is cut at 1024 bytes. */
	assert_int_equal(strlen(json_at(ev, "message", NULL)), 1024);
	src = cJSON_GetObjectItem(ev, "source");
	assert_string_equal(json_at(src, "host", NULL), "node-a");
	cJSON_Delete(root);
	assert_int_equal(count_requests(h, "/api/v1/namespaces/default/events", NULL, NULL), 1);

	/* Posted with the credentials of the watches. */
	root = fake_state(h);
	{
		const cJSON *req;

		cJSON_ArrayForEach(req, cJSON_GetObjectItem(root, "requests"))
		{
			if (strstr(cJSON_GetObjectItem(req, "path")->valuestring, "/events"))
				assert_string_equal(json_at(req, "auth", NULL), "Bearer t");
		}
	}
	cJSON_Delete(root);
	assert_string_equal(strbuf_str(&h->rec.errors), "");
}

/* ---- HTTPS ---- */

static bool have_openssl(void)
{
	return system("openssl version >/dev/null 2>&1") == 0;
}

/*
 * Makes a CA, a server certificate for 127.0.0.1 and apiserver.test, a client
 * certificate, and a stranger CA.
 */
static void make_certs(struct harness *h)
{
	char *cmd = NULL;

	assert_true(
		asprintf(&cmd,
			 "set -e; cd '%s'; exec >openssl.log 2>&1\n"
			 "key() { openssl genpkey -algorithm EC -pkeyopt "
			 "ec_paramgen_curve:P-256 -out $1; }\n"
			 "key ca.key; key server.key; key client.key; key other.key\n"
			 "openssl req -x509 -new -key ca.key -subj /CN=kproxy-test-ca -days 1 "
			 "-out ca.crt\n"
			 "openssl req -x509 -new -key other.key -subj /CN=stranger -days 1 "
			 "-out other.crt\n"
			 "printf 'subjectAltName=IP:127.0.0.1,DNS:apiserver.test\\n' >server.ext\n"
			 "openssl req -new -key server.key -subj /CN=127.0.0.1 -out server.csr\n"
			 "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key "
			 "-CAcreateserial -days 1 -extfile server.ext -out server.crt\n"
			 "printf 'extendedKeyUsage=clientAuth\\n' >client.ext\n"
			 "openssl req -new -key client.key -subj /CN=system:kube-proxy "
			 "-out client.csr\n"
			 "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key "
			 "-CAcreateserial -days 1 -extfile client.ext -out client.crt\n",
			 h->dir) > 0);
	if (system(cmd) != 0)
		fail_msg("openssl failed; see %s/openssl.log", h->dir);
	free(cmd);
}

/* Starts the fake server over HTTPS (optionally requiring client certificates). */
static void fake_start_tls(struct harness *h, bool client_certs)
{
	char cert[128], key[128], ca[128];

	snprintf(cert, sizeof(cert), "%s/server.crt", h->dir);
	snprintf(key, sizeof(key), "%s/server.key", h->dir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", h->dir);
	if (client_certs)
		fake_start(h, "--tls-cert", cert, "--tls-key", key, "--client-ca", ca, NULL);
	else
		fake_start(h, "--tls-cert", cert, "--tls-key", key, NULL);
	snprintf(h->url, sizeof(h->url), "https://127.0.0.1:%d", h->port);
}

/* Returns the base64 of a file, for *-data fields. */
static char *file_base64(const char *path)
{
	char *cmd = NULL, buf[8192];
	size_t n;
	FILE *p;

	assert_true(asprintf(&cmd, "base64 -w0 '%s'", path) > 0);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	pclose(p);
	free(cmd);
	buf[n] = '\0';
	return strdup(buf);
}

/*
 * fake_http speaks plain HTTP; over TLS the control side is reached through
 * curl with the CA. POSTs post (when not NULL) to path; returns the body.
 */
static char *fake_https(struct harness *h, const char *path, const char *post)
{
	char url[128], ca[128], cert[128], key[128];
	struct strbuf body = STRBUF_INIT;
	CURL *c = curl_easy_init();
	long status = 0;

	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", h->port, path);
	snprintf(ca, sizeof(ca), "%s/ca.crt", h->dir);
	snprintf(cert, sizeof(cert), "%s/client.crt", h->dir);
	snprintf(key, sizeof(key), "%s/client.key", h->dir);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 200);
	curl_easy_cleanup(c);
	return strbuf_detach(&body, NULL);
}

static void control_tls(struct harness *h, const char *cmds)
{
	char *json = sq(cmds);

	free(fake_https(h, "/_control", json));
	free(json);
}

/*
 * Starts the fake server over HTTPS (optionally requiring client
 * certificates) with the test certificates and the state cmds; skips the
 * test without openssl.
 */
static void tls_fake_up(struct harness *h, bool client_certs, const char *cmds)
{
	if (!have_openssl())
		skip();
	make_certs(h);
	fake_start_tls(h, client_certs);
	control_tls(h, cmds);
}

/* Watches with the kubeconfig written last: the TLS set-up fails with error, nothing syncs. */
static void watch_refused(struct harness *h, const char *error)
{
	watch_start(h);
	WAIT(h, has_error, error);
	assert_int_equal(h->rec.synced, 0);
	apiwatch_free(h->w);
	h->w = NULL;
}

/* HTTPS verified with the test CA from a file; a stranger CA is refused. */
static void test_https_ca(void **state)
{
	struct harness *h = *state;

	tls_fake_up(h, false, "[" BASIC "]");

	write_kubeconfig(h, "    certificate-authority: other.crt\n", "    token: t\n");
	watch_refused(h, "SSL certificate problem");

	write_kubeconfig(h, "    certificate-authority: ca.crt\n", "    token: t\n");
	watch_start(h);
	WAIT_SYNCED(h);
	assert_true(has_summary(h, "service default/web port=80"));
	control_tls(h, PUT(SVC("default", "tls")));
	WAIT(h, has_summary, "service default/tls port=80");
	apiwatch_free(h->w);
	h->w = NULL;

	/* insecure-skip-tls-verify takes the server as it is. */
	write_kubeconfig(h, "    insecure-skip-tls-verify: true\n", "    token: t\n");
	watch_start(h);
	WAIT_SYNCED(h);
}

/*
 * tls-server-name: the certificate is checked against that name, not the
 * server's address (which the connection still goes to). A name the
 * certificate does not carry is refused; its own name is accepted.
 */
static void test_https_server_name(void **state)
{
	struct harness *h = *state;

	tls_fake_up(h, false, "[" BASIC "]");

	write_kubeconfig(h,
			 "    certificate-authority: ca.crt\n"
			 "    tls-server-name: other.test\n",
			 "    token: t\n");
	watch_refused(h, "other.test");

	write_kubeconfig(h,
			 "    certificate-authority: ca.crt\n"
			 "    tls-server-name: apiserver.test\n",
			 "    token: t\n");
	watch_start(h);
	WAIT_SYNCED(h);
	control_tls(h, PUT(SVC("default", "named")));
	WAIT(h, has_summary, "service default/named port=80");

	/* The requests name the server's real address in their Host header. */
	{
		char *text = fake_https(h, "/_state", NULL), want[64];
		cJSON *root = cJSON_Parse(text), *req;
		int n = 0;

		assert_non_null(root);
		snprintf(want, sizeof(want), "127.0.0.1:%d", h->port);
		cJSON_ArrayForEach(req, cJSON_GetObjectItem(root, "requests"))
		{
			const char *path = cJSON_GetObjectItem(req, "path")->valuestring;

			if (strncmp(path, "/_", 2) == 0)
				continue;
			assert_string_equal(cJSON_GetObjectItem(req, "host")->valuestring, want);
			n++;
		}
		assert_true(n > 0);
		cJSON_Delete(root);
		free(text);
	}
}

/* Inline CA and client certificate data; the server requires the certificate. */
static void test_https_client_cert(void **state)
{
	struct harness *h = *state;
	char path[128], *ca, *cert, *key, *cluster = NULL, *user = NULL;

	tls_fake_up(h, true, "[" BASIC "]");
	snprintf(path, sizeof(path), "%s/ca.crt", h->dir);
	ca = file_base64(path);
	snprintf(path, sizeof(path), "%s/client.crt", h->dir);
	cert = file_base64(path);
	snprintf(path, sizeof(path), "%s/client.key", h->dir);
	key = file_base64(path);
	assert_true(asprintf(&cluster, "    certificate-authority-data: %s\n", ca) > 0);
	assert_true(asprintf(&user, "    client-certificate-data: %s\n    client-key-data: %s\n",
			     cert, key) > 0);
	write_kubeconfig(h, cluster, user);
	watch_start(h);
	WAIT_SYNCED(h);
	assert_true(has_summary(h, "endpointslice default/web-1 svc=web eps=1"));
	free(ca);
	free(cert);
	free(key);
	free(cluster);
	free(user);
}

/* In-cluster configuration: https to KUBERNETES_SERVICE_HOST/PORT with the SA files. */
static void test_in_cluster(void **state)
{
	struct harness *h = *state;
	char sa[128], cmd[512], port[16];

	tls_fake_up(h, false, "[" BASIC ",{'op':'require_token','token':'sa-token'}]");
	snprintf(sa, sizeof(sa), "%s/sa", h->dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && cp '%s/ca.crt' '%s/ca.crt'", sa, h->dir, sa);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s/token", sa);
	write_text(cmd, "sa-token\n");
	snprintf(port, sizeof(port), "%d", h->port);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	h->cfg.serviceaccount_dir = sa;
	h->cfg.master = NULL;
	h->cfg.kubeconfig = NULL;
	{
		struct errbuf err = { { 0 } };

		h->w = apiwatch_new(h->loop, &h->cfg, &ops, h, &err);
		if (!h->w)
			fail_msg("apiwatch_new: %s", err.msg);
	}
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	assert_int_equal(apiwatch_start(h->w), 0);
	WAIT_SYNCED(h);
}

/* Configuration errors are returned by apiwatch_new, naming what is wrong. */
static void test_config_errors(void **state)
{
	struct harness *h = *state;
	struct apiwatch_config cfg = { 0 };
	struct errbuf err = { { 0 } };
	char path[128];

	cfg.node_name = "node-a";
	cfg.master = "localhost:8080";
	assert_null(apiwatch_new(h->loop, &cfg, &ops, h, &err));
	assert_string_equal(err.msg,
			    "--master: \"localhost:8080\" is not an http:// or https:// URL");

	cfg.master = NULL;
	snprintf(path, sizeof(path), "%s/nope", h->dir);
	cfg.kubeconfig = path;
	assert_null(apiwatch_new(h->loop, &cfg, &ops, h, &err));
	assert_non_null(strstr(err.msg, "/nope: No such file or directory"));

	cfg.kubeconfig = NULL;
	unsetenv("KUBERNETES_SERVICE_HOST");
	assert_null(apiwatch_new(h->loop, &cfg, &ops, h, &err));
	assert_string_equal(err.msg, "in-cluster configuration: KUBERNETES_SERVICE_HOST and "
				     "KUBERNETES_SERVICE_PORT must be set (or use --kubeconfig or "
				     "--master)");

	cfg.node_name = NULL;
	cfg.master = "http://127.0.0.1:1";
	assert_null(apiwatch_new(h->loop, &cfg, &ops, h, &err));
	assert_string_equal(err.msg, "apiwatch: no node name");
}

/* Nothing listens: connection errors are reported and retried, never synced. */
static void test_connection_refused(void **state)
{
	struct harness *h = *state;

	fake_start(h, NULL);
	kill(h->pid, SIGTERM);
	waitpid(h->pid, NULL, 0);
	h->pid = -1;
	watch_start(h);
	WAIT(h, has_error, "list services: Failed to connect to 127.0.0.1 port");
	run_for(h, 300);
	assert_int_equal(h->rec.synced, 0);
	assert_true(occurrences(strbuf_str(&h->rec.errors), "list services:") >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_list_then_watch),
		T(test_default_watch_timeout),
		T(test_paging_expired_continue),
		T(test_paging_always_expired),
		T(test_relist_reconciles),
		T(test_relist_http_410),
		T(test_error_event_relists),
		T(test_error_event_other_relists),
		T(test_error_event_429_rewatches),
		T(test_watch_refused_relists),
		T(test_rewatch_on_timeout),
		T(test_rewatch_and_bookmark),
		T(test_garbage),
		T(test_huge_event),
		T(test_list_too_large),
		T(test_retry_after),
		T(test_server_errors),
		T(test_token_rotation),
		T(test_static_token),
		T(test_silent_stream_limit),
		T(test_silent_stream_past_timeout),
		T(test_endpoints_fallback),
		T(test_discovery_retried),
		T(test_slice_moves),
		T(test_event),
		T(test_https_ca),
		T(test_https_server_name),
		T(test_https_client_cert),
		T(test_in_cluster),
		T(test_config_errors),
		T(test_connection_refused),
#undef T
	};
	int r;

	signal(SIGPIPE, SIG_IGN);
	/* Everything here is on the loopback: no proxy from the environment. */
	setenv("no_proxy", "*", 1);
	setenv("NO_PROXY", "*", 1);
	if (getenv("KPROXY_TEST_FILTER"))
		cmocka_set_test_filter(getenv("KPROXY_TEST_FILTER"));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
