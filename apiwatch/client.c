// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * client - apiwatch over libcurl's multi-socket interface on kproxy's loop.
 *
 * libcurl tells us which sockets to poll (on_socket) and when to call it back
 * (on_curl_timer); the loop tells libcurl when a socket is ready. Finished
 * transfers are collected after every call into libcurl (collect_done), and
 * that is the only place where the next request of a watcher is started:
 * libcurl does not allow a transfer to be added or removed from inside its own
 * callbacks, so a callback that wants a transfer to end (an ERROR event, a
 * broken event, an oversized body) records why and fails the write, and the
 * completion handler acts on the record.
 *
 * Each watched kind has a watcher, a small state machine:
 *
 *   (probe) -> LIST page 1..n -> WATCH from the list's resourceVersion
 *                ^                  |  clean end, lost connection, 401/429:
 *                |                  |  WATCH again (at once after a clean end)
 *                |                  |  410 (event or HTTP), any other ERROR
 *                |                  |  event or HTTP error, oversized event:
 *                +------------------+  LIST again (after a backoff unless a
 *                                      410 ended a long watch)
 *
 * and every failure goes through the watcher's backoff and retry timer.
 *
 * Reconciliation: a watcher keeps the identity of every object it handed to
 * ops->update (a tsearch tree of struct known). Each list starts a new
 * generation and marks the objects it sees; when the last page is in, the
 * objects of older generations were deleted while nobody watched and are
 * reported removed. An object that fails to decode is reported and skipped,
 * but still counts as seen, so the owner keeps its last good version, just as
 * it does when a watch event carries a bad object.
 */
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "apiwatch/apiwatch.h"
#include "apiwatch/backoff.h"
#include "apiwatch/decode.h"
#include "apiwatch/kubeconfig.h"
#include "apiwatch/stream.h"
#include "proxy/log.h"
#include "proxy/strbuf.h"
#include "proxy/xalloc.h"

#ifndef CURL_WRITEFUNC_ERROR
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

#define USER_AGENT	   "kproxy/" KPROXY_VERSION
#define PAGE_LIMIT	   500
#define WATCH_TIMEOUT_MIN  300 /* seconds; each watch picks in [MIN, MAX] */
#define WATCH_TIMEOUT_MAX  600
#define IDLE_GRACE_MS	   60000  /* a watch may be silent this long past its timeout */
#define WATCH_IDLE_MS	   180000 /* and never longer than this (bookmarks come every minute) */
#define REQUEST_IDLE_MS	   60000  /* a list or probe may stall this long */
#define TOKEN_REREAD_MS	   60000
#define CONNECT_TIMEOUT_MS 10000
#define SHORT_WATCH_MS	   1000 /* a watch ending sooner without events failed */
#define RETRY_AFTER_MAX_S  600
#define MAX_ERROR_BODY	   65536 /* bytes of an error response kept for its message */
#define MAX_PROBE_BODY	   (1u << 20)
#define MAX_EVENT_BODY	   4096
#define MAX_EVENTS_FLIGHT  16 /* Events being posted at once; more are dropped */
#define EXPIRED_IN_A_ROW   2  /* continue tokens expired in a row before backing off */
#define MAX_EVENT_MESSAGE  1024
#define MAX_RV		   256
#define CA_CACHE_S	   60  /* seconds a CA file read by libcurl is reused */
#define MAX_MESSAGE	   512 /* bytes of a server message quoted in ours */

#define DISCOVERY_PATH "/apis/discovery.k8s.io/v1"

/* What each watched kind is called and where it lives. */
static const struct kind_desc {
	const char *name; /* the resource, for messages and URLs */
	enum k8s_kind kind;
	const char *path;
	const char *label_selector;
	bool node_selector; /* fieldSelector=metadata.name=<node> */
} kind_descs[] = {
	{ "services", K8S_KIND_SERVICE, "/api/v1/services",
	  "!service.kubernetes.io/service-proxy-name", false },
	{ "endpointslices", K8S_KIND_ENDPOINTSLICE, "/apis/discovery.k8s.io/v1/endpointslices",
	  "!service.kubernetes.io/headless", false },
	{ "endpoints", K8S_KIND_ENDPOINTS, "/api/v1/endpoints",
	  "!service.kubernetes.io/headless,!service.kubernetes.io/service-proxy-name", false },
	{ "nodes", K8S_KIND_NODE, "/api/v1/nodes", NULL, true },
};

enum {
	DESC_SERVICES,
	DESC_SLICES,
	DESC_ENDPOINTS,
	DESC_NODES,
};

/* The watchers: endpoint information comes from slices or Endpoints, per discovery. */
enum {
	WATCHER_SERVICES,
	WATCHER_ENDPOINTS,
	WATCHER_NODE,
	N_WATCHERS,
};

enum req_purpose {
	REQ_PROBE,
	REQ_LIST,
	REQ_WATCH,
	REQ_EVENT,
};

/* What a watcher does when its retry timer fires or its stream was stopped. */
enum next_step {
	NEXT_NONE,
	NEXT_PROBE,
	NEXT_LIST,
	NEXT_WATCH,
};

struct apiwatch;
struct watcher;

/**
 * struct request - one HTTP transfer.
 * @owner: the watcher it serves (NULL for an Event).
 * @status: the HTTP status, 0 until the headers are in.
 * @body: the response (lists, probes, error messages); watch streams go to
 *	the watcher's splitter instead.
 * @too_large: the write callback refused a body over its cap.
 * @pending: not yet handed to libcurl (an Event posted from a callback).
 */
struct request {
	struct apiwatch *w;
	struct watcher *owner;
	enum req_purpose purpose;
	CURL *easy;
	struct curl_slist *headers;
	char *post;
	long status;
	struct strbuf body;
	size_t max_body;
	bool too_large;
	bool pending;
	char curl_err[CURL_ERROR_SIZE];
	LIST_ENTRY(request) link;
};

LIST_HEAD(request_list, request);

/**
 * struct known - an object the owner holds, by identity.
 * @key: "namespace/name" ("name" for a Node), the tree's order.
 * @gen: the list generation that last saw it.
 */
struct known {
	char *key;
	char *namespace;
	char *name;
	char *service_name;
	unsigned int gen;
};

/**
 * struct watcher - the list+watch state of one kind.
 * @desc: what is watched; NULL until discovery has chosen (endpoints slot).
 * @rv: where the next watch starts; NULL when a list is needed.
 * @list_rv, @continue_token: of the list in progress.
 * @list_gen: the generation of the current (or last) list.
 * @list_items: items seen by the list in progress, for the cap.
 * @stop: set by the stream callback when it ends the watch: what comes next.
 * @stop_quick: the stop is routine (410): no backoff unless the watch was short.
 * @auth_retried: a 401 was answered by an immediate retry with a new token.
 * @continue_expired: continue tokens that expired since a list last completed.
 */
struct watcher {
	struct apiwatch *w;
	const struct kind_desc *desc;
	bool needs_discovery;
	struct request *req;
	char *rv;
	char *list_rv;
	char *continue_token;
	unsigned int list_gen;
	size_t list_items;
	void *known;
	size_t n_known;
	bool synced;
	struct backoff backoff;
	struct loop_timer *retry_timer;
	enum next_step retry_step;
	struct loop_timer *idle_timer;
	uint64_t idle_ms;
	uint64_t watch_start_ms;
	uint64_t last_rx_ms;
	unsigned long watch_events;
	struct stream stream;
	enum next_step stop;
	bool stop_quick;
	bool auth_retried;
	unsigned int continue_expired;
};

struct apiwatch {
	struct loop *loop;
	struct apiwatch_ops ops;
	void *arg;
	struct kubeconfig kc;
	struct curl_slist *connect_to; /* for tls-server-name, or NULL */
	char *host_header;	       /* with connect_to: "Host: " the real host and port */
	char *node_name;
	char *node_selector; /* "metadata.name=<node>" */
	struct apiwatch_tuning tuning;
	CURLM *multi;
	struct loop_timer *curl_timer;
	struct loop_timer *token_timer;
	struct loop_timer *kick_timer;
	char *token;
	bool token_failing;
	struct request_list requests;
	unsigned int n_events;
	struct watcher watchers[N_WATCHERS];
	bool started;
	bool synced;
	uint64_t last_contact_ms;
	uint64_t rng;
};

static void watcher_step(struct watcher *wt, enum next_step step);
static void collect_done(struct apiwatch *w);

/* ---- small helpers ---- */

static void report(struct apiwatch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct apiwatch *w, const char *fmt, ...)
{
	char msg[ERRBUF_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->ops.error)
		w->ops.error(msg, w->arg);
	else
		log_error("%s", msg);
}

/* xorshift64*: good enough to spread reconnects; seeded from getrandom(). */
static uint64_t next_random(struct apiwatch *w)
{
	uint64_t x = w->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	w->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static void seed_random(struct apiwatch *w)
{
	uint64_t seed = 0;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
		seed = loop_now_ms() ^ ((uint64_t)getpid() << 32);
	w->rng = seed ? seed : 0x9E3779B97F4A7C15ull;
}

/* Appends s percent-encoded as a query value (everything but unreserved characters). */
static void add_escaped(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
			strbuf_addc(sb, (char)ch);
		} else {
			strbuf_addc(sb, '%');
			strbuf_addc(sb, hex[ch >> 4]);
			strbuf_addc(sb, hex[ch & 15]);
		}
	}
}

static void add_param(struct strbuf *sb, const char *key, const char *value)
{
	strbuf_addc(sb, strchr(sb->buf, '?') ? '&' : '?');
	strbuf_adds(sb, key);
	strbuf_addc(sb, '=');
	add_escaped(sb, value);
}

/* Returns a string member of a JSON object, or NULL. */
static const char *json_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *meta_string(const cJSON *obj, const char *key)
{
	return json_string(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), key);
}

/*
 * The message of a Status body, for our own messages: "HTTP 403: services is
 * forbidden: ...". Writes into buf (size bytes).
 */
static const char *status_message(const struct request *req, char *buf, size_t size)
{
	cJSON *root = NULL;
	const char *msg = NULL;

	if (req->body.len > 0)
		root = decode_json_parse(req->body.buf, req->body.len);
	if (root)
		msg = json_string(root, "message");
	if (msg)
		snprintf(buf, size, "HTTP %ld: %.*s", req->status, MAX_MESSAGE, msg);
	else
		snprintf(buf, size, "HTTP %ld", req->status);
	cJSON_Delete(root);
	return buf;
}

static const char *watcher_name(const struct watcher *wt)
{
	if (wt->desc)
		return wt->desc->name;
	return DISCOVERY_PATH;
}

/* ---- known objects ---- */

static int known_cmp(const void *a, const void *b)
{
	return strcmp(((const struct known *)a)->key, ((const struct known *)b)->key);
}

static void known_free(void *p)
{
	struct known *k = p;

	free(k->key);
	free(k->namespace);
	free(k->name);
	free(k->service_name);
	free(k);
}

/* Builds the key of an object from its raw metadata; false when it has no usable name. */
static bool raw_key(const struct watcher *wt, const cJSON *json, char *buf, size_t size)
{
	const char *ns = meta_string(json, "namespace");
	const char *name = meta_string(json, "name");
	int n;

	if (!name || !name[0] || strlen(name) > K8S_MAX_NAME)
		return false;
	if (wt->desc->kind == K8S_KIND_NODE)
		n = snprintf(buf, size, "%s", name);
	else if (ns && ns[0] && strlen(ns) <= K8S_MAX_NAME)
		n = snprintf(buf, size, "%s/%s", ns, name);
	else
		return false;
	return n > 0 && (size_t)n < size;
}

static struct known *known_find(const struct watcher *wt, const char *key)
{
	struct known probe = { .key = (char *)key };
	void *found = tfind(&probe, &wt->known, known_cmp);

	return found ? *(struct known **)found : NULL;
}

/* Identity of a decoded object: namespace (NULL for a Node), name, owning Service. */
static void object_identity(const struct k8s_object *obj, const char **ns, const char **name,
			    const char **service)
{
	*service = NULL;
	switch (obj->kind) {
	case K8S_KIND_SERVICE:
		*ns = obj->u.service->namespace;
		*name = obj->u.service->name;
		break;
	case K8S_KIND_ENDPOINTSLICE:
		*ns = obj->u.slice->namespace;
		*name = obj->u.slice->name;
		*service = obj->u.slice->service_name;
		break;
	case K8S_KIND_ENDPOINTS:
		*ns = obj->u.endpoints->namespace;
		*name = obj->u.endpoints->name;
		break;
	case K8S_KIND_NODE:
		*ns = NULL;
		*name = obj->u.node->name;
		break;
	}
}

/* Tells the owner that k is gone, with an object that carries only k's identity. */
static void known_report_removed(struct watcher *wt, const struct known *k)
{
	struct apiwatch *w = wt->w;
	struct k8s_service svc = { 0 };
	struct k8s_slice slice = { 0 };
	struct k8s_endpoints eps = { 0 };
	struct k8s_node node = { 0 };
	struct k8s_object obj = { .kind = wt->desc->kind };

	switch (obj.kind) {
	case K8S_KIND_SERVICE:
		svc.namespace = k->namespace;
		svc.name = k->name;
		obj.u.service = &svc;
		break;
	case K8S_KIND_ENDPOINTSLICE:
		slice.namespace = k->namespace;
		slice.name = k->name;
		slice.service_name = k->service_name;
		obj.u.slice = &slice;
		break;
	case K8S_KIND_ENDPOINTS:
		eps.namespace = k->namespace;
		eps.name = k->name;
		obj.u.endpoints = &eps;
		break;
	case K8S_KIND_NODE:
		node.name = k->name;
		obj.u.node = &node;
		break;
	}
	log_debug(4, "apiwatch: %s %s removed", wt->desc->name, k->key);
	if (w->ops.remove)
		w->ops.remove(&obj, w->arg);
}

static void known_delete(struct watcher *wt, struct known *k)
{
	tdelete(k, &wt->known, known_cmp);
	known_free(k);
	wt->n_known--;
}

static void known_clear(struct watcher *wt)
{
	tdestroy(wt->known, known_free);
	wt->known = NULL;
	wt->n_known = 0;
}

/*
 * Hands a decoded object to the owner and remembers its identity. A slice
 * that moved to another Service (its service-name label changed) is first
 * removed from the old one.
 */
static void deliver_update(struct watcher *wt, struct k8s_object *obj)
{
	struct apiwatch *w = wt->w;
	const char *ns = NULL, *name = NULL, *service = NULL;
	struct known *k;
	char *key;

	object_identity(obj, &ns, &name, &service);
	key = ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
	k = known_find(wt, key);
	if (k && (service || k->service_name) &&
	    (!service || !k->service_name || strcmp(service, k->service_name) != 0)) {
		known_report_removed(wt, k);
		free(k->service_name);
		k->service_name = service ? xstrdup(service) : NULL;
	}
	if (!k) {
		k = xcalloc(1, sizeof(*k));
		k->key = key;
		key = NULL;
		k->namespace = ns ? xstrdup(ns) : NULL;
		k->name = xstrdup(name);
		k->service_name = service ? xstrdup(service) : NULL;
		tsearch(k, &wt->known, known_cmp);
		wt->n_known++;
	}
	free(key);
	k->gen = wt->list_gen;
	if (w->ops.update)
		w->ops.update(obj, w->arg);
	else
		k8s_object_fini(obj);
}

/*
 * Decodes one object of a list page or an ADDED/MODIFIED event. A bad one is
 * reported and skipped; if the owner holds an older version it stays seen.
 */
static void apply_object(struct watcher *wt, const cJSON *json)
{
	struct errbuf err = { { 0 } };
	struct k8s_object obj;
	char key[2 * K8S_MAX_NAME + 2];
	struct known *k;

	if (decode_object(json, wt->desc->kind, &obj, &err) == 0) {
		deliver_update(wt, &obj);
		return;
	}
	report(wt->w, "%s", err.msg);
	if (raw_key(wt, json, key, sizeof(key)) && (k = known_find(wt, key)) != NULL)
		k->gen = wt->list_gen;
}

static void apply_delete(struct watcher *wt, const cJSON *json)
{
	char key[2 * K8S_MAX_NAME + 2];
	struct known *k;

	if (!raw_key(wt, json, key, sizeof(key))) {
		report(wt->w, "watch %s: DELETED event without a namespace and name",
		       wt->desc->name);
		return;
	}
	k = known_find(wt, key);
	if (!k)
		return;
	known_report_removed(wt, k);
	known_delete(wt, k);
}

struct sweep {
	struct known **gone;
	size_t n;
	unsigned int gen;
};

static void sweep_visit(const void *nodep, VISIT which, void *arg)
{
	struct known *k = *(struct known *const *)nodep;
	struct sweep *s = arg;

	if (which != postorder && which != leaf)
		return;
	if (k->gen != s->gen)
		s->gone[s->n++] = k;
}

/* After a complete list: everything not seen by it was deleted meanwhile. */
static void reconcile(struct watcher *wt)
{
	struct sweep s = { 0 };
	size_t i;

	if (wt->n_known == 0)
		return;
	s.gone = xcalloc(wt->n_known, sizeof(*s.gone));
	s.gen = wt->list_gen;
	twalk_r(wt->known, sweep_visit, &s);
	for (i = 0; i < s.n; i++) {
		known_report_removed(wt, s.gone[i]);
		known_delete(wt, s.gone[i]);
	}
	if (s.n > 0)
		log_info("apiwatch: %s: %zu objects deleted while not watching", wt->desc->name,
			 s.n);
	free(s.gone);
}

/* ---- libcurl on the loop ---- */

static void on_fd(int fd, uint32_t events, void *arg)
{
	struct apiwatch *w = arg;
	int flags = 0, running;

	if (events & (EPOLLIN | EPOLLHUP))
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(w->multi, fd, flags, &running);
	collect_done(w);
}

/*
 * libcurl's socket callback. socketp marks a socket that is on the loop, so
 * the first call adds it and later ones change its events.
 */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct apiwatch *w = userp;
	uint32_t events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (socketp)
			loop_fd_del(w->loop, s);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (socketp)
		return loop_fd_mod(w->loop, s, events) < 0 ? -1 : 0;
	if (loop_fd_add(w->loop, s, events, on_fd, w) < 0)
		return -1;
	curl_multi_assign(w->multi, s, w);
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct apiwatch *w = userp;

	(void)multi;
	if (timeout_ms < 0)
		loop_timer_disarm(w->curl_timer);
	else
		loop_timer_arm(w->curl_timer, (uint64_t)timeout_ms);
	return 0;
}

static void curl_timer_fired(void *arg)
{
	struct apiwatch *w = arg;
	int running;

	curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect_done(w);
}

/* ---- requests ---- */

static void request_free(struct request *req)
{
	if (!req)
		return;
	LIST_REMOVE(req, link);
	if (req->easy) {
		if (!req->pending)
			curl_multi_remove_handle(req->w->multi, req->easy);
		curl_easy_cleanup(req->easy);
	}
	curl_slist_free_all(req->headers);
	free(req->post);
	strbuf_fini(&req->body);
	if (req->purpose == REQ_EVENT)
		req->w->n_events--;
	free(req);
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct request *req = arg;
	size_t len = size * n;

	/* The empty line ends a header block: the status is known. */
	if (len > 0 && len <= 2 && (data[0] == '\r' || data[0] == '\n')) {
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
		if (req->purpose == REQ_WATCH && req->status == 200) {
			uint64_t now = loop_now_ms();

			req->owner->last_rx_ms = now;
			req->w->last_contact_ms = now;
			backoff_healthy(&req->owner->backoff, now);
		}
	}
	return len;
}

static int on_event(const char *line, size_t len, void *arg);

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
	struct request *req = arg;
	struct watcher *wt = req->owner;
	size_t len = size * n, cap;
	int r;

	if (req->status == 0)
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
	if (req->purpose == REQ_WATCH && req->status == 200) {
		wt->last_rx_ms = loop_now_ms();
		req->w->last_contact_ms = wt->last_rx_ms;
		r = stream_feed(&wt->stream, data, len, on_event, wt);
		if (r == 0)
			return len;
		if (r == -EMSGSIZE) {
			report(req->w, "watch %s: an event is larger than %zu bytes",
			       wt->desc->name, wt->stream.max);
			wt->stop = NEXT_LIST;
			wt->stop_quick = false;
		}
		return CURL_WRITEFUNC_ERROR;
	}
	cap = req->status >= 200 && req->status < 300 ? req->max_body : MAX_ERROR_BODY;
	if (req->body.len + len > cap) {
		if (req->status < 200 || req->status >= 300)
			return len; /* the start of an error body is enough */
		req->too_large = true;
		return CURL_WRITEFUNC_ERROR;
	}
	strbuf_add(&req->body, data, len);
	return len;
}

/*
 * Returns a new request for path (and query) on the server, set up with the
 * credentials and the common options; not yet started.
 */
static struct request *request_new(struct apiwatch *w, struct watcher *owner,
				   enum req_purpose purpose, const char *url)
{
	struct request *req = xcalloc(1, sizeof(*req));
	const struct kubeconfig *kc = &w->kc;
	char *auth;

	req->w = w;
	req->owner = owner;
	req->purpose = purpose;
	strbuf_init(&req->body);
	LIST_INSERT_HEAD(&w->requests, req, link);
	if (purpose == REQ_EVENT)
		w->n_events++;
	req->easy = curl_easy_init();
	if (!req->easy) {
		request_free(req);
		return NULL;
	}
	req->pending = true;
	req->headers = curl_slist_append(req->headers, "Accept: application/json");
	if (w->host_header)
		req->headers = curl_slist_append(req->headers, w->host_header);
	if (w->token) {
		auth = xasprintf("Authorization: Bearer %s", w->token);
		req->headers = curl_slist_append(req->headers, auth);
		free(auth);
	}
	if (purpose == REQ_EVENT)
		req->headers = curl_slist_append(req->headers, "Content-Type: application/json");
	curl_easy_setopt(req->easy, CURLOPT_URL, url);
	curl_easy_setopt(req->easy, CURLOPT_PRIVATE, req);
	curl_easy_setopt(req->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(req->easy, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(req->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(req->easy, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(req->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(req->easy, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(req->easy, CURLOPT_ERRORBUFFER, req->curl_err);
	curl_easy_setopt(req->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(req->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(req->easy, CURLOPT_ACCEPT_ENCODING, "");
	/* A peer that vanished without a word is found by keepalive probes. */
	curl_easy_setopt(req->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(req->easy, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(req->easy, CURLOPT_TCP_KEEPINTVL, 15L);
	if (purpose != REQ_WATCH) {
		uint64_t idle =
			w->tuning.idle_timeout_ms ? w->tuning.idle_timeout_ms : REQUEST_IDLE_MS;

		curl_easy_setopt(req->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(req->easy, CURLOPT_LOW_SPEED_TIME,
				 (long)(idle >= 1000 ? idle / 1000 : 1));
	}
	if (w->connect_to)
		curl_easy_setopt(req->easy, CURLOPT_CONNECT_TO, w->connect_to);
	if (kc->insecure) {
		curl_easy_setopt(req->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(req->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (kc->ca_file) {
		curl_easy_setopt(req->easy, CURLOPT_CAINFO, kc->ca_file);
#if LIBCURL_VERSION_NUM >= 0x075700
		/* The CA file rotates (in-cluster ca.crt): do not trust a copy for a day. */
		curl_easy_setopt(req->easy, CURLOPT_CA_CACHE_TIMEOUT, (long)CA_CACHE_S);
#endif
	}
	if (kc->ca_data) {
		struct curl_blob blob = { kc->ca_data, kc->ca_data_len, CURL_BLOB_COPY };

		curl_easy_setopt(req->easy, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (kc->cert_file)
		curl_easy_setopt(req->easy, CURLOPT_SSLCERT, kc->cert_file);
	if (kc->cert_data) {
		struct curl_blob blob = { kc->cert_data, kc->cert_data_len, CURL_BLOB_COPY };

		curl_easy_setopt(req->easy, CURLOPT_SSLCERT_BLOB, &blob);
	}
	if (kc->key_file)
		curl_easy_setopt(req->easy, CURLOPT_SSLKEY, kc->key_file);
	if (kc->key_data) {
		struct curl_blob blob = { kc->key_data, kc->key_data_len, CURL_BLOB_COPY };

		curl_easy_setopt(req->easy, CURLOPT_SSLKEY_BLOB, &blob);
	}
	return req;
}

/* Hands the request to libcurl. Returns 0, or -EIO (the request is then freed). */
static int request_start(struct request *req)
{
	CURLMcode mc = curl_multi_add_handle(req->w->multi, req->easy);

	if (mc != CURLM_OK) {
		report(req->w, "apiwatch: cannot start a request: %s", curl_multi_strerror(mc));
		request_free(req);
		return -EIO;
	}
	req->pending = false;
	return 0;
}

static char *url_for(const struct apiwatch *w, const struct kind_desc *d)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, w->kc.server);
	strbuf_adds(&sb, d->path);
	if (d->label_selector)
		add_param(&sb, "labelSelector", d->label_selector);
	if (d->node_selector)
		add_param(&sb, "fieldSelector", w->node_selector);
	return strbuf_detach(&sb, NULL);
}

/* ---- the watcher's steps ---- */

static void retry_fired(void *arg)
{
	struct watcher *wt = arg;
	enum next_step step = wt->retry_step;

	wt->retry_step = NEXT_NONE;
	watcher_step(wt, step);
}

/* Runs step after delay_ms (0: at the next turn of the loop). */
static void schedule(struct watcher *wt, enum next_step step, uint64_t delay_ms)
{
	wt->retry_step = step;
	loop_timer_arm(wt->retry_timer, delay_ms);
}

/* A failure: step again after the backoff, or after retry_after_s when the server asked. */
static void retry_later(struct watcher *wt, enum next_step step, long retry_after_s)
{
	uint64_t delay = backoff_delay(&wt->backoff, loop_now_ms(), next_random(wt->w));

	if (retry_after_s > 0)
		delay = (uint64_t)(retry_after_s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S
								     : retry_after_s) *
			1000;
	log_debug(2, "apiwatch: %s: retrying in %llu ms", watcher_name(wt),
		  (unsigned long long)delay);
	schedule(wt, step, delay);
}

/* Forgets the resourceVersion: every list step starts the watch over from its result. */
static void need_relist(struct watcher *wt)
{
	free(wt->rv);
	wt->rv = NULL;
}

static void start_probe(struct watcher *wt)
{
	struct apiwatch *w = wt->w;
	char *url = xasprintf("%s%s", w->kc.server, DISCOVERY_PATH);
	struct request *req = request_new(w, wt, REQ_PROBE, url);

	free(url);
	if (req)
		req->max_body = MAX_PROBE_BODY;
	if (!req || request_start(req) < 0) {
		retry_later(wt, NEXT_PROBE, 0);
		return;
	}
	wt->req = req;
}

static void start_list(struct watcher *wt)
{
	struct apiwatch *w = wt->w;
	struct strbuf url = STRBUF_INIT;
	struct request *req;
	char limit[16], *base;

	/* A list from page 1 is a new generation for reconciliation. */
	if (!wt->continue_token) {
		wt->list_gen++;
		wt->list_items = 0;
	}
	base = url_for(w, wt->desc);
	strbuf_adds(&url, base);
	free(base);
	snprintf(limit, sizeof(limit), "%u",
		 w->tuning.page_limit ? w->tuning.page_limit : PAGE_LIMIT);
	add_param(&url, "limit", limit);
	if (wt->continue_token)
		add_param(&url, "continue", wt->continue_token);
	req = request_new(w, wt, REQ_LIST, strbuf_str(&url));
	strbuf_fini(&url);
	if (req)
		req->max_body = w->tuning.max_body ? w->tuning.max_body : K8S_MAX_DOCUMENT;
	if (!req || request_start(req) < 0) {
		retry_later(wt, NEXT_LIST, 0);
		return;
	}
	wt->req = req;
}

static void idle_fired(void *arg);

/*
 * How long a watch of timeout_s may go without a byte. The server ends it
 * at its timeout, so silence well past that means a dead connection; and
 * since bookmarks were asked for, which the server sends about every minute,
 * three silent minutes mean one too, however long the timeout.
 */
static uint64_t watch_idle_ms(const struct apiwatch_tuning *t, uint32_t timeout_s)
{
	uint64_t grace = t->idle_grace_ms ? t->idle_grace_ms : IDLE_GRACE_MS;
	uint64_t limit = t->idle_timeout_ms ? t->idle_timeout_ms : WATCH_IDLE_MS;
	uint64_t past_timeout = (uint64_t)timeout_s * 1000 + grace;

	return past_timeout < limit ? past_timeout : limit;
}

static void start_watch(struct watcher *wt)
{
	struct apiwatch *w = wt->w;
	struct strbuf url = STRBUF_INIT;
	struct request *req;
	uint32_t timeout;
	char num[16];
	char *base;

	if (!wt->rv) {
		start_list(wt);
		return;
	}
	timeout = w->tuning.watch_timeout_s;
	if (!timeout)
		timeout = WATCH_TIMEOUT_MIN +
			  (uint32_t)(next_random(w) % (WATCH_TIMEOUT_MAX - WATCH_TIMEOUT_MIN + 1));
	base = url_for(w, wt->desc);
	strbuf_adds(&url, base);
	free(base);
	add_param(&url, "watch", "1");
	add_param(&url, "allowWatchBookmarks", "true");
	add_param(&url, "resourceVersion", wt->rv);
	snprintf(num, sizeof(num), "%u", timeout);
	add_param(&url, "timeoutSeconds", num);
	req = request_new(w, wt, REQ_WATCH, strbuf_str(&url));
	strbuf_fini(&url);
	if (!req || request_start(req) < 0) {
		retry_later(wt, NEXT_WATCH, 0);
		return;
	}
	wt->req = req;
	stream_reset(&wt->stream);
	wt->stop = NEXT_NONE;
	wt->stop_quick = false;
	wt->watch_events = 0;
	wt->watch_start_ms = loop_now_ms();
	wt->last_rx_ms = wt->watch_start_ms;
	wt->idle_ms = watch_idle_ms(&w->tuning, timeout);
	loop_timer_arm(wt->idle_timer, wt->idle_ms);
}

static void watcher_step(struct watcher *wt, enum next_step step)
{
	switch (step) {
	case NEXT_NONE:
		break;
	case NEXT_PROBE:
		start_probe(wt);
		break;
	case NEXT_LIST:
		need_relist(wt);
		free(wt->continue_token);
		wt->continue_token = NULL;
		start_list(wt);
		break;
	case NEXT_WATCH:
		start_watch(wt);
		break;
	}
}

/*
 * A watch silent for longer than its idle limit is on a dead connection (the
 * server sends bookmarks and ends every watch at its timeout): drop it and
 * watch again from the same resourceVersion.
 */
static void idle_fired(void *arg)
{
	struct watcher *wt = arg;
	uint64_t now = loop_now_ms(), silent = now - wt->last_rx_ms;

	if (!wt->req || wt->req->purpose != REQ_WATCH)
		return;
	if (silent < wt->idle_ms) {
		loop_timer_arm(wt->idle_timer, wt->idle_ms - silent);
		return;
	}
	report(wt->w, "watch %s: no data for %llu ms; reconnecting", wt->desc->name,
	       (unsigned long long)silent);
	request_free(wt->req);
	wt->req = NULL;
	retry_later(wt, NEXT_WATCH, 0);
}

static void check_synced(struct apiwatch *w)
{
	size_t i;

	if (w->synced)
		return;
	for (i = 0; i < N_WATCHERS; i++)
		if (!w->watchers[i].synced)
			return;
	w->synced = true;
	log_info("apiwatch: services, %s and node listed", watcher_name(&w->watchers[1]));
	if (w->ops.synced)
		w->ops.synced(w->arg);
}

/* ---- tokens ---- */

/* Re-reads the token file. Returns true when the token changed. */
static bool token_reload(struct apiwatch *w)
{
	struct errbuf err = { { 0 } };
	char *token;
	bool changed;

	if (!w->kc.token_file)
		return false;
	if (kubeconfig_token_read(w->kc.token_file, &token, &err) < 0) {
		if (!w->token_failing)
			report(w, "apiwatch: %s (keeping the previous token)", err.msg);
		w->token_failing = true;
		return false;
	}
	w->token_failing = false;
	changed = !w->token || strcmp(w->token, token) != 0;
	free(w->token);
	w->token = token;
	return changed;
}

static void token_fired(void *arg)
{
	struct apiwatch *w = arg;

	token_reload(w);
	loop_timer_arm(w->token_timer,
		       w->tuning.token_reread_ms ? w->tuning.token_reread_ms : TOKEN_REREAD_MS);
}

/*
 * An HTTP error other than the ones a step handles itself. 401: the token
 * may have rotated, so it is re-read and, when it changed, the request is
 * retried at once (once); 429 and 5xx may carry Retry-After, which wins over
 * the backoff; everything else (403 included: RBAC may be granted later) is
 * retried after the backoff.
 */
static void http_failed(struct watcher *wt, struct request *req, const char *verb,
			enum next_step step)
{
	char msg[MAX_MESSAGE + 64];
	curl_off_t retry_after = 0;

	status_message(req, msg, sizeof(msg));
	if (req->status == 401 && token_reload(wt->w) && !wt->auth_retried) {
		wt->auth_retried = true;
		report(wt->w, "%s %s: %s; retrying with the new token", verb, watcher_name(wt),
		       msg);
		schedule(wt, step, 0);
		return;
	}
	if (req->status == 429 || req->status >= 500)
		curl_easy_getinfo(req->easy, CURLINFO_RETRY_AFTER, &retry_after);
	if (retry_after > 0)
		report(wt->w, "%s %s: %s; retrying after %lld s", verb, watcher_name(wt), msg,
		       (long long)retry_after);
	else
		report(wt->w, "%s %s: %s", verb, watcher_name(wt), msg);
	retry_later(wt, step, (long)retry_after);
}

static void transport_failed(struct watcher *wt, struct request *req, CURLcode code,
			     const char *verb, enum next_step step)
{
	/* A watch that had started streaming lost its connection. */
	report(wt->w, "%s %s: %s%s", verb, watcher_name(wt),
	       req->purpose == REQ_WATCH && req->status == 200 ? "connection lost: " : "",
	       req->curl_err[0] ? req->curl_err : curl_easy_strerror(code));
	retry_later(wt, step, 0);
}

/* ---- discovery ---- */

static bool serves_slices(const struct request *req)
{
	cJSON *root = decode_json_parse(req->body.buf ? req->body.buf : "", req->body.len);
	const cJSON *res, *r;
	bool found = false;

	res = cJSON_GetObjectItemCaseSensitive(root, "resources");
	cJSON_ArrayForEach(r, res)
	{
		const char *name = json_string(r, "name");

		if (name && strcmp(name, "endpointslices") == 0)
			found = true;
	}
	cJSON_Delete(root);
	return found;
}

/*
 * discovery.k8s.io/v1 is served from 1.21 on; without it (404, or no
 * endpointslices resource) endpoints come from core/v1 Endpoints. Decided
 * once for the life of the watcher.
 */
static void probe_done(struct watcher *wt, struct request *req, CURLcode code)
{
	bool slices;

	if (code != CURLE_OK) {
		transport_failed(wt, req, code, "probe", NEXT_PROBE);
		return;
	}
	if (req->status == 200)
		slices = serves_slices(req);
	else if (req->status == 404)
		slices = false;
	else {
		http_failed(wt, req, "probe", NEXT_PROBE);
		return;
	}
	wt->auth_retried = false;
	wt->desc = &kind_descs[slices ? DESC_SLICES : DESC_ENDPOINTS];
	wt->needs_discovery = false;
	if (!slices)
		log_info("apiwatch: %s does not serve endpointslices; watching core/v1 Endpoints",
			 DISCOVERY_PATH);
	watcher_step(wt, NEXT_LIST);
}

/* ---- lists ---- */

/*
 * Reads one page: its items go to the owner as they are decoded (a page is
 * part of one consistent snapshot; should the snapshot be abandoned, the
 * reconciliation of the next complete list corrects anything delivered from
 * it). Returns 0, or -EINVAL when the document is not a list.
 */
static int list_page(struct watcher *wt, struct request *req)
{
	const cJSON *items, *item, *meta;
	const char *rv, *cont;
	cJSON *root;
	int n, r = -EINVAL;

	root = decode_json_parse(req->body.buf ? req->body.buf : "", req->body.len);
	if (!cJSON_IsObject(root)) {
		report(wt->w, "list %s: the response is not a JSON object", wt->desc->name);
		goto out;
	}
	meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
	items = cJSON_GetObjectItemCaseSensitive(root, "items");
	rv = json_string(meta, "resourceVersion");
	cont = json_string(meta, "continue");
	if (!rv || !rv[0] || strlen(rv) > MAX_RV) {
		report(wt->w, "list %s: metadata.resourceVersion missing or too long",
		       wt->desc->name);
		goto out;
	}
	if (!cJSON_IsNull(items) && items && !cJSON_IsArray(items)) {
		report(wt->w, "list %s: items is not a list", wt->desc->name);
		goto out;
	}
	n = cJSON_GetArraySize(items);
	if (n < 0 || wt->list_items + (size_t)n > K8S_MAX_LIST_ITEMS) {
		report(wt->w, "list %s: more than %u items", wt->desc->name, K8S_MAX_LIST_ITEMS);
		goto out;
	}
	wt->list_items += (size_t)n;
	cJSON_ArrayForEach(item, items)
	{
		apply_object(wt, item);
	}
	free(wt->list_rv);
	wt->list_rv = xstrdup(rv);
	free(wt->continue_token);
	wt->continue_token = cont && cont[0] ? xstrdup(cont) : NULL;
	r = 0;
out:
	cJSON_Delete(root);
	return r;
}

static void list_done(struct watcher *wt, struct request *req, CURLcode code)
{
	struct apiwatch *w = wt->w;

	if (req->too_large) {
		report(w, "list %s: the response is larger than %zu bytes", wt->desc->name,
		       req->max_body);
		retry_later(wt, NEXT_LIST, 0);
		return;
	}
	if (code != CURLE_OK) {
		transport_failed(wt, req, code, "list", NEXT_LIST);
		return;
	}
	if (req->status == 410 && wt->continue_token) {
		/*
		 * The continue token expired: the pages so far belong to a
		 * snapshot that can no longer be completed. Start over; the
		 * pages of two snapshots are never spliced. Once is routine
		 * (a list slower than the server's compaction), so it starts
		 * over at once; a server that keeps expiring them would make
		 * that a tight loop of lists, so from the second in a row on
		 * it goes through the backoff like any failure.
		 */
		if (++wt->continue_expired >= EXPIRED_IN_A_ROW) {
			report(w,
			       "list %s: continue token expired %u times in a row; listing from "
			       "the start after a backoff",
			       wt->desc->name, wt->continue_expired);
			retry_later(wt, NEXT_LIST, 0);
			return;
		}
		log_info("apiwatch: list %s: continue token expired; listing from the start",
			 wt->desc->name);
		schedule(wt, NEXT_LIST, 0);
		return;
	}
	if (req->status != 200) {
		http_failed(wt, req, "list", NEXT_LIST);
		return;
	}
	wt->auth_retried = false;
	w->last_contact_ms = loop_now_ms();
	if (list_page(wt, req) < 0) {
		retry_later(wt, NEXT_LIST, 0);
		return;
	}
	if (wt->continue_token) {
		start_list(wt);
		return;
	}
	wt->continue_expired = 0;
	reconcile(wt);
	free(wt->rv);
	wt->rv = wt->list_rv;
	wt->list_rv = NULL;
	if (!wt->synced) {
		wt->synced = true;
		check_synced(w);
	}
	start_watch(wt);
}

/* ---- watches ---- */

/* Records the resourceVersion of an event's object, where the next watch resumes. */
static void advance_rv(struct watcher *wt, const cJSON *object)
{
	const char *rv = meta_string(object, "resourceVersion");

	if (!rv || !rv[0] || strlen(rv) > MAX_RV)
		return;
	free(wt->rv);
	wt->rv = xstrdup(rv);
}

/* Ends the stream from inside the write callback; the completion handler goes on. */
static int stop_stream(struct watcher *wt, enum next_step next, bool quick)
{
	wt->stop = next;
	wt->stop_quick = quick;
	return 1;
}

static int on_error_event(struct watcher *wt, const cJSON *status)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(status, "code");
	const char *msg = json_string(status, "message");
	int c = cJSON_IsNumber(code) ? code->valueint : 0;

	if (c == 410) {
		/* The resourceVersion fell out of the server's history: list again. */
		log_info("apiwatch: watch %s: %.*s; listing again", wt->desc->name, MAX_MESSAGE,
			 msg ? msg : "resource version expired");
		return stop_stream(wt, NEXT_LIST, true);
	}
	/*
	 * As client-go's reflector: too many requests (429) watches again after
	 * the backoff; any other error lists again after it, since the
	 * resourceVersion itself may be what the server cannot serve (one ahead
	 * of a restored etcd, say), and watching from it again would never
	 * recover.
	 */
	if (c == 429) {
		report(wt->w, "watch %s: ERROR event: code 429: %.*s", wt->desc->name, MAX_MESSAGE,
		       msg ? msg : "(no message)");
		return stop_stream(wt, NEXT_WATCH, false);
	}
	report(wt->w, "watch %s: ERROR event: code %d: %.*s; listing again", wt->desc->name, c,
	       MAX_MESSAGE, msg ? msg : "(no message)");
	return stop_stream(wt, NEXT_LIST, false);
}

static int event_update(struct watcher *wt, const cJSON *object)
{
	advance_rv(wt, object);
	apply_object(wt, object);
	return 0;
}

static int event_delete(struct watcher *wt, const cJSON *object)
{
	advance_rv(wt, object);
	apply_delete(wt, object);
	return 0;
}

/* A BOOKMARK only says where the next watch may resume. */
static int event_bookmark(struct watcher *wt, const cJSON *object)
{
	advance_rv(wt, object);
	return 0;
}

/* The watch event types and what each does; a handler's non-zero return ends the stream. */
static const struct event_type {
	const char *name;
	int (*handle)(struct watcher *wt, const cJSON *object);
} event_types[] = {
	{ "ADDED", event_update },	{ "MODIFIED", event_update }, { "DELETED", event_delete },
	{ "BOOKMARK", event_bookmark }, { "ERROR", on_error_event },
};

/*
 * One line of a watch stream. Objects that do not decode are reported and
 * skipped; an event that is not even a well-formed event means the stream
 * cannot be trusted from there on, so it is dropped and watched again from
 * the last good resourceVersion.
 */
static int on_event(const char *line, size_t len, void *arg)
{
	struct watcher *wt = arg;
	const cJSON *object;
	const char *type;
	cJSON *root;
	size_t i;
	int r;

	root = decode_json_parse(line, len);
	if (!cJSON_IsObject(root)) {
		report(wt->w, "watch %s: event %lu is not a JSON object (%zu bytes); reconnecting",
		       wt->desc->name, wt->watch_events + 1, len);
		cJSON_Delete(root);
		return stop_stream(wt, NEXT_WATCH, false);
	}
	wt->watch_events++;
	type = json_string(root, "type");
	object = cJSON_GetObjectItemCaseSensitive(root, "object");
	if (!type || !cJSON_IsObject(object)) {
		report(wt->w, "watch %s: event %lu has no type or object; reconnecting",
		       wt->desc->name, wt->watch_events);
		cJSON_Delete(root);
		return stop_stream(wt, NEXT_WATCH, false);
	}
	for (i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++)
		if (strcmp(type, event_types[i].name) == 0)
			break;
	if (i < sizeof(event_types) / sizeof(event_types[0])) {
		r = event_types[i].handle(wt, object);
	} else {
		report(wt->w, "watch %s: event %lu has unknown type \"%.32s\"; reconnecting",
		       wt->desc->name, wt->watch_events, type);
		r = stop_stream(wt, NEXT_WATCH, false);
	}
	cJSON_Delete(root);
	return r;
}

/*
 * After a watch: a clean end (the server's timeout) is followed at once by a
 * new watch from the last resourceVersion, unless the watch ended almost at
 * once without events, which is a failure like any other. A 410 goes back to
 * a list.
 */
static void watch_done(struct watcher *wt, struct request *req, CURLcode code)
{
	uint64_t lasted = loop_now_ms() - wt->watch_start_ms;
	bool is_short = lasted < SHORT_WATCH_MS && wt->watch_events == 0;

	loop_timer_disarm(wt->idle_timer);
	if (code == CURLE_OK && req->status == 200 && wt->stop == NEXT_NONE) {
		int r = stream_finish(&wt->stream, on_event, wt);

		if (r == -EMSGSIZE) {
			report(wt->w, "watch %s: an event is larger than %zu bytes", wt->desc->name,
			       wt->stream.max);
			wt->stop = NEXT_LIST;
		}
	}
	if (wt->stop != NEXT_NONE) {
		enum next_step next = wt->stop;

		wt->stop = NEXT_NONE;
		if (wt->stop_quick && lasted >= SHORT_WATCH_MS)
			schedule(wt, next, 0);
		else
			retry_later(wt, next, 0);
		return;
	}
	if (code != CURLE_OK) {
		transport_failed(wt, req, code, "watch", NEXT_WATCH);
		return;
	}
	if (req->status == 410) {
		log_info("apiwatch: watch %s: resource version expired; listing again",
			 wt->desc->name);
		if (is_short)
			retry_later(wt, NEXT_LIST, 0);
		else
			schedule(wt, NEXT_LIST, 0);
		return;
	}
	if (req->status != 200) {
		/*
		 * As client-go's reflector: refused for too many requests (429),
		 * the watch is retried from the same resourceVersion; any other
		 * refusal (400 for a resourceVersion the server cannot serve, 403,
		 * 5xx) lists again. A 401 is retried as a watch too: it is about
		 * the token (re-read at once), not the resourceVersion.
		 */
		http_failed(wt, req, "watch",
			    req->status == 429 || req->status == 401 ? NEXT_WATCH : NEXT_LIST);
		return;
	}
	wt->auth_retried = false;
	if (is_short) {
		report(wt->w, "watch %s: the server ended the watch at once", wt->desc->name);
		retry_later(wt, NEXT_WATCH, 0);
		return;
	}
	start_watch(wt);
}

/* ---- Events ---- */

static void event_done(struct apiwatch *w, struct request *req, CURLcode code)
{
	char msg[MAX_MESSAGE + 64];

	(void)w;
	if (code != CURLE_OK)
		log_warn("apiwatch: event not posted: %s",
			 req->curl_err[0] ? req->curl_err : curl_easy_strerror(code));
	else if (req->status != 201 && req->status != 200)
		log_warn("apiwatch: event not posted: %s", status_message(req, msg, sizeof(msg)));
}

static void kick_fired(void *arg)
{
	struct apiwatch *w = arg;
	struct request *req, *next;

	for (req = LIST_FIRST(&w->requests); req; req = next) {
		next = LIST_NEXT(req, link);
		if (req->pending)
			request_start(req);
	}
}

/* The apiVersion and kind of an Event's involvedObject; whether that kind is namespaced. */
static bool event_kind(enum k8s_kind kind, const char **api_version, const char **name)
{
	*api_version = "v1";
	switch (kind) {
	case K8S_KIND_SERVICE:
		*name = "Service";
		return true;
	case K8S_KIND_ENDPOINTSLICE:
		*api_version = "discovery.k8s.io/v1";
		*name = "EndpointSlice";
		return true;
	case K8S_KIND_ENDPOINTS:
		*name = "Endpoints";
		return true;
	case K8S_KIND_NODE:
		*name = "Node";
		return false;
	}
	*name = "Node";
	return false;
}

/*
 * The JSON of a core/v1 Event, in namespace ns. As kube-proxy does, the
 * involvedObject's uid is its "namespace/name" (a Node's name): kproxy does
 * not keep uids, and nothing matches Events on them.
 */
static char *event_body(const struct apiwatch *w, const struct apiwatch_event *ev, const char *ns)
{
	cJSON *root = cJSON_CreateObject(), *meta, *ref, *src;
	const char *api_version, *kind;
	char stamp[32], *text, *body;
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(root, "apiVersion", "v1");
	cJSON_AddStringToObject(root, "kind", "Event");
	meta = cJSON_AddObjectToObject(root, "metadata");
	cJSON_AddStringToObject(meta, "generateName", "kproxy-");
	cJSON_AddStringToObject(meta, "namespace", ns);
	ref = cJSON_AddObjectToObject(root, "involvedObject");
	if (event_kind(ev->about, &api_version, &kind)) {
		text = xasprintf("%s/%s", ev->namespace, ev->name);
		cJSON_AddStringToObject(ref, "apiVersion", api_version);
		cJSON_AddStringToObject(ref, "kind", kind);
		cJSON_AddStringToObject(ref, "namespace", ev->namespace);
		cJSON_AddStringToObject(ref, "name", ev->name);
		cJSON_AddStringToObject(ref, "uid", text);
		free(text);
	} else {
		cJSON_AddStringToObject(ref, "apiVersion", api_version);
		cJSON_AddStringToObject(ref, "kind", kind);
		cJSON_AddStringToObject(ref, "name", w->node_name);
		cJSON_AddStringToObject(ref, "uid", w->node_name);
	}
	cJSON_AddStringToObject(root, "reason", ev->reason);
	cJSON_AddStringToObject(root, "action", ev->action);
	text = xstrndup(ev->message, MAX_EVENT_MESSAGE);
	cJSON_AddStringToObject(root, "message", text);
	free(text);
	cJSON_AddStringToObject(root, "type", "Warning");
	src = cJSON_AddObjectToObject(root, "source");
	cJSON_AddStringToObject(src, "component", "kproxy");
	cJSON_AddStringToObject(src, "host", w->node_name);
	cJSON_AddStringToObject(root, "firstTimestamp", stamp);
	cJSON_AddStringToObject(root, "lastTimestamp", stamp);
	cJSON_AddNumberToObject(root, "count", 1);
	cJSON_AddStringToObject(root, "reportingComponent", "kproxy");
	cJSON_AddStringToObject(root, "reportingInstance", w->node_name);
	text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return NULL;
	body = xstrdup(text);
	cJSON_free(text);
	return body;
}

void apiwatch_event_post(struct apiwatch *w, const struct apiwatch_event *ev)
{
	const char *api_version, *kind, *ns = "default";
	struct strbuf url = STRBUF_INIT;
	struct request *req;
	char *body;

	if (!w)
		return;
	if (w->n_events >= MAX_EVENTS_FLIGHT) {
		log_debug(2, "apiwatch: event %s dropped: too many in flight", ev->reason);
		return;
	}
	/* An Event lives in the namespace of what it is about; a Node's go to "default". */
	if (event_kind(ev->about, &api_version, &kind)) {
		if (!ev->namespace || !ev->namespace[0] || !ev->name || !ev->name[0]) {
			log_warn("apiwatch: event %s about a %s without a namespace and name "
				 "not posted",
				 ev->reason, kind);
			return;
		}
		ns = ev->namespace;
	}
	body = event_body(w, ev, ns);
	if (!body)
		return;
	strbuf_adds(&url, w->kc.server);
	strbuf_adds(&url, "/api/v1/namespaces/");
	add_escaped(&url, ns);
	strbuf_adds(&url, "/events");
	req = request_new(w, NULL, REQ_EVENT, strbuf_str(&url));
	strbuf_fini(&url);
	if (!req) {
		free(body);
		return;
	}
	req->post = body;
	req->max_body = MAX_EVENT_BODY;
	curl_easy_setopt(req->easy, CURLOPT_POSTFIELDS, req->post);
	curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(req->post));
	/*
	 * The caller may be inside a libcurl callback (an update from a
	 * watch), where adding a transfer is not allowed: start it from the
	 * loop instead.
	 */
	loop_timer_arm(w->kick_timer, 0);
}

/* ---- completion ---- */

static void request_done(struct request *req, CURLcode code)
{
	struct watcher *wt = req->owner;

	if (req->status == 0)
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &req->status);
	if (wt && wt->req == req)
		wt->req = NULL;
	switch (req->purpose) {
	case REQ_PROBE:
		probe_done(wt, req, code);
		break;
	case REQ_LIST:
		list_done(wt, req, code);
		break;
	case REQ_WATCH:
		watch_done(wt, req, code);
		break;
	case REQ_EVENT:
		event_done(req->w, req, code);
		break;
	}
	request_free(req);
}

static void collect_done(struct apiwatch *w)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(w->multi, &left)) != NULL) {
		struct request *req = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		if (req)
			request_done(req, msg->data.result);
	}
}

/* ---- life cycle ---- */

/*
 * tls-server-name: the server's certificate is checked against that name
 * (and it is sent as SNI) while the connection still goes to the server's
 * address. libcurl checks the URL's host, so the URL names the server name,
 * CURLOPT_CONNECT_TO sends its connections to the real host and port, and
 * each request's Host header names the real host, as client-go's would.
 * (libcurl's proxy variables are matched against the URL's host, so a
 * NO_PROXY entry must name the tls-server-name.) Plain http:// has no TLS.
 */
static int server_name_override(struct apiwatch *w, struct errbuf *err)
{
	CURLU *u;
	char *host = NULL, *port = NULL, *url = NULL, *entry;
	int r = -EINVAL;

	if (strncmp(w->kc.server, "https://", 8) != 0)
		return 0;
	u = curl_url();
	if (!u)
		return errbuf_set(err, "apiwatch: out of memory");
	if (curl_url_set(u, CURLUPART_URL, w->kc.server, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_HOST, w->kc.tls_server_name, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
		errbuf_set(err, "kubeconfig: tls-server-name %s cannot be used with server %s",
			   w->kc.tls_server_name, w->kc.server);
		goto out;
	}
	entry = xasprintf("%s:%s:%s:%s", w->kc.tls_server_name, port, host, port);
	w->connect_to = curl_slist_append(NULL, entry);
	free(entry);
	w->host_header = xasprintf("Host: %s:%s", host, port);
	r = w->connect_to ? kubeconfig_server_set(&w->kc, url, err)
			  : errbuf_set(err, "apiwatch: out of memory");
out:
	curl_free(host);
	curl_free(port);
	curl_free(url);
	curl_url_cleanup(u);
	return r;
}

static int load_config(struct apiwatch *w, const struct apiwatch_config *cfg, struct errbuf *err)
{
	int r;

	if (cfg->kubeconfig)
		r = kubeconfig_load(&w->kc, cfg->kubeconfig, err);
	else if (cfg->master)
		r = 0;
	else
		r = kubeconfig_in_cluster(&w->kc, getenv("KUBERNETES_SERVICE_HOST"),
					  getenv("KUBERNETES_SERVICE_PORT"),
					  cfg->serviceaccount_dir, err);
	if (r < 0)
		return r;
	if (cfg->master) {
		r = kubeconfig_server_set(&w->kc, cfg->master, err);
		if (r < 0)
			return r;
	}
	if (w->kc.tls_server_name) {
		r = server_name_override(w, err);
		if (r < 0)
			return r;
	}
	if (w->kc.token_file) {
		r = kubeconfig_token_read(w->kc.token_file, &w->token, err);
		if (r < 0)
			return -EINVAL;
	} else if (w->kc.token) {
		w->token = xstrdup(w->kc.token);
	}
	return 0;
}

struct apiwatch *apiwatch_new(struct loop *l, const struct apiwatch_config *cfg,
			      const struct apiwatch_ops *ops, void *arg, struct errbuf *err)
{
	struct apiwatch *w;
	size_t i;

	if (!cfg->node_name || !cfg->node_name[0]) {
		errbuf_set(err, "apiwatch: no node name");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errbuf_set(err, "apiwatch: libcurl cannot be initialised");
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	LIST_INIT(&w->requests);
	w->loop = l;
	w->ops = *ops;
	w->arg = arg;
	w->tuning = cfg->tuning;
	w->node_name = xstrdup(cfg->node_name);
	w->node_selector = xasprintf("metadata.name=%s", cfg->node_name);
	seed_random(w);
	if (load_config(w, cfg, err) < 0)
		goto fail;
	w->multi = curl_multi_init();
	w->curl_timer = loop_timer_new(l, curl_timer_fired, w);
	w->token_timer = loop_timer_new(l, token_fired, w);
	w->kick_timer = loop_timer_new(l, kick_fired, w);
	if (!w->multi || !w->curl_timer || !w->token_timer || !w->kick_timer) {
		errbuf_set(err, "apiwatch: cannot set up the HTTP client: %s", strerror(errno));
		goto fail;
	}
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	for (i = 0; i < N_WATCHERS; i++) {
		struct watcher *wt = &w->watchers[i];

		wt->w = w;
		backoff_init(&wt->backoff, w->tuning.backoff_initial_ms, w->tuning.backoff_max_ms,
			     0);
		stream_init(&wt->stream, w->tuning.max_event);
		wt->retry_timer = loop_timer_new(l, retry_fired, wt);
		wt->idle_timer = loop_timer_new(l, idle_fired, wt);
		if (!wt->retry_timer || !wt->idle_timer) {
			errbuf_set(err, "apiwatch: cannot create timers: %s", strerror(errno));
			goto fail;
		}
	}
	w->watchers[WATCHER_SERVICES].desc = &kind_descs[DESC_SERVICES];
	w->watchers[WATCHER_ENDPOINTS].needs_discovery = true;
	w->watchers[WATCHER_NODE].desc = &kind_descs[DESC_NODES];
	return w;
fail:
	apiwatch_free(w);
	return NULL;
}

int apiwatch_start(struct apiwatch *w)
{
	size_t i;

	if (w->started)
		return -EALREADY;
	w->started = true;
	for (i = 0; i < N_WATCHERS; i++) {
		struct watcher *wt = &w->watchers[i];

		schedule(wt, wt->needs_discovery ? NEXT_PROBE : NEXT_LIST, 0);
	}
	if (w->kc.token_file)
		loop_timer_arm(w->token_timer, w->tuning.token_reread_ms ? w->tuning.token_reread_ms
									 : TOKEN_REREAD_MS);
	return 0;
}

bool apiwatch_synced(const struct apiwatch *w)
{
	return w->synced;
}

uint64_t apiwatch_last_contact_ms(const struct apiwatch *w)
{
	return w->last_contact_ms;
}

void apiwatch_free(struct apiwatch *w)
{
	size_t i;

	if (!w)
		return;
	while (!LIST_EMPTY(&w->requests))
		request_free(LIST_FIRST(&w->requests));
	for (i = 0; i < N_WATCHERS; i++) {
		struct watcher *wt = &w->watchers[i];

		loop_timer_free(wt->retry_timer);
		loop_timer_free(wt->idle_timer);
		stream_fini(&wt->stream);
		known_clear(wt);
		free(wt->rv);
		free(wt->list_rv);
		free(wt->continue_token);
	}
	if (w->multi)
		curl_multi_cleanup(w->multi);
	loop_timer_free(w->curl_timer);
	loop_timer_free(w->token_timer);
	loop_timer_free(w->kick_timer);
	kubeconfig_fini(&w->kc);
	curl_slist_free_all(w->connect_to);
	free(w->host_header);
	free(w->token);
	free(w->node_name);
	free(w->node_selector);
	free(w);
	curl_global_cleanup();
}
