// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The model keeps one entry per namespace/name for which a Service, a slice
 * or an Endpoints object is known, in a glibc search tree (tsearch), so that
 * lookups are O(log n) and a sorted walk is free. An entry lives as long as
 * any of the three does: slices may arrive before their Service.
 */
#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "proxy/model.h"
#include "proxy/xalloc.h"

struct model {
	char *node_name;
	void *services; /* tsearch root of struct model_service *, by key */
	size_t n_entries;
	size_t n_specs;
	size_t n_dirty;
	size_t n_deleted;
	size_t n_service_changes;
	size_t n_endpoint_changes;
	unsigned gen;
	unsigned node_gen;
	unsigned long node_changes;
	struct k8s_node *node;
};

static int service_cmp(const void *a, const void *b)
{
	const struct model_service *x = a, *y = b;

	return strcmp(x->key, y->key);
}

struct model *model_new(const char *node_name)
{
	struct model *m = xcalloc(1, sizeof(*m));

	m->node_name = xstrdup(node_name ? node_name : "");
	return m;
}

static void service_free(void *p)
{
	struct model_service *svc = p;
	size_t i;

	k8s_service_free(svc->spec);
	for (i = 0; i < svc->n_slices; i++)
		k8s_slice_free(svc->slices[i]);
	free(svc->slices);
	free(svc->slice_gen);
	k8s_endpoints_free(svc->endpoints);
	free(svc->key);
	free(svc);
}

void model_free(struct model *m)
{
	if (!m)
		return;
	tdestroy(m->services, service_free);
	k8s_node_free(m->node);
	free(m->node_name);
	free(m);
}

const char *model_node_name(const struct model *m)
{
	return m->node_name;
}

const struct k8s_node *model_node(const struct model *m)
{
	return m->node;
}

size_t model_service_count(const struct model *m)
{
	return m->n_specs;
}

static struct model_service *lookup(const struct model *m, const char *ns, const char *name)
{
	struct model_service probe;
	char key[2 * K8S_MAX_NAME + 2];
	void *const *found;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	probe.key = key;
	found = tfind(&probe, &m->services, service_cmp);
	return found ? *(struct model_service *const *)found : NULL;
}

const struct model_service *model_service_lookup(const struct model *m, const char *ns,
						 const char *name)
{
	return lookup(m, ns, name);
}

/* Returns the entry for ns/name, creating an empty one if needed. */
static struct model_service *lookup_or_add(struct model *m, const char *ns, const char *name)
{
	struct model_service *svc = lookup(m, ns, name);

	if (svc)
		return svc;
	svc = xcalloc(1, sizeof(*svc));
	svc->key = xasprintf("%s/%s", ns, name);
	if (!tsearch(svc, &m->services, service_cmp))
		abort();
	m->n_entries++;
	return svc;
}

static void mark_dirty(struct model *m, struct model_service *svc)
{
	if (!svc->dirty)
		m->n_dirty++;
	svc->dirty = true;
}

/* Drops an entry that no longer holds anything. */
static void maybe_remove(struct model *m, struct model_service *svc)
{
	if (svc->spec || svc->n_slices || svc->endpoints)
		return;
	if (svc->dirty)
		m->n_dirty--;
	tdelete(svc, &m->services, service_cmp);
	m->n_entries--;
	service_free(svc);
}

static void service_update(struct model *m, struct k8s_service *spec)
{
	struct model_service *svc = lookup_or_add(m, spec->namespace, spec->name);

	svc->spec_gen = m->gen;
	if (svc->spec && svc->spec->hash && svc->spec->hash == spec->hash) {
		k8s_service_free(spec);
		return;
	}
	if (!svc->spec)
		m->n_specs++;
	k8s_service_free(svc->spec);
	svc->spec = spec;
	mark_dirty(m, svc);
}

static void service_delete(struct model *m, const char *ns, const char *name)
{
	struct model_service *svc = lookup(m, ns, name);

	if (!svc || !svc->spec)
		return;
	k8s_service_free(svc->spec);
	svc->spec = NULL;
	m->n_specs--;
	m->n_deleted++;
	mark_dirty(m, svc);
	maybe_remove(m, svc);
}

static size_t slice_index(const struct model_service *svc, const char *name, bool *found)
{
	size_t lo = 0, hi = svc->n_slices;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(svc->slices[mid]->name, name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int slice_update(struct model *m, struct k8s_slice *slice, struct errbuf *err)
{
	struct model_service *svc = lookup_or_add(m, slice->namespace, slice->service_name);
	bool found;
	size_t i = slice_index(svc, slice->name, &found);

	if (found) {
		svc->slice_gen[i] = m->gen;
		if (svc->slices[i]->hash && svc->slices[i]->hash == slice->hash) {
			k8s_slice_free(slice);
			return 0;
		}
		k8s_slice_free(svc->slices[i]);
		svc->slices[i] = slice;
	} else {
		if (svc->n_slices >= MODEL_MAX_SLICES_PER_SERVICE) {
			errbuf_set(err,
				   "endpointslice %s/%s: service %s has too many slices (max %d)",
				   slice->namespace, slice->name, slice->service_name,
				   MODEL_MAX_SLICES_PER_SERVICE);
			k8s_slice_free(slice);
			maybe_remove(m, svc);
			return -EINVAL;
		}
		svc->slices = xreallocarray(svc->slices, svc->n_slices + 1, sizeof(*svc->slices));
		svc->slice_gen =
			xreallocarray(svc->slice_gen, svc->n_slices + 1, sizeof(*svc->slice_gen));
		memmove(&svc->slices[i + 1], &svc->slices[i],
			(svc->n_slices - i) * sizeof(*svc->slices));
		memmove(&svc->slice_gen[i + 1], &svc->slice_gen[i],
			(svc->n_slices - i) * sizeof(*svc->slice_gen));
		svc->slices[i] = slice;
		svc->slice_gen[i] = m->gen;
		svc->n_slices++;
	}
	mark_dirty(m, svc);
	return 0;
}

/* Removes slice i of svc (and svc itself once it holds nothing). */
static void slice_delete_named(struct model *m, struct model_service *svc, size_t i)
{
	k8s_slice_free(svc->slices[i]);
	memmove(&svc->slices[i], &svc->slices[i + 1],
		(svc->n_slices - i - 1) * sizeof(*svc->slices));
	memmove(&svc->slice_gen[i], &svc->slice_gen[i + 1],
		(svc->n_slices - i - 1) * sizeof(*svc->slice_gen));
	svc->n_slices--;
	mark_dirty(m, svc);
	maybe_remove(m, svc);
}

static void slice_delete(struct model *m, const struct k8s_slice *slice)
{
	struct model_service *svc = lookup(m, slice->namespace, slice->service_name);
	bool found;
	size_t i;

	if (!svc)
		return;
	i = slice_index(svc, slice->name, &found);
	if (!found)
		return;
	slice_delete_named(m, svc, i);
}

static void endpoints_update(struct model *m, struct k8s_endpoints *eps)
{
	struct model_service *svc = lookup_or_add(m, eps->namespace, eps->name);

	svc->endpoints_gen = m->gen;
	if (svc->endpoints && svc->endpoints->hash && svc->endpoints->hash == eps->hash) {
		k8s_endpoints_free(eps);
		return;
	}
	k8s_endpoints_free(svc->endpoints);
	svc->endpoints = eps;
	mark_dirty(m, svc);
}

static void endpoints_delete(struct model *m, const char *ns, const char *name)
{
	struct model_service *svc = lookup(m, ns, name);

	if (!svc || !svc->endpoints)
		return;
	k8s_endpoints_free(svc->endpoints);
	svc->endpoints = NULL;
	mark_dirty(m, svc);
	maybe_remove(m, svc);
}

/*
 * Kubelet rewrites its Node every few seconds (heartbeats, conditions); only
 * the fields kproxy uses count as a change.
 */
static bool node_equal(const struct k8s_node *a, const struct k8s_node *b)
{
	size_t i;

	if (a->n_addrs != b->n_addrs || a->deleting != b->deleting ||
	    a->to_be_deleted != b->to_be_deleted)
		return false;
	if ((a->zone == NULL) != (b->zone == NULL) || (a->zone && strcmp(a->zone, b->zone)))
		return false;
	for (i = 0; i < a->n_addrs; i++)
		if (k8s_addr_cmp(&a->addrs[i], &b->addrs[i]) != 0)
			return false;
	return true;
}

static void count_change(struct model *m, enum k8s_kind kind)
{
	switch (kind) {
	case K8S_KIND_SERVICE:
		m->n_service_changes++;
		break;
	case K8S_KIND_ENDPOINTSLICE:
	case K8S_KIND_ENDPOINTS:
		m->n_endpoint_changes++;
		break;
	case K8S_KIND_NODE:
		break;
	}
}

void model_changes_pending(const struct model *m, size_t *services, size_t *endpoints)
{
	*services = m->n_service_changes;
	*endpoints = m->n_endpoint_changes;
}

int model_object_update(struct model *m, struct k8s_object *obj, struct errbuf *err)
{
	int ret = 0;

	count_change(m, obj->kind);
	switch (obj->kind) {
	case K8S_KIND_SERVICE:
		service_update(m, obj->u.service);
		break;
	case K8S_KIND_ENDPOINTSLICE:
		ret = slice_update(m, obj->u.slice, err);
		break;
	case K8S_KIND_ENDPOINTS:
		endpoints_update(m, obj->u.endpoints);
		break;
	case K8S_KIND_NODE:
		if (strcmp(obj->u.node->name, m->node_name) != 0) {
			k8s_node_free(obj->u.node);
			break;
		}
		m->node_gen = m->gen;
		if (m->node && node_equal(m->node, obj->u.node)) {
			k8s_node_free(obj->u.node);
			break;
		}
		k8s_node_free(m->node);
		m->node = obj->u.node;
		m->node_changes++;
		break;
	}
	memset(&obj->u, 0, sizeof(obj->u));
	return ret;
}

void model_object_delete(struct model *m, const struct k8s_object *obj)
{
	count_change(m, obj->kind);
	switch (obj->kind) {
	case K8S_KIND_SERVICE:
		service_delete(m, obj->u.service->namespace, obj->u.service->name);
		break;
	case K8S_KIND_ENDPOINTSLICE:
		slice_delete(m, obj->u.slice);
		break;
	case K8S_KIND_ENDPOINTS:
		endpoints_delete(m, obj->u.endpoints->namespace, obj->u.endpoints->name);
		break;
	case K8S_KIND_NODE:
		if (m->node && strcmp(obj->u.node->name, m->node->name) == 0) {
			k8s_node_free(m->node);
			m->node = NULL;
		}
		break;
	}
}

struct collect {
	const struct model_service **out;
	size_t n;
	bool only_specs;
	bool clear_dirty;
	bool set_dirty;
};

static void collect_visit(const void *nodep, VISIT which, void *arg)
{
	struct model_service *svc = *(struct model_service *const *)nodep;
	struct collect *c = arg;

	if (which != postorder && which != leaf)
		return;
	if (c->clear_dirty)
		svc->dirty = false;
	if (c->set_dirty)
		svc->dirty = true;
	if (c->out && (!c->only_specs || svc->spec))
		c->out[c->n++] = svc;
}

const struct model_service **model_services_sorted(const struct model *m, size_t *n)
{
	struct collect c = { 0 };

	c.out = xcalloc(m->n_entries + 1, sizeof(*c.out));
	c.only_specs = true;
	twalk_r(m->services, collect_visit, &c);
	*n = c.n;
	return c.out;
}

size_t model_dirty_count(const struct model *m)
{
	return m->n_dirty;
}

size_t model_deleted_count(const struct model *m)
{
	return m->n_deleted;
}

void model_dirty_clear(struct model *m)
{
	struct collect c = { 0 };

	c.clear_dirty = true;
	twalk_r(m->services, collect_visit, &c);
	m->n_dirty = 0;
	m->n_deleted = 0;
	m->n_service_changes = 0;
	m->n_endpoint_changes = 0;
}

void model_dirty_all(struct model *m)
{
	struct collect c = { 0 };

	c.set_dirty = true;
	twalk_r(m->services, collect_visit, &c);
	m->n_dirty = m->n_entries;
}

static int endpoint_cmp(const void *a, const void *b)
{
	const struct model_endpoint *x = a, *y = b;

	return strcmp(x->str, y->str);
}

static void endpoint_format(struct model_endpoint *ep)
{
	char ip[K8S_ADDR_STRLEN];

	k8s_addr_format(&ep->addr, ip);
	if (ep->addr.family == K8S_FAMILY_IPV6)
		snprintf(ep->str, sizeof(ep->str), "[%s]:%u", ip, ep->port);
	else
		snprintf(ep->str, sizeof(ep->str), "%s:%u", ip, ep->port);
}

/* Appends the endpoints of one slice that serve the port (name + protocol). */
static void add_slice_endpoints(const struct model *m, const struct k8s_slice *slice,
				const struct k8s_service_port *port, enum k8s_family family,
				struct model_endpoint **eps, size_t *n, size_t *cap)
{
	enum k8s_address_type want =
		family == K8S_FAMILY_IPV4 ? K8S_ADDRTYPE_IPV4 : K8S_ADDRTYPE_IPV6;
	const struct k8s_slice_port *sp = NULL;
	const char *zone = m->node ? m->node->zone : NULL;
	size_t i, k;

	if (slice->address_type != want)
		return;
	for (i = 0; i < slice->n_ports; i++) {
		if (slice->ports[i].protocol == port->protocol &&
		    strcmp(slice->ports[i].name, port->name) == 0) {
			sp = &slice->ports[i];
			break;
		}
	}
	if (!sp)
		return;
	for (i = 0; i < slice->n_endpoints; i++) {
		const struct k8s_endpoint *e = &slice->endpoints[i];
		struct model_endpoint *ep;

		if (e->addr.family != family)
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*eps = xreallocarray(*eps, *cap, sizeof(**eps));
		}
		ep = &(*eps)[(*n)++];
		memset(ep, 0, sizeof(*ep));
		ep->addr = e->addr;
		ep->port = sp->port;
		ep->local = e->node_name && strcmp(e->node_name, m->node_name) == 0;
		ep->zone_hinted = e->n_zone_hints > 0;
		for (k = 0; k < e->n_zone_hints && zone && !ep->for_this_zone; k++)
			ep->for_this_zone = strcmp(e->zone_hints[k], zone) == 0;
		ep->ready = e->ready;
		ep->serving = e->serving;
		ep->terminating = e->terminating;
		endpoint_format(ep);
	}
}

struct model_endpoint *model_port_endpoints(const struct model *m, const struct model_service *svc,
					    const struct k8s_service_port *port,
					    enum k8s_family family, size_t *n)
{
	struct model_endpoint *eps = NULL;
	size_t cap = 0, i, out;

	*n = 0;
	if (svc->n_slices) {
		for (i = 0; i < svc->n_slices; i++)
			add_slice_endpoints(m, svc->slices[i], port, family, &eps, n, &cap);
	} else if (svc->endpoints) {
		for (i = 0; i < svc->endpoints->n_subsets; i++)
			add_slice_endpoints(m, &svc->endpoints->subsets[i], port, family, &eps, n,
					    &cap);
	}
	if (*n < 2)
		return eps;

	/*
	 * The same endpoint may appear in two slices while it moves between
	 * them. Keep one copy; if the copies disagree on locality, the local
	 * one wins, as in kube-proxy.
	 */
	qsort(eps, *n, sizeof(*eps), endpoint_cmp);
	for (i = 1, out = 0; i < *n; i++) {
		if (strcmp(eps[i].str, eps[out].str) == 0) {
			if (eps[i].local && !eps[out].local)
				eps[out] = eps[i];
			continue;
		}
		eps[++out] = eps[i];
	}
	*n = out + 1;
	return eps;
}

static const char *const type_names[] = {
	[K8S_SVC_CLUSTER_IP] = "ClusterIP",
	[K8S_SVC_NODE_PORT] = "NodePort",
	[K8S_SVC_LOAD_BALANCER] = "LoadBalancer",
	[K8S_SVC_EXTERNAL_NAME] = "ExternalName",
};

static void add_addrs(cJSON *obj, const char *key, const struct k8s_addr *addrs, size_t n)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, key);
	char buf[K8S_ADDR_STRLEN];
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(k8s_addr_format(&addrs[i], buf)));
}

static cJSON *port_json(const struct model *m, const struct model_service *svc,
			const struct k8s_service_port *p)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	struct model_endpoint *eps;
	size_t n, i;

	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "protocol", k8s_protocol_name(p->protocol));
	cJSON_AddNumberToObject(o, "port", p->port);
	if (p->node_port)
		cJSON_AddNumberToObject(o, "nodePort", p->node_port);
	arr = cJSON_AddArrayToObject(o, "endpoints");
	eps = model_port_endpoints(m, svc, p, K8S_FAMILY_IPV4, &n);
	for (i = 0; i < n; i++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "endpoint", eps[i].str);
		cJSON_AddBoolToObject(e, "local", eps[i].local);
		cJSON_AddBoolToObject(e, "ready", eps[i].ready);
		cJSON_AddBoolToObject(e, "serving", eps[i].serving);
		cJSON_AddBoolToObject(e, "terminating", eps[i].terminating);
		if (eps[i].zone_hinted)
			cJSON_AddBoolToObject(e, "hintedForThisZone", eps[i].for_this_zone);
		cJSON_AddItemToArray(arr, e);
	}
	free(eps);
	return o;
}

static cJSON *service_json(const struct model *m, const struct model_service *svc)
{
	const struct k8s_service *spec = svc->spec;
	cJSON *o = cJSON_CreateObject(), *ports;
	size_t i;

	cJSON_AddStringToObject(o, "namespace", spec->namespace);
	cJSON_AddStringToObject(o, "name", spec->name);
	cJSON_AddStringToObject(o, "type", type_names[spec->type]);
	add_addrs(o, "clusterIPs", spec->cluster_ips, spec->n_cluster_ips);
	add_addrs(o, "externalIPs", spec->external_ips, spec->n_external_ips);
	cJSON_AddStringToObject(o, "externalTrafficPolicy",
				spec->external_policy == K8S_POLICY_LOCAL ? "Local" : "Cluster");
	cJSON_AddStringToObject(o, "internalTrafficPolicy",
				spec->internal_policy == K8S_POLICY_LOCAL ? "Local" : "Cluster");
	if (spec->health_check_node_port)
		cJSON_AddNumberToObject(o, "healthCheckNodePort", spec->health_check_node_port);
	cJSON_AddBoolToObject(o, "headless", spec->headless);
	cJSON_AddBoolToObject(o, "otherProxy", spec->proxy_name_label);
	cJSON_AddBoolToObject(o, "dirty", svc->dirty);
	ports = cJSON_AddArrayToObject(o, "ports");
	for (i = 0; i < spec->n_ports; i++)
		cJSON_AddItemToArray(ports, port_json(m, svc, &spec->ports[i]));
	return o;
}

void model_format_json(const struct model *m, struct strbuf *out)
{
	cJSON *root = cJSON_CreateObject(), *arr;
	const struct model_service **svcs;
	char *text;
	size_t n, i;

	cJSON_AddStringToObject(root, "node", m->node_name);
	if (m->node) {
		add_addrs(root, "nodeAddresses", m->node->addrs, m->node->n_addrs);
		if (m->node->zone)
			cJSON_AddStringToObject(root, "nodeZone", m->node->zone);
	}
	arr = cJSON_AddArrayToObject(root, "services");
	svcs = model_services_sorted(m, &n);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, service_json(m, svcs[i]));
	free(svcs);
	text = cJSON_Print(root);
	if (text) {
		strbuf_adds(out, text);
		strbuf_addc(out, '\n');
		cJSON_free(text);
	}
	cJSON_Delete(root);
}

void model_reconcile_begin(struct model *m)
{
	m->gen++;
}

struct stale {
	struct model_service **svcs;
	size_t n;
	unsigned gen;
};

static void stale_visit(const void *nodep, VISIT which, void *arg)
{
	struct model_service *svc = *(struct model_service *const *)nodep;
	struct stale *st = arg;
	bool old = false;
	size_t i;

	if (which != postorder && which != leaf)
		return;
	old |= svc->spec && svc->spec_gen != st->gen;
	old |= svc->endpoints && svc->endpoints_gen != st->gen;
	for (i = 0; i < svc->n_slices; i++)
		old |= svc->slice_gen[i] != st->gen;
	if (old)
		st->svcs[st->n++] = svc;
}

size_t model_reconcile_end(struct model *m)
{
	struct stale st = { 0 };
	size_t i, k, removed = 0;

	st.gen = m->gen;
	st.svcs = xcalloc(m->n_entries + 1, sizeof(*st.svcs));
	twalk_r(m->services, stale_visit, &st);
	/* Deleting while walking the tree is not allowed: collect first. */
	for (i = 0; i < st.n; i++) {
		struct model_service *svc = st.svcs[i];
		char ns[K8S_MAX_NAME + 1], name[K8S_MAX_NAME + 1];
		const char *slash = strchr(svc->key, '/');

		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - svc->key), svc->key);
		snprintf(name, sizeof(name), "%s", slash + 1);
		/*
		 * From the last slice down: when the last one goes and nothing
		 * else is left, svc is freed and the loop has already ended.
		 */
		for (k = svc->n_slices; k-- > 0;) {
			if (svc->slice_gen[k] != st.gen) {
				m->n_endpoint_changes++;
				slice_delete_named(m, svc, k);
				removed++;
			}
		}
		svc = lookup(m, ns, name);
		if (svc && svc->endpoints && svc->endpoints_gen != st.gen) {
			m->n_endpoint_changes++;
			endpoints_delete(m, ns, name);
			removed++;
		}
		svc = lookup(m, ns, name);
		if (svc && svc->spec && svc->spec_gen != st.gen) {
			m->n_service_changes++;
			service_delete(m, ns, name);
			removed++;
		}
	}
	free(st.svcs);
	if (m->node && m->node_gen != m->gen) {
		k8s_node_free(m->node);
		m->node = NULL;
		removed++;
	}
	return removed;
}

unsigned long model_node_changes(const struct model *m)
{
	return m->node_changes;
}
