// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * decode - JSON from the API server into validated k8s values.
 *
 * Every reader below takes the JSON it reads (borrowed) and either fills a
 * value or fails with a message "<kind> <namespace>/<name>: <field>: <problem>".
 * The field path is kept in the decode context as the reader descends, so a
 * problem deep in an array names its exact place ("spec.ports[1].port").
 *
 * A JSON null is read as an absent field, as the API server's own decoder
 * does; a value of any other wrong type is an error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiwatch/decode.h"
#include "proxy/xalloc.h"

#define QUOTE_MAX	 64    /* bytes of an input string echoed in a message */
#define RV_MAX		 64    /* bytes of a resourceVersion */
#define PATH_SIZE	 256   /* a field path, "spec.ports[1].port" */
#define KEY_SIZE	 64    /* an indexed field, "loadBalancerSourceRanges[N]" */
#define INT_LIMIT	 1e15  /* beyond this a number is printed with %g */
#define AFFINITY_DEFAULT 10800 /* sessionAffinityConfig.clientIP.timeoutSeconds */
#define AFFINITY_MAX	 86400

/**
 * struct dctx - where the decoder is, for its messages.
 * @what: the kind word ("service"), or "object"/"list" before the kind is known.
 * @ident: "namespace/name" as far as known ("?" for an unknown part); empty
 *	when there is no object yet.
 * @path: the field being read, e.g. "spec.ports[1]".
 */
struct dctx {
	struct errbuf *err;
	const char *what;
	char ident[2 * K8S_MAX_NAME + 2];
	char path[PATH_SIZE];
	size_t path_len;
};

struct enum_name {
	const char *name;
	int value;
};

/* The recognised values of each enum-like string field; a NULL name ends a table. */
static const struct enum_name protocols[] = {
	{ "TCP", K8S_PROTO_TCP },
	{ "UDP", K8S_PROTO_UDP },
	{ "SCTP", K8S_PROTO_SCTP },
	{ NULL, 0 },
};

static const struct enum_name service_types[] = {
	{ "ClusterIP", K8S_SVC_CLUSTER_IP },
	{ "NodePort", K8S_SVC_NODE_PORT },
	{ "LoadBalancer", K8S_SVC_LOAD_BALANCER },
	{ "ExternalName", K8S_SVC_EXTERNAL_NAME },
	{ NULL, 0 },
};

/* An empty policy is what an old server leaves in an unset field: Cluster. */
static const struct enum_name traffic_policies[] = {
	{ "Cluster", K8S_POLICY_CLUSTER },
	{ "Local", K8S_POLICY_LOCAL },
	{ "", K8S_POLICY_CLUSTER },
	{ NULL, 0 },
};

static const struct enum_name affinities[] = {
	{ "None", K8S_AFFINITY_NONE },
	{ "ClientIP", K8S_AFFINITY_CLIENT_IP },
	{ NULL, 0 },
};

static const struct enum_name ip_modes[] = {
	{ "VIP", K8S_IPMODE_VIP },
	{ "Proxy", K8S_IPMODE_PROXY },
	{ NULL, 0 },
};

static const struct enum_name address_types[] = {
	{ "IPv4", K8S_ADDRTYPE_IPV4 },
	{ "IPv6", K8S_ADDRTYPE_IPV6 },
	{ "FQDN", K8S_ADDRTYPE_FQDN },
	{ NULL, 0 },
};

static const struct enum_name legacy_traffic[] = {
	{ "OnlyLocal", K8S_LEGACY_ONLY_LOCAL },
	{ "Global", K8S_LEGACY_GLOBAL },
	{ NULL, 0 },
};

/*
 * The 1.4 alpha annotations were checked before the 1.5 beta ones; a value
 * that did not parse was logged and the next annotation was tried.
 */
static const char *const legacy_traffic_keys[] = {
	"service.alpha.kubernetes.io/external-traffic",
	"service.beta.kubernetes.io/external-traffic",
	NULL,
};

static const char *const legacy_hc_keys[] = {
	"service.alpha.kubernetes.io/healthcheck-nodeport",
	"service.beta.kubernetes.io/healthcheck-nodeport",
	NULL,
};

#define LABEL_PROXY_NAME    "service.kubernetes.io/service-proxy-name"
#define LABEL_SERVICE_NAME  "kubernetes.io/service-name"
#define LABEL_ZONE	    "topology.kubernetes.io/zone"
#define TOPOLOGY_HOSTNAME   "kubernetes.io/hostname"
#define TAINT_TO_BE_DELETED "ToBeDeletedByClusterAutoscaler"

/**
 * struct kind_info - how each kind appears in JSON.
 * @versions: the apiVersion values we understand (NULL-terminated).
 */
static const struct kind_info {
	const char *name;
	const char *list_name;
	enum k8s_kind kind;
	const char *versions[3];
} kinds[] = {
	{ "Service", "ServiceList", K8S_KIND_SERVICE, { "v1", NULL } },
	{ "EndpointSlice",
	  "EndpointSliceList",
	  K8S_KIND_ENDPOINTSLICE,
	  { "discovery.k8s.io/v1", "discovery.k8s.io/v1beta1", NULL } },
	{ "Endpoints", "EndpointsList", K8S_KIND_ENDPOINTS, { "v1", NULL } },
	{ "Node", "NodeList", K8S_KIND_NODE, { "v1", NULL } },
};

#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static const struct kind_info *kind_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_KINDS; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

static const struct kind_info *kind_by_list_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_KINDS; i++)
		if (strcmp(kinds[i].list_name, name) == 0)
			return &kinds[i];
	return NULL;
}

static const struct kind_info *kind_by_kind(enum k8s_kind kind)
{
	size_t i;

	for (i = 0; i < N_KINDS; i++)
		if (kinds[i].kind == kind)
			return &kinds[i];
	return NULL;
}

static void ctx_init(struct dctx *c, struct errbuf *err, const char *what, const char *ident)
{
	c->err = err;
	c->what = what;
	snprintf(c->ident, sizeof(c->ident), "%s", ident);
	c->path[0] = '\0';
	c->path_len = 0;
}

static void path_add(struct dctx *c, int n)
{
	if (n > 0)
		c->path_len += (size_t)n;
	if (c->path_len >= sizeof(c->path))
		c->path_len = sizeof(c->path) - 1;
}

/* Appends ".key" (or "[key]" when key starts with '['); returns the mark to pop to. */
static size_t path_push(struct dctx *c, const char *key)
{
	size_t mark = c->path_len;
	const char *dot = c->path_len && key[0] != '[' ? "." : "";

	path_add(c,
		 snprintf(c->path + c->path_len, sizeof(c->path) - c->path_len, "%s%s", dot, key));
	return mark;
}

static size_t path_index(struct dctx *c, size_t i)
{
	size_t mark = c->path_len;

	path_add(c, snprintf(c->path + c->path_len, sizeof(c->path) - c->path_len, "[%zu]", i));
	return mark;
}

static void path_pop(struct dctx *c, size_t mark)
{
	c->path_len = mark;
	c->path[mark] = '\0';
}

/*
 * Copies at most QUOTE_MAX bytes of a hostile string for a message, with
 * every byte that is not printable ASCII (and the quote and backslash)
 * replaced by '?', so a message stays on one line and quotes cleanly.
 */
static const char *quote(const char *s, char *buf)
{
	size_t i;

	for (i = 0; i < QUOTE_MAX && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[i] = ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' ? '?' : (char)ch;
	}
	buf[i] = '\0';
	return buf;
}

/* Fails at field key (NULL: at the current path); returns -EINVAL. */
static int __attribute__((format(printf, 3, 4)))
fail(struct dctx *c, const char *key, const char *fmt, ...)
{
	char msg[ERRBUF_SIZE];
	size_t mark = c->path_len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key)
		path_push(c, key);
	errbuf_set(c->err, "%s%s%s: %s%s%s", c->what, c->ident[0] ? " " : "", c->ident, c->path,
		   c->path_len ? ": " : "", msg);
	path_pop(c, mark);
	return -EINVAL;
}

/* Fails with "\"<value>\" <problem>". */
static int __attribute__((format(printf, 4, 5)))
fail_value(struct dctx *c, const char *key, const char *value, const char *fmt, ...)
{
	char problem[ERRBUF_SIZE];
	char q[QUOTE_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	return fail(c, key, "\"%s\" %s", quote(value, q), problem);
}

/* Looks key up in obj (which may be NULL); a JSON null reads as absent. */
static const cJSON *field(const cJSON *obj, const char *key)
{
	const cJSON *v;

	if (!obj)
		return NULL;
	v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNull(v) ? NULL : v;
}

/* The first element of an array (NULL when absent), for walking it with ->next. */
static const cJSON *first_item(const cJSON *array)
{
	return array ? array->child : NULL;
}

/* Sets *out to the object at key, or NULL when absent. */
static int get_object(struct dctx *c, const cJSON *obj, const char *key, const cJSON **out)
{
	const cJSON *v = field(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return fail(c, key, "not an object");
	*out = v;
	return 0;
}

/* Sets *out to the array at key (NULL when absent) and *n to its size, at most max. */
static int get_array(struct dctx *c, const cJSON *obj, const char *key, size_t max,
		     const cJSON **out, size_t *n)
{
	const cJSON *v = field(obj, key);

	*out = NULL;
	*n = 0;
	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return fail(c, key, "not an array");
	*n = (size_t)cJSON_GetArraySize(v);
	if (*n > max)
		return fail(c, key, "too many entries (max %zu)", max);
	*out = v;
	return 0;
}

static int as_string(struct dctx *c, const cJSON *v, const char *key, size_t max, const char **out)
{
	*out = NULL;
	if (!cJSON_IsString(v) || !v->valuestring)
		return fail(c, key, "not a string");
	if (strlen(v->valuestring) > max)
		return fail(c, key, "too long (max %zu)", max);
	*out = v->valuestring;
	return 0;
}

/* Sets *out to the string at key (borrowed), or NULL when absent. */
static int get_string(struct dctx *c, const cJSON *obj, const char *key, size_t max,
		      const char **out)
{
	const cJSON *v = field(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	return as_string(c, v, key, max, out);
}

static int get_required_string(struct dctx *c, const cJSON *obj, const char *key, size_t max,
			       const char **out)
{
	int r = get_string(c, obj, key, max, out);

	if (r == 0 && !*out)
		return fail(c, key, "missing");
	return r;
}

static int get_bool(struct dctx *c, const cJSON *obj, const char *key, bool def, bool *out)
{
	const cJSON *v = field(obj, key);

	*out = def;
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return fail(c, key, "not a boolean");
	*out = cJSON_IsTrue(v);
	return 0;
}

static void format_number(double d, char *buf, size_t size)
{
	if (d >= -INT_LIMIT && d <= INT_LIMIT && d == (double)(long long)d)
		snprintf(buf, size, "%lld", (long long)d);
	else
		snprintf(buf, size, "%g", d);
}

/* Reads an integer in [lo, hi]: 1 when present, 0 when absent (*out untouched). */
static int get_int(struct dctx *c, const cJSON *obj, const char *key, long lo, long hi, long *out)
{
	const cJSON *v = field(obj, key);
	char num[64];
	double d;

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v))
		return fail(c, key, "not a number");
	d = v->valuedouble;
	format_number(d, num, sizeof(num));
	if (d >= -INT_LIMIT && d <= INT_LIMIT && d != (double)(long long)d)
		return fail(c, key, "%s is not an integer", num);
	if (!(d >= (double)lo && d <= (double)hi))
		return fail(c, key, "%s out of range", num);
	*out = (long)d;
	return 1;
}

static int get_enum(struct dctx *c, const cJSON *obj, const char *key,
		    const struct enum_name *table, const char *what, int def, int *out)
{
	const char *s;
	int r;

	*out = def;
	r = get_string(c, obj, key, K8S_MAX_NAME, &s);
	if (r < 0 || !s)
		return r;
	for (; table->name; table++) {
		if (strcmp(table->name, s) == 0) {
			*out = table->value;
			return 0;
		}
	}
	return fail_value(c, key, s, "is not a valid %s", what);
}

static int check_label(struct dctx *c, const char *key, const char *s)
{
	if (!k8s_is_dns1123_label(s))
		return fail_value(c, key, s, "is not a DNS-1123 label");
	return 0;
}

static int check_subdomain(struct dctx *c, const char *key, const char *s)
{
	if (!k8s_is_dns1123_subdomain(s))
		return fail_value(c, key, s, "is not a DNS-1123 subdomain");
	return 0;
}

static const char *family_name(enum k8s_family family)
{
	switch (family) {
	case K8S_FAMILY_IPV4:
		return "IPv4";
	case K8S_FAMILY_IPV6:
		return "IPv6";
	}
	return "?";
}

/**
 * enum addr_use - what an address is for, which decides the ones refused.
 * @ADDR_SERVICE: a cluster, external or load-balancer IP, or an endpoint:
 *	kproxy matches it as a destination or DNATs to it.
 * @ADDR_NODE: one of the Node's own addresses.
 */
enum addr_use {
	ADDR_SERVICE,
	ADDR_NODE,
};

/*
 * Returns why an address that parsed cannot be used, or NULL. No packet is
 * ever sent to the unspecified, broadcast or a multicast address, so none of
 * them is a Service, an endpoint or a node. The API server refuses loopback
 * and link-local endpoints and external IPs; kproxy refuses them for every
 * Service address too, since a rule for 127.0.0.1 or 169.254.169.254 would
 * capture the node's own traffic or its cloud's metadata service. An
 * IPv4-mapped IPv6 address is refused because the API server reads it as
 * IPv4 and inet_pton as IPv6: the two would disagree on its family.
 */
static const char *addr_unusable(const struct k8s_addr *a, enum addr_use use)
{
	static const uint8_t zero[16], mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *b = a->bytes;
	bool service = use == ADDR_SERVICE;

	switch (a->family) {
	case K8S_FAMILY_IPV4:
		if (memcmp(b, zero, 4) == 0)
			return "is the unspecified address";
		if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
			return "is the broadcast address";
		if ((b[0] & 0xf0) == 224)
			return "is a multicast address";
		if (service && b[0] == 127)
			return "is a loopback address";
		if (service && b[0] == 169 && b[1] == 254)
			return "is a link-local address";
		break;
	case K8S_FAMILY_IPV6:
		if (memcmp(b, zero, 16) == 0)
			return "is the unspecified address";
		if (memcmp(b, mapped, sizeof(mapped)) == 0)
			return "is an IPv4-mapped IPv6 address";
		if (b[0] == 0xff)
			return "is a multicast address";
		if (service && memcmp(b, zero, 15) == 0 && b[15] == 1)
			return "is a loopback address";
		if (service && b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
			return "is a link-local address";
		break;
	}
	return NULL;
}

/*
 * kube-proxy reads Service addresses and loadBalancerSourceRanges with
 * k8s.io/utils/net's ParseIPSloppy/ParseCIDRSloppy, Go 1.16's parsers, which
 * take decimal numbers with leading zeros in an IPv4 address and in a prefix
 * length: "010.001.002.003" is 10.1.2.3 and "203.0.113.000/025" is
 * 203.0.113.0/25 (never octal). API servers accept such values for
 * compatibility, so objects may carry them. Writes s into out (K8S_MAX_NAME + 1
 * bytes, s is at most K8S_MAX_NAME) with such zeros dropped from a value
 * without a ':' (IPv6 keeps its hex groups as they are).
 */
static void ipv4_unzero(const char *s, char *out)
{
	bool at_number = true;

	if (strchr(s, ':')) {
		snprintf(out, K8S_MAX_NAME + 1, "%s", s);
		return;
	}
	for (; *s; s++) {
		bool digit = *s >= '0' && *s <= '9';

		if (at_number && *s == '0' && s[1] >= '0' && s[1] <= '9')
			continue;
		at_number = !digit;
		*out++ = *s;
	}
	*out = '\0';
}

/* s is at most K8S_MAX_NAME bytes; IPv4 leading zeros are read as ipv4_unzero() says. */
static int check_ip(struct dctx *c, const char *key, const char *s, enum addr_use use,
		    struct k8s_addr *out)
{
	char unzeroed[K8S_MAX_NAME + 1];
	const char *why;

	ipv4_unzero(s, unzeroed);
	if (!k8s_addr_parse(unzeroed, out))
		return fail_value(c, key, s, "is not a valid IP address");
	why = addr_unusable(out, use);
	if (why)
		return fail_value(c, key, s, "%s", why);
	return 0;
}

/*
 * Reads map[name] from a labels or annotations map (may be NULL) whose path
 * is map_path; the value must be a string of at most max bytes. *out is NULL
 * when absent. Only the keys asked for are looked at: other keys cost nothing.
 */
static int get_map_string(struct dctx *c, const cJSON *map, const char *map_path, const char *name,
			  size_t max, const char **out)
{
	const cJSON *v = field(map, name);
	char key[K8S_MAX_NAME + 3];
	size_t mark;
	int r;

	*out = NULL;
	if (!v)
		return 0;
	snprintf(key, sizeof(key), "[%s]", name);
	mark = path_push(c, map_path);
	r = as_string(c, v, key, max, out);
	path_pop(c, mark);
	return r;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Like dup_or_null(), but an empty string (an unset zone) is NULL too. */
static char *dup_nonempty(const char *s)
{
	return s && s[0] ? xstrdup(s) : NULL;
}

/**
 * struct meta - what every object's metadata gives (borrowed from the JSON).
 * @obj: the metadata object itself, NULL when absent.
 */
struct meta {
	const cJSON *obj;
	const char *namespace;
	const char *name;
	const char *resource_version;
	const cJSON *labels;
	const cJSON *annotations;
};

enum name_rule {
	NAME_LABEL,
	NAME_SUBDOMAIN,
};

static int get_name(struct dctx *c, const cJSON *obj, const char *key, enum name_rule rule,
		    const char **out)
{
	int r = get_required_string(c, obj, key, K8S_MAX_NAME, out);

	if (r < 0)
		return r;
	switch (rule) {
	case NAME_LABEL:
		return check_label(c, key, *out);
	case NAME_SUBDOMAIN:
		return check_subdomain(c, key, *out);
	}
	return 0;
}

/*
 * Reads metadata and fills in c->ident as the namespace and name become known,
 * so that every later message names the object.
 */
static int decode_meta(struct dctx *c, const cJSON *json, bool namespaced, enum name_rule rule,
		       struct meta *m)
{
	size_t mark;
	int r;

	memset(m, 0, sizeof(*m));
	r = get_object(c, json, "metadata", &m->obj);
	if (r < 0)
		return r;
	mark = path_push(c, "metadata");
	if (namespaced) {
		r = get_name(c, m->obj, "namespace", NAME_LABEL, &m->namespace);
		if (r < 0)
			goto out;
		snprintf(c->ident, sizeof(c->ident), "%s/?", m->namespace);
	}
	r = get_name(c, m->obj, "name", rule, &m->name);
	if (r < 0)
		goto out;
	if (namespaced)
		snprintf(c->ident, sizeof(c->ident), "%s/%s", m->namespace, m->name);
	else
		snprintf(c->ident, sizeof(c->ident), "%s", m->name);
	r = get_string(c, m->obj, "resourceVersion", RV_MAX, &m->resource_version);
	if (r < 0)
		goto out;
	r = get_object(c, m->obj, "labels", &m->labels);
	if (r < 0)
		goto out;
	r = get_object(c, m->obj, "annotations", &m->annotations);
out:
	path_pop(c, mark);
	return r;
}

/* Checks kind and apiVersion when the object carries them (list items may not). */
static int check_type_meta(struct dctx *c, const cJSON *json, enum k8s_kind kind)
{
	const struct kind_info *info = kind_by_kind(kind);
	const char *s;
	size_t i;
	int r;

	r = get_string(c, json, "kind", K8S_MAX_NAME, &s);
	if (r < 0)
		return r;
	if (s && info && strcmp(s, info->name) != 0)
		return fail_value(c, "kind", s, "is not %s", info->name);
	r = get_string(c, json, "apiVersion", K8S_MAX_NAME, &s);
	if (r < 0 || !s || !info)
		return r;
	for (i = 0; info->versions[i]; i++)
		if (strcmp(s, info->versions[i]) == 0)
			return 0;
	return fail_value(c, "apiVersion", s, "is not a supported version");
}

/*
 * Reads a port entry's name, protocol and port. Returns 1 when read, 0 when
 * the port is absent and skip_portless is set (the entry is to be skipped).
 */
static int decode_port(struct dctx *c, const cJSON *item, bool skip_portless, const char **name,
		       enum k8s_protocol *proto, uint16_t *port)
{
	long v = 0;
	int r, e;

	if (!cJSON_IsObject(item))
		return fail(c, NULL, "not an object");
	if (skip_portless && !field(item, "port"))
		return 0;
	r = get_string(c, item, "name", K8S_MAX_NAME, name);
	if (r < 0)
		return r;
	if (!*name)
		*name = "";
	if (**name && check_label(c, "name", *name) < 0)
		return -EINVAL;
	r = get_enum(c, item, "protocol", protocols, "protocol", K8S_PROTO_TCP, &e);
	if (r < 0)
		return r;
	*proto = (enum k8s_protocol)e;
	r = get_int(c, item, "port", 1, 65535, &v);
	if (r < 0)
		return r;
	if (r == 0)
		return fail(c, "port", "missing");
	*port = (uint16_t)v;
	return 1;
}

/* ---- Service ---- */

static int service_meta(struct dctx *c, const struct meta *m, struct k8s_service *svc)
{
	const char *s;
	size_t i;
	long port;
	int r;

	r = get_map_string(c, m->labels, "metadata.labels", LABEL_PROXY_NAME, SIZE_MAX, &s);
	if (r < 0)
		return r;
	svc->proxy_name_label = s != NULL;

	for (i = 0; legacy_traffic_keys[i]; i++) {
		const struct enum_name *e;

		r = get_map_string(c, m->annotations, "metadata.annotations",
				   legacy_traffic_keys[i], SIZE_MAX, &s);
		if (r < 0)
			return r;
		for (e = legacy_traffic; s && e->name; e++)
			if (strcmp(e->name, s) == 0)
				break;
		if (s && e->name) {
			svc->legacy_traffic = (enum k8s_legacy_traffic)e->value;
			break;
		}
		/* Kept for the rule generator's warning (when the annotation counts). */
		if (s && !svc->legacy_traffic_bad) {
			struct errbuf_echo echo;

			svc->legacy_traffic_bad =
				xstrdup(errbuf_echo(&echo, s, strlen(s), QUOTE_MAX));
			svc->legacy_traffic_bad_key = legacy_traffic_keys[i];
		}
	}

	for (i = 0; legacy_hc_keys[i]; i++) {
		char *end;

		r = get_map_string(c, m->annotations, "metadata.annotations", legacy_hc_keys[i],
				   SIZE_MAX, &s);
		if (r < 0)
			return r;
		if (!s || s[0] < '0' || s[0] > '9' || strlen(s) > 5)
			continue;
		port = strtol(s, &end, 10);
		if (*end == '\0' && port >= 1 && port <= 65535) {
			svc->legacy_hc_node_port = (uint16_t)port;
			break;
		}
	}
	return 0;
}

/*
 * spec.clusterIP and spec.clusterIPs. The server keeps clusterIP equal to
 * clusterIPs[0]; "None" marks a headless Service, and so does an empty
 * clusterIP on any type but ExternalName (which never has one).
 */
static int service_cluster_ips(struct dctx *c, const cJSON *spec, struct k8s_service *svc)
{
	const char *ip, *list[2], *key;
	const cJSON *ips, *item;
	char ikey[KEY_SIZE];
	size_t n = 0, i = 0;
	int r;

	r = get_string(c, spec, "clusterIP", K8S_MAX_NAME, &ip);
	if (r < 0)
		return r;
	if (ip && !ip[0])
		ip = NULL;
	if (ip && strcmp(ip, "None") != 0 &&
	    check_ip(c, "clusterIP", ip, ADDR_SERVICE, &svc->cluster_ips[0]) < 0)
		return -EINVAL;
	r = get_array(c, spec, "clusterIPs", 2, &ips, &n);
	if (r < 0)
		return r;
	for (item = first_item(ips); item; item = item->next) {
		snprintf(ikey, sizeof(ikey), "clusterIPs[%zu]", i);
		r = as_string(c, item, ikey, K8S_MAX_NAME, &list[i]);
		if (r < 0)
			return r;
		i++;
	}
	if (n > 0 && ip && strcmp(list[0], ip) != 0)
		return fail_value(c, "clusterIPs[0]", list[0], "does not match spec.clusterIP");
	if (n == 0 && ip)
		list[n++] = ip;
	if (n == 0) {
		svc->headless = svc->type != K8S_SVC_EXTERNAL_NAME;
		return 0;
	}
	if (strcmp(list[0], "None") == 0) {
		if (n > 1)
			return fail_value(c, "clusterIPs[1]", list[1], "follows \"None\"");
		svc->headless = true;
		return 0;
	}
	for (i = 0; i < n; i++) {
		snprintf(ikey, sizeof(ikey), "clusterIPs[%zu]", i);
		key = ips ? ikey : "clusterIP";
		if (check_ip(c, key, list[i], ADDR_SERVICE, &svc->cluster_ips[i]) < 0)
			return -EINVAL;
	}
	if (n == 2 && svc->cluster_ips[0].family == svc->cluster_ips[1].family)
		return fail_value(c, "clusterIPs[1]", list[1],
				  "is of the same family as spec.clusterIPs[0]");
	svc->n_cluster_ips = n;
	return 0;
}

/*
 * A Service's ports are told apart by name (each port's chains are named
 * after it, and a slice's ports are matched to it by name), so a Service of
 * more than one port names each, and no name, port/protocol pair or node
 * port/protocol pair comes twice: the API server refuses such a Service, and
 * kproxy would write the same chain twice. Checks p (at the current path,
 * with the given name) against the ports of svc before it, of n in all.
 */
static int service_port_unique(struct dctx *c, const struct k8s_service *svc, size_t n,
			       const char *name, const struct k8s_service_port *p)
{
	const struct k8s_service_port *q;
	size_t j;

	if (n > 1 && !name[0])
		return fail(c, "name", "missing (required when there is more than one port)");
	for (j = 0; j < svc->n_ports; j++) {
		q = &svc->ports[j];
		if (strcmp(q->name, name) == 0)
			return fail_value(c, "name", name, "is already used by ports[%zu]", j);
		if (q->port == p->port && q->protocol == p->protocol)
			return fail(c, "port", "%u/%s is already used by ports[%zu]",
				    (unsigned)p->port, k8s_protocol_name(p->protocol), j);
		if (p->node_port && q->node_port == p->node_port && q->protocol == p->protocol)
			return fail(c, "nodePort", "%u/%s is already used by ports[%zu]",
				    (unsigned)p->node_port, k8s_protocol_name(p->protocol), j);
	}
	return 0;
}

static int service_ports(struct dctx *c, const cJSON *spec, struct k8s_service *svc)
{
	const cJSON *ports, *item;
	size_t n, i = 0, mark;
	int r;

	r = get_array(c, spec, "ports", K8S_MAX_PORTS, &ports, &n);
	if (r < 0 || n == 0)
		return r;
	svc->ports = xcalloc(n, sizeof(*svc->ports));
	mark = path_push(c, "ports");
	for (item = first_item(ports); item; item = item->next) {
		struct k8s_service_port p = { 0 };
		size_t imark = path_index(c, i++);
		const char *name;
		long node_port = 0;

		r = decode_port(c, item, false, &name, &p.protocol, &p.port);
		if (r < 0)
			break;
		r = get_int(c, item, "nodePort", 0, 65535, &node_port);
		if (r < 0)
			break;
		p.node_port = (uint16_t)node_port;
		r = service_port_unique(c, svc, n, name, &p);
		if (r < 0)
			break;
		p.name = xstrdup(name);
		svc->ports[svc->n_ports++] = p;
		path_pop(c, imark);
	}
	path_pop(c, mark);
	return r;
}

static int service_external_ips(struct dctx *c, const cJSON *spec, struct k8s_service *svc)
{
	const cJSON *ips, *item;
	char key[KEY_SIZE];
	const char *s;
	size_t n;
	int r;

	r = get_array(c, spec, "externalIPs", K8S_MAX_SERVICE_IPS, &ips, &n);
	if (r < 0 || n == 0)
		return r;
	svc->external_ips = xcalloc(n, sizeof(*svc->external_ips));
	for (item = first_item(ips); item; item = item->next) {
		snprintf(key, sizeof(key), "externalIPs[%zu]", svc->n_external_ips);
		r = as_string(c, item, key, K8S_MAX_NAME, &s);
		if (r < 0)
			return r;
		if (check_ip(c, key, s, ADDR_SERVICE, &svc->external_ips[svc->n_external_ips]) < 0)
			return -EINVAL;
		svc->n_external_ips++;
	}
	return 0;
}

/*
 * loadBalancerSourceRanges entries may carry blanks and leading zeros, which
 * the API server allowed; the address is masked to the prefix, as kube-proxy
 * writes the network of each range.
 */
static int service_source_ranges(struct dctx *c, const cJSON *spec, struct k8s_service *svc)
{
	const cJSON *ranges, *item;
	char key[KEY_SIZE], range[K8S_MAX_NAME + 1];
	const char *s;
	size_t n;
	int r;

	r = get_array(c, spec, "loadBalancerSourceRanges", K8S_MAX_SOURCE_RANGES, &ranges, &n);
	if (r < 0 || n == 0)
		return r;
	svc->source_ranges = xcalloc(n, sizeof(*svc->source_ranges));
	for (item = first_item(ranges); item; item = item->next) {
		snprintf(key, sizeof(key), "loadBalancerSourceRanges[%zu]", svc->n_source_ranges);
		r = as_string(c, item, key, K8S_MAX_NAME, &s);
		if (r < 0)
			return r;
		ipv4_unzero(s, range);
		if (!k8s_cidr_parse(range, &svc->source_ranges[svc->n_source_ranges]))
			return fail_value(c, key, s, "is not a valid CIDR");
		svc->n_source_ranges++;
	}
	return 0;
}

static int service_affinity(struct dctx *c, const cJSON *spec, struct k8s_service *svc)
{
	const cJSON *config, *client_ip;
	long timeout = AFFINITY_DEFAULT;
	size_t mark;
	int r, e;

	r = get_enum(c, spec, "sessionAffinity", affinities, "session affinity", K8S_AFFINITY_NONE,
		     &e);
	if (r < 0)
		return r;
	svc->affinity = (enum k8s_affinity)e;
	r = get_object(c, spec, "sessionAffinityConfig", &config);
	if (r < 0)
		return r;
	mark = path_push(c, "sessionAffinityConfig");
	r = get_object(c, config, "clientIP", &client_ip);
	if (r == 0) {
		path_push(c, "clientIP");
		r = get_int(c, client_ip, "timeoutSeconds", 1, AFFINITY_MAX, &timeout);
	}
	path_pop(c, mark);
	if (r < 0)
		return r;
	svc->affinity_timeout = (uint32_t)timeout;
	return 0;
}

static int service_spec(struct dctx *c, const cJSON *spec, struct k8s_service *svc)
{
	long hc_port = 0;
	int r, e;

	r = get_enum(c, spec, "type", service_types, "service type", K8S_SVC_CLUSTER_IP, &e);
	if (r < 0)
		return r;
	svc->type = (enum k8s_service_type)e;
	r = service_cluster_ips(c, spec, svc);
	if (r < 0)
		return r;
	r = service_ports(c, spec, svc);
	if (r < 0)
		return r;
	r = service_external_ips(c, spec, svc);
	if (r < 0)
		return r;
	r = service_source_ranges(c, spec, svc);
	if (r < 0)
		return r;
	r = service_affinity(c, spec, svc);
	if (r < 0)
		return r;
	r = get_enum(c, spec, "externalTrafficPolicy", traffic_policies, "traffic policy",
		     K8S_POLICY_CLUSTER, &e);
	if (r < 0)
		return r;
	svc->external_policy = (enum k8s_traffic_policy)e;
	svc->external_policy_set =
		cJSON_GetObjectItemCaseSensitive(spec, "externalTrafficPolicy") &&
		!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(spec, "externalTrafficPolicy"));
	r = get_enum(c, spec, "internalTrafficPolicy", traffic_policies, "traffic policy",
		     K8S_POLICY_CLUSTER, &e);
	if (r < 0)
		return r;
	svc->internal_policy = (enum k8s_traffic_policy)e;
	r = get_int(c, spec, "healthCheckNodePort", 0, 65535, &hc_port);
	if (r < 0)
		return r;
	svc->health_check_node_port = (uint16_t)hc_port;
	return 0;
}

/*
 * status.loadBalancer.ingress: an entry with an "ip" is a load-balancer VIP;
 * an entry with only a "hostname" names a DNS-based balancer and is skipped.
 */
static int service_status(struct dctx *c, const cJSON *status, struct k8s_service *svc)
{
	const cJSON *lb, *ingress, *item;
	size_t n, i = 0, mark;
	int r;

	r = get_object(c, status, "loadBalancer", &lb);
	if (r < 0)
		return r;
	mark = path_push(c, "loadBalancer");
	r = get_array(c, lb, "ingress", K8S_MAX_SERVICE_IPS, &ingress, &n);
	if (r < 0 || n == 0)
		goto out;
	svc->lb_ingress = xcalloc(n, sizeof(*svc->lb_ingress));
	path_push(c, "ingress");
	for (item = first_item(ingress); item; item = item->next) {
		struct k8s_lb_ingress *in = &svc->lb_ingress[svc->n_lb_ingress];
		size_t imark = path_index(c, i++);
		const char *ip;
		int e;

		r = -EINVAL;
		if (!cJSON_IsObject(item)) {
			fail(c, NULL, "not an object");
			goto out;
		}
		r = get_string(c, item, "ip", K8S_MAX_NAME, &ip);
		if (r < 0)
			goto out;
		if (ip && ip[0]) {
			r = check_ip(c, "ip", ip, ADDR_SERVICE, &in->ip);
			if (r < 0)
				goto out;
			r = get_enum(c, item, "ipMode", ip_modes, "IP mode", K8S_IPMODE_UNSET, &e);
			if (r < 0)
				goto out;
			in->ip_mode = (enum k8s_ip_mode)e;
			svc->n_lb_ingress++;
		}
		path_pop(c, imark);
	}
out:
	path_pop(c, mark);
	return r;
}

static int decode_service(struct dctx *c, const cJSON *json, struct k8s_service **out)
{
	struct k8s_service *svc = xcalloc(1, sizeof(*svc));
	const cJSON *spec, *status;
	struct meta m;
	size_t mark;
	int r;

	r = decode_meta(c, json, true, NAME_LABEL, &m);
	if (r < 0)
		goto fail;
	r = check_type_meta(c, json, K8S_KIND_SERVICE);
	if (r < 0)
		goto fail;
	svc->namespace = xstrdup(m.namespace);
	svc->name = xstrdup(m.name);
	svc->resource_version = dup_or_null(m.resource_version);
	r = service_meta(c, &m, svc);
	if (r < 0)
		goto fail;
	r = get_object(c, json, "spec", &spec);
	if (r < 0)
		goto fail;
	mark = path_push(c, "spec");
	r = service_spec(c, spec, svc);
	path_pop(c, mark);
	if (r < 0)
		goto fail;
	r = get_object(c, json, "status", &status);
	if (r < 0)
		goto fail;
	mark = path_push(c, "status");
	r = service_status(c, status, svc);
	path_pop(c, mark);
	if (r < 0)
		goto fail;
	*out = svc;
	return 0;
fail:
	k8s_service_free(svc);
	return r;
}

/* ---- EndpointSlice ---- */

static int slice_ports(struct dctx *c, const cJSON *json, struct k8s_slice *slice)
{
	const cJSON *ports, *item;
	size_t n, i = 0, mark, *at;
	int r = 0;

	r = get_array(c, json, "ports", K8S_MAX_SLICE_PORTS, &ports, &n);
	if (r < 0 || n == 0)
		return r;
	slice->ports = xcalloc(n, sizeof(*slice->ports));
	at = xcalloc(n, sizeof(*at));
	mark = path_push(c, "ports");
	for (item = first_item(ports); item; item = item->next) {
		struct k8s_slice_port p = { 0 };
		size_t imark = path_index(c, i++), j;
		const char *name;

		/* A port without a number has no meaning to a proxy; it is skipped. */
		r = decode_port(c, item, true, &name, &p.protocol, &p.port);
		if (r < 0)
			break;
		/* Ports are matched to the Service's by name: one name, one port. */
		for (j = 0; r > 0 && j < slice->n_ports; j++)
			if (strcmp(slice->ports[j].name, name) == 0)
				r = fail_value(c, "name", name, "is already used by ports[%zu]",
					       at[j]);
		if (r < 0)
			break;
		if (r > 0) {
			p.name = xstrdup(name);
			at[slice->n_ports] = i - 1;
			slice->ports[slice->n_ports++] = p;
		}
		r = 0;
		path_pop(c, imark);
	}
	path_pop(c, mark);
	free(at);
	return r;
}

/*
 * hints.forZones[].name: the zones whose nodes should send this endpoint
 * their traffic (topology-aware routing; the EndpointSlice controller writes
 * them for Services that ask for it). forNodes is not used.
 */
static int endpoint_zone_hints(struct dctx *c, const cJSON *item, struct k8s_endpoint *ep)
{
	const cJSON *hints, *zones, *z;
	const char *name;
	size_t n, mark, mark_item;
	int r;

	r = get_object(c, item, "hints", &hints);
	if (r < 0 || !hints)
		return r;
	mark = path_push(c, "hints");
	r = get_array(c, hints, "forZones", K8S_MAX_ZONE_HINTS, &zones, &n);
	if (r == 0 && n > 0) {
		path_push(c, "forZones");
		ep->zone_hints = xcalloc(n, sizeof(*ep->zone_hints));
		for (z = first_item(zones); z && r == 0; z = z->next) {
			mark_item = path_index(c, ep->n_zone_hints);
			if (!cJSON_IsObject(z))
				r = fail(c, NULL, "not an object");
			else
				r = get_required_string(c, z, "name", K8S_MAX_NAME, &name);
			if (r == 0)
				ep->zone_hints[ep->n_zone_hints++] = xstrdup(name);
			path_pop(c, mark_item);
		}
	}
	path_pop(c, mark);
	return r;
}

/*
 * One endpoints[] entry. Only addresses[0] is used: the controller writes
 * exactly one. A v1beta1 slice keeps the node name and zone in its topology
 * map, read here when the v1 fields are absent.
 */
static int slice_endpoint(struct dctx *c, const cJSON *item, enum k8s_address_type type,
			  struct k8s_endpoint *ep)
{
	const cJSON *addrs, *cond, *topo;
	const char *addr, *node = NULL, *zone = NULL;
	size_t n, mark;
	enum k8s_family family;
	int r;

	memset(ep, 0, sizeof(*ep));
	if (!cJSON_IsObject(item))
		return fail(c, NULL, "not an object");
	if (!field(item, "addresses"))
		return fail(c, "addresses", "missing");
	r = get_array(c, item, "addresses", SIZE_MAX, &addrs, &n);
	if (r < 0)
		return r;
	if (n == 0)
		return fail(c, "addresses", "empty");
	r = as_string(c, addrs->child, "addresses[0]", K8S_MAX_NAME, &addr);
	if (r < 0)
		return r;
	switch (type) {
	case K8S_ADDRTYPE_IPV4:
	case K8S_ADDRTYPE_IPV6:
		if (check_ip(c, "addresses[0]", addr, ADDR_SERVICE, &ep->addr) < 0)
			return -EINVAL;
		family = type == K8S_ADDRTYPE_IPV4 ? K8S_FAMILY_IPV4 : K8S_FAMILY_IPV6;
		if (ep->addr.family != family)
			return fail_value(c, "addresses[0]", addr, "is not an %s address",
					  family_name(family));
		break;
	case K8S_ADDRTYPE_FQDN:
		break;
	}

	r = get_object(c, item, "conditions", &cond);
	if (r < 0)
		return r;
	mark = path_push(c, "conditions");
	r = get_bool(c, cond, "ready", true, &ep->ready);
	if (r == 0)
		r = get_bool(c, cond, "serving", true, &ep->serving);
	if (r == 0)
		r = get_bool(c, cond, "terminating", false, &ep->terminating);
	path_pop(c, mark);
	if (r < 0)
		return r;

	r = get_string(c, item, "nodeName", K8S_MAX_NAME, &node);
	if (r < 0)
		return r;
	if (node && check_subdomain(c, "nodeName", node) < 0)
		return -EINVAL;
	r = get_string(c, item, "zone", K8S_MAX_NAME, &zone);
	if (r < 0)
		return r;
	r = get_object(c, item, "topology", &topo);
	if (r < 0)
		return r;
	if (!node) {
		r = get_map_string(c, topo, "topology", TOPOLOGY_HOSTNAME, K8S_MAX_NAME, &node);
		if (r < 0)
			return r;
		if (node && check_subdomain(c, "topology[" TOPOLOGY_HOSTNAME "]", node) < 0)
			return -EINVAL;
	}
	if (!zone) {
		r = get_map_string(c, topo, "topology", LABEL_ZONE, K8S_MAX_NAME, &zone);
		if (r < 0)
			return r;
	}
	ep->node_name = dup_or_null(node);
	ep->zone = dup_nonempty(zone);
	return endpoint_zone_hints(c, item, ep);
}

/* An FQDN slice is checked but keeps no endpoints: a proxy cannot use names. */
static int slice_endpoints(struct dctx *c, const cJSON *json, struct k8s_slice *slice)
{
	const cJSON *eps, *item;
	size_t n, i = 0, mark;
	int r = 0;

	r = get_array(c, json, "endpoints", K8S_MAX_SLICE_ENDPOINTS, &eps, &n);
	if (r < 0 || n == 0)
		return r;
	if (slice->address_type != K8S_ADDRTYPE_FQDN)
		slice->endpoints = xcalloc(n, sizeof(*slice->endpoints));
	mark = path_push(c, "endpoints");
	for (item = first_item(eps); item; item = item->next) {
		size_t imark = path_index(c, i++);
		struct k8s_endpoint ep;

		r = slice_endpoint(c, item, slice->address_type, &ep);
		if (r < 0) {
			k8s_endpoint_fini(&ep);
			break;
		}
		if (slice->endpoints)
			slice->endpoints[slice->n_endpoints++] = ep;
		else
			k8s_endpoint_fini(&ep);
		path_pop(c, imark);
	}
	path_pop(c, mark);
	return r;
}

static int decode_slice(struct dctx *c, const cJSON *json, struct k8s_slice **out)
{
	struct k8s_slice *slice = xcalloc(1, sizeof(*slice));
	const char *service;
	struct meta m;
	int r, e;

	r = decode_meta(c, json, true, NAME_SUBDOMAIN, &m);
	if (r < 0)
		goto fail;
	r = check_type_meta(c, json, K8S_KIND_ENDPOINTSLICE);
	if (r < 0)
		goto fail;
	slice->namespace = xstrdup(m.namespace);
	slice->name = xstrdup(m.name);
	slice->resource_version = dup_or_null(m.resource_version);

	/* The owning Service is named by a label; a slice without it has no owner. */
	r = get_map_string(c, m.labels, "metadata.labels", LABEL_SERVICE_NAME, K8S_MAX_NAME,
			   &service);
	if (r < 0)
		goto fail;
	r = -EINVAL;
	if (!service || !service[0]) {
		fail(c, "metadata.labels[" LABEL_SERVICE_NAME "]", "missing");
		goto fail;
	}
	if (check_label(c, "metadata.labels[" LABEL_SERVICE_NAME "]", service) < 0)
		goto fail;
	slice->service_name = xstrdup(service);

	r = get_enum(c, json, "addressType", address_types, "address type", -1, &e);
	if (r < 0)
		goto fail;
	if (e < 0) {
		r = fail(c, "addressType", "missing");
		goto fail;
	}
	slice->address_type = (enum k8s_address_type)e;
	r = slice_ports(c, json, slice);
	if (r < 0)
		goto fail;
	r = slice_endpoints(c, json, slice);
	if (r < 0)
		goto fail;
	*out = slice;
	return 0;
fail:
	k8s_slice_free(slice);
	return r;
}

/* ---- Endpoints ---- */

static int subset_addresses(struct dctx *c, const cJSON *subset, struct k8s_slice *s)
{
	const cJSON *addrs, *item;
	size_t n, i = 0, mark;
	enum k8s_family family = K8S_FAMILY_IPV4;
	int r;

	r = get_array(c, subset, "addresses", K8S_MAX_SUBSET_ADDRS, &addrs, &n);
	if (r < 0 || n == 0)
		return r;
	s->endpoints = xcalloc(n, sizeof(*s->endpoints));
	mark = path_push(c, "addresses");
	for (item = first_item(addrs); item; item = item->next) {
		struct k8s_endpoint *ep = &s->endpoints[s->n_endpoints];
		size_t imark = path_index(c, i++);
		const char *ip, *node;

		r = -EINVAL;
		if (!cJSON_IsObject(item)) {
			fail(c, NULL, "not an object");
			break;
		}
		r = get_required_string(c, item, "ip", K8S_MAX_NAME, &ip);
		if (r < 0)
			break;
		r = check_ip(c, "ip", ip, ADDR_SERVICE, &ep->addr);
		if (r < 0)
			break;
		/* A subset holds one family: the one of its first address. */
		if (s->n_endpoints == 0)
			family = ep->addr.family;
		if (ep->addr.family != family) {
			r = fail_value(c, "ip", ip, "is not an %s address", family_name(family));
			break;
		}
		r = get_string(c, item, "nodeName", K8S_MAX_NAME, &node);
		if (r < 0)
			break;
		r = node ? check_subdomain(c, "nodeName", node) : 0;
		if (r < 0)
			break;
		ep->ready = true;
		ep->serving = true;
		ep->terminating = false;
		ep->node_name = dup_or_null(node);
		s->n_endpoints++;
		path_pop(c, imark);
	}
	path_pop(c, mark);
	s->address_type = family == K8S_FAMILY_IPV4 ? K8S_ADDRTYPE_IPV4 : K8S_ADDRTYPE_IPV6;
	return r;
}

static int subset_ports(struct dctx *c, const cJSON *subset, struct k8s_slice *s)
{
	const cJSON *ports, *item;
	size_t n, i = 0, j, mark;
	int r;

	r = get_array(c, subset, "ports", K8S_MAX_PORTS, &ports, &n);
	if (r < 0 || n == 0)
		return r;
	s->ports = xcalloc(n, sizeof(*s->ports));
	mark = path_push(c, "ports");
	for (item = first_item(ports); item; item = item->next) {
		struct k8s_slice_port p = { 0 };
		size_t imark = path_index(c, i++);
		const char *name;

		r = decode_port(c, item, false, &name, &p.protocol, &p.port);
		if (r < 0)
			break;
		/* As in a Service: names are required with more than one port, and unique. */
		if (n > 1 && !name[0]) {
			r = fail(c, "name", "missing (required when there is more than one port)");
			break;
		}
		r = 0;
		for (j = 0; r == 0 && j < s->n_ports; j++)
			if (strcmp(s->ports[j].name, name) == 0)
				r = fail_value(c, "name", name, "is already used by ports[%zu]", j);
		if (r < 0)
			break;
		p.name = xstrdup(name);
		s->ports[s->n_ports++] = p;
		path_pop(c, imark);
	}
	path_pop(c, mark);
	return r;
}

/*
 * Each subset becomes a slice named after the Endpoints object, which is
 * named after its Service. Only ready addresses are kept: this API has no
 * serving or terminating conditions.
 */
static int decode_endpoints(struct dctx *c, const cJSON *json, struct k8s_endpoints **out)
{
	struct k8s_endpoints *eps = xcalloc(1, sizeof(*eps));
	const cJSON *subsets, *item;
	size_t n, i = 0, mark;
	struct meta m;
	int r;

	r = decode_meta(c, json, true, NAME_SUBDOMAIN, &m);
	if (r < 0)
		goto fail;
	r = check_type_meta(c, json, K8S_KIND_ENDPOINTS);
	if (r < 0)
		goto fail;
	eps->namespace = xstrdup(m.namespace);
	eps->name = xstrdup(m.name);
	eps->resource_version = dup_or_null(m.resource_version);
	r = get_array(c, json, "subsets", K8S_MAX_SUBSETS, &subsets, &n);
	if (r < 0)
		goto fail;
	if (n == 0)
		goto done;
	eps->subsets = xcalloc(n, sizeof(*eps->subsets));
	mark = path_push(c, "subsets");
	for (item = first_item(subsets); item; item = item->next) {
		struct k8s_slice *s = &eps->subsets[eps->n_subsets++];
		size_t imark = path_index(c, i++);

		s->namespace = xstrdup(m.namespace);
		s->name = xstrdup(m.name);
		s->service_name = xstrdup(m.name);
		s->resource_version = dup_or_null(m.resource_version);
		s->address_type = K8S_ADDRTYPE_IPV4;
		r = -EINVAL;
		if (!cJSON_IsObject(item)) {
			fail(c, NULL, "not an object");
			break;
		}
		r = subset_addresses(c, item, s);
		if (r < 0)
			break;
		r = subset_ports(c, item, s);
		if (r < 0)
			break;
		path_pop(c, imark);
	}
	path_pop(c, mark);
	if (r < 0)
		goto fail;
done:
	*out = eps;
	return 0;
fail:
	k8s_endpoints_free(eps);
	return r;
}

/* ---- Node ---- */

/*
 * Checks every status.addresses[] entry and adds the addresses of one type
 * (called once for InternalIP, then for ExternalIP). Other types are ignored.
 */
static int node_addresses(struct dctx *c, const cJSON *addrs, const char *want,
			  struct k8s_node *node)
{
	const cJSON *item;
	size_t i = 0, mark = path_push(c, "addresses");
	int r = 0;

	for (item = first_item(addrs); item; item = item->next) {
		size_t imark = path_index(c, i++);
		const char *type, *addr;
		struct k8s_addr a;

		r = -EINVAL;
		if (!cJSON_IsObject(item)) {
			fail(c, NULL, "not an object");
			break;
		}
		r = get_string(c, item, "type", K8S_MAX_NAME, &type);
		if (r < 0)
			break;
		if (type && (strcmp(type, "InternalIP") == 0 || strcmp(type, "ExternalIP") == 0)) {
			r = get_required_string(c, item, "address", K8S_MAX_NAME, &addr);
			if (r < 0)
				break;
			r = check_ip(c, "address", addr, ADDR_NODE, &a);
			if (r < 0)
				break;
			if (strcmp(type, want) == 0)
				node->addrs[node->n_addrs++] = a;
		}
		path_pop(c, imark);
	}
	path_pop(c, mark);
	return r;
}

static int node_taints(struct dctx *c, const cJSON *spec, struct k8s_node *node)
{
	const cJSON *taints, *item;
	size_t n, i = 0, mark;
	const char *key;
	int r;

	/* Nothing is kept per taint, so their number needs no cap. */
	r = get_array(c, spec, "taints", SIZE_MAX, &taints, &n);
	if (r < 0 || n == 0)
		return r;
	mark = path_push(c, "taints");
	for (item = first_item(taints); item; item = item->next) {
		size_t imark = path_index(c, i++);

		r = -EINVAL;
		if (!cJSON_IsObject(item)) {
			fail(c, NULL, "not an object");
			break;
		}
		r = get_string(c, item, "key", K8S_MAX_NAME, &key);
		if (r < 0)
			break;
		if (key && strcmp(key, TAINT_TO_BE_DELETED) == 0)
			node->to_be_deleted = true;
		path_pop(c, imark);
	}
	path_pop(c, mark);
	return r;
}

static int decode_node(struct dctx *c, const cJSON *json, struct k8s_node **out)
{
	struct k8s_node *node = xcalloc(1, sizeof(*node));
	const cJSON *spec, *status, *addrs;
	const char *zone;
	struct meta m;
	size_t n, mark;
	int r;

	r = decode_meta(c, json, false, NAME_SUBDOMAIN, &m);
	if (r < 0)
		goto fail;
	r = check_type_meta(c, json, K8S_KIND_NODE);
	if (r < 0)
		goto fail;
	node->name = xstrdup(m.name);
	node->resource_version = dup_or_null(m.resource_version);
	node->deleting = field(m.obj, "deletionTimestamp") != NULL;
	r = get_map_string(c, m.labels, "metadata.labels", LABEL_ZONE, K8S_MAX_NAME, &zone);
	if (r < 0)
		goto fail;
	node->zone = dup_nonempty(zone);

	r = get_object(c, json, "spec", &spec);
	if (r < 0)
		goto fail;
	mark = path_push(c, "spec");
	r = node_taints(c, spec, node);
	path_pop(c, mark);
	if (r < 0)
		goto fail;

	r = get_object(c, json, "status", &status);
	if (r < 0)
		goto fail;
	mark = path_push(c, "status");
	r = get_array(c, status, "addresses", K8S_MAX_NODE_ADDRS, &addrs, &n);
	if (r == 0 && n > 0) {
		/* InternalIP addresses are preferred, so they come first. */
		node->addrs = xcalloc(n, sizeof(*node->addrs));
		r = node_addresses(c, addrs, "InternalIP", node);
		if (r == 0)
			r = node_addresses(c, addrs, "ExternalIP", node);
	}
	path_pop(c, mark);
	if (r < 0)
		goto fail;
	*out = node;
	return 0;
fail:
	k8s_node_free(node);
	return r;
}

/* ---- Entry points ---- */

/*
 * FNV-1a over the object's compact JSON: two deliveries of the same object
 * (a relist, a re-read file) hash the same, so the model can tell that
 * nothing changed and leave its rules alone.
 */
static uint64_t content_hash(const cJSON *json)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char *text = cJSON_PrintUnformatted(json);
	const unsigned char *p;

	if (!text)
		return 0;
	for (p = (const unsigned char *)text; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	cJSON_free(text);
	return h;
}

int decode_object(const cJSON *json, enum k8s_kind kind, struct k8s_object *out, struct errbuf *err)
{
	struct k8s_object obj = { .kind = kind };
	struct dctx c;
	int r = -EINVAL;

	ctx_init(&c, err, k8s_kind_name(kind), "?");
	if (!cJSON_IsObject(json))
		return fail(&c, NULL, "not an object");
	switch (kind) {
	case K8S_KIND_SERVICE:
		r = decode_service(&c, json, &obj.u.service);
		break;
	case K8S_KIND_ENDPOINTSLICE:
		r = decode_slice(&c, json, &obj.u.slice);
		break;
	case K8S_KIND_ENDPOINTS:
		r = decode_endpoints(&c, json, &obj.u.endpoints);
		break;
	case K8S_KIND_NODE:
		r = decode_node(&c, json, &obj.u.node);
		break;
	}
	if (r == 0) {
		k8s_object_set_hash(&obj, content_hash(json));
		*out = obj;
	}
	return r;
}

int decode_object_any(const cJSON *json, struct k8s_object *out, struct errbuf *err)
{
	const struct kind_info *info;
	const char *kind;
	struct dctx c;
	int r;

	ctx_init(&c, err, "object", "");
	if (!cJSON_IsObject(json))
		return fail(&c, NULL, "not an object");
	r = get_required_string(&c, json, "kind", K8S_MAX_NAME, &kind);
	if (r < 0)
		return r;
	info = kind_by_name(kind);
	if (!info)
		return fail_value(&c, "kind", kind, "is not a supported kind");
	return decode_object(json, info->kind, out, err);
}

void decode_list_fini(struct decode_list *list)
{
	size_t i;

	for (i = 0; i < list->n_objects; i++)
		k8s_object_fini(&list->objects[i]);
	for (i = 0; i < list->n_errors; i++)
		free(list->errors[i]);
	free(list->objects);
	free(list->errors);
	memset(list, 0, sizeof(*list));
}

/* Decodes one item into the list, or records why it could not be. */
static void list_add(struct decode_list *list, const cJSON *item, size_t i,
		     const struct kind_info *item_kind)
{
	struct errbuf e = { { 0 } };
	struct k8s_object obj;
	struct dctx c;
	char key[KEY_SIZE];
	int r;

	ctx_init(&c, &e, "list", "");
	snprintf(key, sizeof(key), "items[%zu]", i);
	if (!cJSON_IsObject(item)) {
		r = fail(&c, key, "not an object");
	} else if (field(item, "kind")) {
		r = decode_object_any(item, &obj, &e);
	} else if (item_kind) {
		r = decode_object(item, item_kind->kind, &obj, &e);
	} else {
		path_push(&c, key);
		r = fail(&c, "kind", "missing");
	}
	if (r == 0)
		list->objects[list->n_objects++] = obj;
	else
		list->errors[list->n_errors++] = xstrdup(e.msg);
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/*
 * cJSON keeps strings as C strings, so a NUL in one ends it early: the name
 * "web\u0000evil" would be read as "web" and take the place of the real
 * Service web. JSON allows no raw NUL (that is refused as invalid); each
 * \u0000 escape is rewritten as \ufffd, the replacement character, which has
 * the same length (byte offsets in messages stay right) and which no validated
 * field accepts. Returns a rewritten copy of text (free() it), or NULL when
 * there is no such escape.
 */
static char *replace_nul_escapes(const char *text, size_t len)
{
	static const char nul[] = "\\u0000", fffd[] = "\\ufffd";
	char *copy = NULL;
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (text[i] != '\\')
			continue;
		/* Whatever follows a backslash is escaped, so "\\u0000" is no NUL. */
		if (len - i >= sizeof(nul) - 1 && memcmp(text + i, nul, sizeof(nul) - 1) == 0) {
			if (!copy) {
				copy = xmalloc(len + 1);
				memcpy(copy, text, len);
				copy[len] = '\0';
			}
			memcpy(copy + i, fffd, sizeof(fffd) - 1);
		}
		i++;
	}
	return copy;
}

cJSON *decode_json_parse(const char *text, size_t len)
{
	char *copy;
	cJSON *root;

	if (memchr(text, '\0', len))
		return NULL;
	copy = replace_nul_escapes(text, len);
	root = cJSON_ParseWithLength(copy ? copy : text, len);
	free(copy);
	return root;
}

/*
 * A List from GET on a collection: "kind" is "ServiceList" and the like, and
 * then its items carry no kind of their own; a "List" (from kubectl) has
 * items that say what they are. A single object is read as a list of one.
 */
int decode_list_parse(const char *text, size_t len, struct decode_list *list, struct errbuf *err)
{
	const struct kind_info *item_kind = NULL;
	const cJSON *items, *item;
	const char *end = NULL, *kind, *nul;
	char *copy = NULL;
	cJSON *root = NULL;
	struct dctx c;
	size_t n, i = 0, kind_len;
	int r;

	memset(list, 0, sizeof(*list));
	ctx_init(&c, err, "list", "");
	if (len > K8S_MAX_DOCUMENT)
		return fail(&c, NULL, "too large (%zu bytes, max %u)", len, K8S_MAX_DOCUMENT);
	nul = memchr(text, '\0', len);
	if (nul)
		return fail(&c, NULL, "not valid JSON (NUL byte at byte %zu)",
			    (size_t)(nul - text));
	copy = replace_nul_escapes(text, len);
	if (copy)
		text = copy;
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	r = -EINVAL;
	if (!root) {
		fail(&c, NULL, "not valid JSON (at byte %zu)",
		     end && end >= text ? (size_t)(end - text) : (size_t)0);
		goto out;
	}
	while (end < text + len && is_space(*end))
		end++;
	r = -EINVAL;
	if (end != text + len) {
		fail(&c, NULL, "not valid JSON (trailing data at byte %zu)", (size_t)(end - text));
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		fail(&c, NULL, "not an object");
		goto out;
	}
	r = get_string(&c, root, "kind", K8S_MAX_NAME, &kind);
	if (r < 0)
		goto out;
	items = field(root, "items");
	if (!items) {
		r = -EINVAL;
		if (!kind || !kind_by_name(kind)) {
			fail(&c, "items", "missing");
			goto out;
		}
		list->objects = xcalloc(1, sizeof(*list->objects));
		list->errors = xcalloc(1, sizeof(*list->errors));
		list_add(list, root, 0, NULL);
		r = 0;
		goto out;
	}
	if (kind) {
		kind_len = strlen(kind);
		r = -EINVAL;
		if (kind_len < 4 || strcmp(kind + kind_len - 4, "List") != 0) {
			fail_value(&c, "kind", kind, "is not a list kind");
			goto out;
		}
		item_kind = kind_by_list_name(kind);
	}
	r = get_array(&c, root, "items", K8S_MAX_LIST_ITEMS, &items, &n);
	if (r < 0 || n == 0)
		goto out;
	list->objects = xcalloc(n, sizeof(*list->objects));
	list->errors = xcalloc(n, sizeof(*list->errors));
	for (item = first_item(items); item; item = item->next)
		list_add(list, item, i++, item_kind);
out:
	cJSON_Delete(root);
	free(copy);
	return r;
}
