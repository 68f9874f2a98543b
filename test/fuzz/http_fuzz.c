// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzes what kproxy's HTTP endpoints answer with. The handlers are reached
 * only through libmicrohttpd (test/unit/proxy/server_test.c sends hostile
 * requests to a real server), so this target drives the pure parts behind
 * them: the /healthz and /livez bodies, each health-check node port's body
 * and local endpoint count for a model decoded from the input, and the
 * /metrics text for arbitrary counters and observations.
 *
 * Input: a List for the model, then a NUL byte, then the bytes the numbers
 * are read from (zeros once they run out). Times stay within what a clock
 * can give (0 to 2^33 s); durations are finite and non-negative.
 *
 * Checks: every body is JSON with the fields load balancers read, its times
 * in Go's String() form and read back to the times given; the
 * metrics text is all "# HELP"/"# TYPE" lines and samples whose value is a
 * number, each histogram's buckets are cumulative and end at its count.
 */
#include <math.h>

#include <cjson/cJSON.h>

#include "apiwatch/decode.h"
#include "proxy/health.h"
#include "proxy/metrics.h"
#include "proxy/model.h"
#include "test/fuzz/fuzz.h"

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint64_t read_u64(struct reader *r, size_t bytes)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < bytes; i++) {
		v = v << 8 | (r->n ? *r->p : 0);
		if (r->n) {
			r->p++;
			r->n--;
		}
	}
	return v;
}

/* A time a clock can give: up to 2^33 seconds, with a fraction. */
static double read_time(struct reader *r)
{
	return (double)read_u64(r, 5) / 128.0;
}

/* A duration: finite, non-negative, from nanoseconds to days. */
static double read_duration(struct reader *r)
{
	return (double)read_u64(r, 6) / 1e9;
}

/* A time as admin gives one: a wall clock up to 2^33 s, uptime up to 2^32 s, or unset. */
static void read_health_time(struct reader *r, struct health_time *t)
{
	t->set = (read_u64(r, 1) & 1) == 0;
	t->wall.tv_sec = (time_t)(read_u64(r, 5) % (1ull << 33));
	t->wall.tv_nsec = (long)(read_u64(r, 4) % 1000000000u);
	t->mono.tv_sec = (time_t)read_u64(r, 4);
	t->mono.tv_nsec = (long)(read_u64(r, 4) % 1000000000u);
}

/*
 * Go's String() of t: "2006-01-02 15:04:05[.fraction] +0000 UTC m=+S.NNNNNNNNN"
 * with the fraction's trailing zeros trimmed (and no '.' for a whole second),
 * or the zero Time; read back, it gives t.
 */
static void check_go_time(const cJSON *v, const struct health_time *t, const char *what)
{
	const char *s = cJSON_GetStringValue(v), *p;
	struct tm tm = { 0 };
	long long mono_s;
	long ns = 0, mono_ns;
	size_t digits, k;
	int n = 0;

	FUZZ_ASSERT(s != NULL, "%s: not a string", what);
	if (!t->set) {
		FUZZ_ASSERT(strcmp(s, "0001-01-01 00:00:00 +0000 UTC") == 0,
			    "%s: \"%s\" is not Go's zero Time", what, s);
		return;
	}
	FUZZ_ASSERT(sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) == 6 &&
			    n == 19,
		    "%s: \"%s\" does not start with Go's date and time", what, s);
	tm.tm_year -= 1900;
	tm.tm_mon--;
	FUZZ_ASSERT(timegm(&tm) == t->wall.tv_sec, "%s: \"%s\" is not second %lld", what, s,
		    (long long)t->wall.tv_sec);
	p = s + 19;
	if (*p == '.') {
		digits = strspn(p + 1, "0123456789");
		FUZZ_ASSERT(digits >= 1 && digits <= 9 && p[digits] != '0',
			    "%s: \"%s\": the fraction is not trimmed", what, s);
		for (k = 0; k < 9; k++)
			ns = ns * 10 + (k < digits ? p[1 + k] - '0' : 0);
		p += 1 + digits;
	}
	FUZZ_ASSERT(ns == t->wall.tv_nsec, "%s: \"%s\" is not %ld ns", what, s, t->wall.tv_nsec);
	FUZZ_ASSERT(sscanf(p, " +0000 UTC m=+%lld.%ld%n", &mono_s, &mono_ns, &n) == 2 &&
			    p[n] == '\0' && strlen(strrchr(p, '.') + 1) == 9 &&
			    mono_s == (long long)t->mono.tv_sec && mono_ns == t->mono.tv_nsec,
		    "%s: \"%s\" does not end with the zone and m=+%lld.%09ld", what, s,
		    (long long)t->mono.tv_sec, t->mono.tv_nsec);
}

static void check_proxy_body(struct reader *r)
{
	struct strbuf sb = STRBUF_INIT;
	struct health_time last, now;
	uint64_t flags;
	bool with_node, eligible;
	const cJSON *ne;
	cJSON *json;

	read_health_time(r, &last);
	read_health_time(r, &now);
	now.set = true;
	flags = read_u64(r, 1);
	with_node = flags & 1;
	eligible = flags & 2;
	health_proxy_body(&sb, &last, &now, with_node, eligible);
	json = cJSON_Parse(strbuf_str(&sb));
	FUZZ_ASSERT(json != NULL, "proxy body is not JSON: %s", strbuf_str(&sb));
	check_go_time(cJSON_GetObjectItemCaseSensitive(json, "lastUpdated"), &last, "lastUpdated");
	check_go_time(cJSON_GetObjectItemCaseSensitive(json, "currentTime"), &now, "currentTime");
	ne = cJSON_GetObjectItemCaseSensitive(json, "nodeEligible");
	FUZZ_ASSERT(with_node ? cJSON_IsBool(ne) && cJSON_IsTrue(ne) == eligible : ne == NULL,
		    "nodeEligible wrong in %s", strbuf_str(&sb));
	cJSON_Delete(json);
	strbuf_fini(&sb);
}

static bool same_string(const cJSON *v, const char *want)
{
	const char *s = cJSON_GetStringValue(v);

	return s && strcmp(s, want) == 0;
}

static void check_service_bodies(const struct model *m, struct reader *r)
{
	const struct model_service **svcs;
	size_t n, i, local;

	svcs = model_services_sorted(m, &n);
	for (i = 0; i < n; i++) {
		const struct k8s_service *spec = svcs[i]->spec;
		struct strbuf sb = STRBUF_INIT;
		bool healthy = read_u64(r, 1) & 1;
		const cJSON *svc;
		cJSON *json;

		local = health_local_endpoints(m, svcs[i]);
		health_service_body(&sb, spec->namespace, spec->name, local, healthy);
		json = cJSON_Parse(strbuf_str(&sb));
		FUZZ_ASSERT(json != NULL, "service body is not JSON: %s", strbuf_str(&sb));
		svc = cJSON_GetObjectItemCaseSensitive(json, "service");
		FUZZ_ASSERT(same_string(cJSON_GetObjectItemCaseSensitive(svc, "namespace"),
					spec->namespace) &&
				    same_string(cJSON_GetObjectItemCaseSensitive(svc, "name"),
						spec->name),
			    "service body names another service: %s", strbuf_str(&sb));
		FUZZ_ASSERT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
				    json, "localEndpoints")) == (double)local,
			    "localEndpoints wrong: %s", strbuf_str(&sb));
		FUZZ_ASSERT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
				    json, "serviceProxyHealthy")) == healthy,
			    "serviceProxyHealthy wrong: %s", strbuf_str(&sb));
		cJSON_Delete(json);
		strbuf_fini(&sb);
	}
	free(svcs);
	(void)health_node_eligible(model_node(m));
}

static void fill_histogram(struct metrics_histogram *h, struct reader *r)
{
	size_t n = read_u64(r, 1) % 8, i;

	for (i = 0; i < n; i++)
		metrics_observe(h, read_duration(r));
}

static bool is_metric_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == ':';
}

/*
 * Checks one sample line "name{labels} value" and returns its value; the
 * name and a copy of the labels go to the caller.
 */
static double check_sample(const char *line, size_t n, char *name, size_t name_size)
{
	const char *sp = memchr(line, ' ', n), *brace;
	char value[64], *end;
	size_t k, vlen;
	double v;

	FUZZ_ASSERT(sp != NULL, "sample without a value: %.*s", (int)n, line);
	brace = memchr(line, '{', (size_t)(sp - line));
	for (k = 0; line + k < (brace ? brace : sp); k++)
		FUZZ_ASSERT(is_metric_name_char(line[k]), "bad metric name: %.*s", (int)n, line);
	FUZZ_ASSERT(k > 0 && k < name_size, "bad metric name: %.*s", (int)n, line);
	memcpy(name, line, k);
	name[k] = '\0';
	FUZZ_ASSERT(!brace || sp[-1] == '}', "labels not closed: %.*s", (int)n, line);
	vlen = n - (size_t)(sp + 1 - line);
	FUZZ_ASSERT(vlen > 0 && vlen < sizeof(value), "bad value: %.*s", (int)n, line);
	memcpy(value, sp + 1, vlen);
	value[vlen] = '\0';
	v = strtod(value, &end);
	FUZZ_ASSERT(*end == '\0' && isfinite(v) && v >= 0, "value not a number: %.*s", (int)n,
		    line);
	return v;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void check_metrics_text(const struct strbuf *text)
{
	const char *p = strbuf_str(text), *end = p + text->len, *nl;
	char name[128];
	double v, last_bucket = 0;
	bool in_buckets = false;
	size_t n;

	FUZZ_ASSERT(text->len > 0 && end[-1] == '\n', "metrics text does not end a line");
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)(nl - p);
		FUZZ_ASSERT(fuzz_printable(p, n), "metrics line not printable: %.*s", (int)n, p);
		if (n > 7 && (memcmp(p, "# HELP ", 7) == 0 || memcmp(p, "# TYPE ", 7) == 0)) {
			FUZZ_ASSERT(memcmp(p + 7, "kproxy_", 7) == 0, "foreign metric: %.*s",
				    (int)n, p);
			in_buckets = false;
			continue;
		}
		FUZZ_ASSERT(p[0] != '#', "stray comment: %.*s", (int)n, p);
		v = check_sample(p, n, name, sizeof(name));
		if (ends_with(name, "_bucket")) {
			FUZZ_ASSERT(!in_buckets || v >= last_bucket,
				    "buckets not cumulative at %.*s", (int)n, p);
			in_buckets = true;
			last_bucket = v;
		} else if (ends_with(name, "_count") && in_buckets) {
			FUZZ_ASSERT(v == last_bucket, "+Inf bucket %g is not the count %g",
				    last_bucket, v);
		}
	}
}

static void check_metrics(struct reader *r)
{
	struct strbuf sb = STRBUF_INIT;
	struct metrics m;

	metrics_init(&m);
	fill_histogram(&m.sync_duration, r);
	fill_histogram(&m.sync_full_duration, r);
	fill_histogram(&m.sync_partial_duration, r);
	fill_histogram(&m.programming_latency, r);
	m.last_sync_timestamp = read_time(r);
	m.last_queued_timestamp = read_time(r);
	m.endpoint_changes_pending = read_u64(r, 8);
	m.endpoint_changes_total = read_u64(r, 8);
	m.service_changes_pending = read_u64(r, 8);
	m.service_changes_total = read_u64(r, 8);
	m.iptables_total[0] = read_u64(r, 8);
	m.iptables_total[1] = read_u64(r, 8);
	m.iptables_last[0] = read_u64(r, 8);
	m.iptables_last[1] = read_u64(r, 8);
	m.restore_failures_total = read_u64(r, 8);
	m.partial_restore_failures_total = read_u64(r, 8);
	m.no_local_endpoints_internal = read_u64(r, 8);
	m.no_local_endpoints_external = read_u64(r, 8);
	m.healthz_200_total = read_u64(r, 8);
	m.healthz_503_total = read_u64(r, 8);
	m.livez_200_total = read_u64(r, 8);
	m.livez_503_total = read_u64(r, 8);
	m.conntrack_deleted_total = read_u64(r, 8);
	m.healthcheck_bind_failures_total = read_u64(r, 8);
	m.services = read_u64(r, 8);
	m.endpoints = read_u64(r, 8);
	metrics_format(&m, &sb);
	check_metrics_text(&sb);
	strbuf_fini(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t json_len = nul ? (size_t)(nul - data) : size;
	struct reader r = { nul ? nul + 1 : data + size, nul ? size - json_len - 1 : 0 };
	struct decode_list list;
	struct errbuf err;
	struct model *m;
	uint64_t now, oldest, timeout;
	size_t i;

	now = read_u64(&r, 8);
	oldest = read_u64(&r, 8);
	timeout = read_u64(&r, 4);
	FUZZ_ASSERT(oldest != 0 || health_is_fresh(now, oldest, timeout),
		    "nothing pending but not fresh");
	check_proxy_body(&r);

	m = model_new("node-a");
	if (decode_list_parse((const char *)data, json_len, &list, &err) == 0) {
		for (i = 0; i < list.n_objects; i++)
			(void)model_object_update(m, &list.objects[i], &err);
		decode_list_fini(&list);
	}
	check_service_bodies(m, &r);
	model_free(m);

	check_metrics(&r);
	return 0;
}
