// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The generator's memo must change nothing but the time a partial build
 * takes. A cluster of Services of every kind (ClusterIP, NodePort,
 * LoadBalancer with source ranges, external IPs, Local policies, affinity,
 * multi-port) goes through 300 random changes (endpoints move, slices and
 * Services come and go, Services change type, policy and ports, the Node's
 * address changes or the Node goes); after each, the partial build that replays the last
 * memo must equal, byte for byte, the one that works every Service out again
 * (the same record without its memo): payload, batches, warnings, figures
 * and the chains it leaves. And the chains left after the whole sequence
 * must be those of a fresh full build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apiwatch/decode.h"
#include "proxy/model.h"
#include "proxy/strbuf.h"
#include "rules/rules.h"

#define SERVICES 80
#define STEPS	 300

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void apply_json(struct model *m, const char *text, bool delete)
{
	struct k8s_object obj;
	struct errbuf err;
	cJSON *j = cJSON_Parse(text);

	assert_non_null(j);
	if (decode_object_any(j, &obj, &err) != 0)
		fail_msg("decode: %s\n%s", err.msg, text);
	cJSON_Delete(j);
	if (delete) {
		model_object_delete(m, &obj);
		k8s_object_fini(&obj);
	} else if (model_object_update(m, &obj, &err) != 0) {
		fail_msg("update: %s", err.msg);
	}
}

/* Service i, in one of several shapes chosen by shape. */
static void service_json(struct strbuf *out, unsigned i, unsigned shape)
{
	static const char *const types[] = { "ClusterIP", "NodePort", "LoadBalancer" };
	const char *type = types[shape % 3];
	bool local = shape & 4, affinity = shape & 8, two_ports = shape & 16;

	strbuf_reset(out);
	strbuf_addf(out,
		    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"namespace\":"
		    "\"ns%u\",\"name\":\"svc%u\"},\"spec\":{\"type\":\"%s\",\"clusterIP\":"
		    "\"10.96.%u.%u\",\"clusterIPs\":[\"10.96.%u.%u\"]",
		    i % 4, i, type, i / 200, i % 200 + 1, i / 200, i % 200 + 1);
	if (shape & 32)
		strbuf_addf(out, ",\"externalIPs\":[\"203.0.113.%u\"]", i % 250 + 1);
	if (strcmp(type, "ClusterIP") != 0 && local)
		strbuf_adds(out, ",\"externalTrafficPolicy\":\"Local\"");
	if (strcmp(type, "LoadBalancer") == 0 && local)
		strbuf_addf(out, ",\"healthCheckNodePort\":%u", 32000 + i);
	if (strcmp(type, "LoadBalancer") == 0 && (shape & 64))
		strbuf_adds(out, ",\"loadBalancerSourceRanges\":[\"192.0.2.0/24\"]");
	if (shape & 128)
		strbuf_adds(out, ",\"internalTrafficPolicy\":\"Local\"");
	if (affinity)
		strbuf_adds(out, ",\"sessionAffinity\":\"ClientIP\"");
	strbuf_addf(out, ",\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80,"
			 "\"targetPort\":8080");
	if (strcmp(type, "ClusterIP") != 0)
		strbuf_addf(out, ",\"nodePort\":%u",
			    30000 + i * 97 % 2700); /* spread over blocks */
	strbuf_adds(out, "}");
	if (two_ports) {
		strbuf_adds(out, ",{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":53,"
				 "\"targetPort\":5353");
		if (strcmp(type, "ClusterIP") != 0)
			strbuf_addf(out, ",\"nodePort\":%u", 30000 + (i * 97 + 50) % 2700);
		strbuf_adds(out, "}");
	}
	strbuf_adds(out, "]}");
	if (strcmp(type, "LoadBalancer") == 0)
		strbuf_addf(
			out,
			",\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.%u\"}]}}",
			i % 250 + 1);
	strbuf_adds(out, "}");
}

/*
 * Service i's slice with n endpoints chosen by seed, on node-a or node-b,
 * with zone hints (zone-a or zone-b) unless seed is a multiple of 4.
 */
static void slice_json(struct strbuf *out, unsigned i, unsigned n, unsigned seed)
{
	unsigned k;

	strbuf_reset(out);
	strbuf_addf(out,
		    "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\","
		    "\"metadata\":{\"namespace\":\"ns%u\",\"name\":\"svc%u-x\",\"labels\":"
		    "{\"kubernetes.io/service-name\":\"svc%u\"}},\"addressType\":\"IPv4\","
		    "\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080},"
		    "{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":5353}],\"endpoints\":[",
		    i % 4, i, i);
	for (k = 0; k < n; k++) {
		strbuf_addf(out,
			    "%s{\"addresses\":[\"10.244.%u.%u\"],\"nodeName\":\"node-%c\","
			    "\"conditions\":{\"ready\":%s}",
			    k ? "," : "", (seed + k) % 2, (seed * 7 + k * 13) % 250 + 1,
			    (seed + k) % 2 ? 'b' : 'a', (seed + k) % 5 ? "true" : "false");
		if (seed % 4)
			strbuf_addf(out, ",\"hints\":{\"forZones\":[{\"name\":\"zone-%c\"}]}",
				    (seed * 3 + k) % 2 ? 'a' : 'b');
		strbuf_adds(out, "}");
	}
	strbuf_adds(out, "]}");
}

/* node-a at 192.0.2.LAST, in zone-a (zone 1), zone-b (2) or none (0). */
static void node_json(struct strbuf *out, unsigned last, unsigned zone)
{
	strbuf_reset(out);
	strbuf_addf(
		out,
		"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node-a\"%s%s%s},"
		"\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":"
		"\"192.0.2.%u\"}]}}",
		zone ? ",\"labels\":{\"topology.kubernetes.io/zone\":\"" : "",
		zone == 1   ? "zone-a"
		: zone == 2 ? "zone-b"
			    : "",
		zone ? "\"}" : "", last);
}

static struct rules_config config(struct featuregate_set *gates, struct k8s_cidr *cidr)
{
	struct rules_config rc;

	featuregate_init(gates);
	assert_true(k8s_cidr_parse("10.244.0.0/16", cidr));
	memset(&rc, 0, sizeof(rc));
	rc.family = K8S_FAMILY_IPV4;
	rc.cluster_cidr = cidr;
	rc.masquerade_bit = 14;
	rc.gates = gates;
	/* Small, so that the dispatch buckets and the batches are used. */
	rc.dispatch_split = 20;
	rc.batch_chains = 40;
	return rc;
}

static int chain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rules_chain *)a)->name, ((const struct rules_chain *)b)->name);
}

/* The record's chains of table t, sorted, as one text. */
static void chain_set(const struct rules_existing *ex, int t, struct strbuf *out)
{
	struct rules_chain *c = calloc(ex->n_chains[t] + 1, sizeof(*c));
	size_t i;

	assert_non_null(c);
	memcpy(c, ex->chains[t], ex->n_chains[t] * sizeof(*c));
	qsort(c, ex->n_chains[t], sizeof(*c), chain_cmp);
	strbuf_reset(out);
	for (i = 0; i < ex->n_chains[t]; i++) {
		strbuf_adds(out, c[i].name);
		strbuf_addc(out, '\n');
	}
	free(c);
}

static void assert_same_record(const struct rules_existing *a, const struct rules_existing *b)
{
	struct strbuf x = STRBUF_INIT, y = STRBUF_INIT;
	int t;

	for (t = 0; t < RULES_TABLE_COUNT; t++) {
		chain_set(a, t, &x);
		chain_set(b, t, &y);
		assert_string_equal(strbuf_str(&x), strbuf_str(&y));
	}
	strbuf_fini(&x);
	strbuf_fini(&y);
}

static void assert_same_output(const struct rules_output *a, const struct rules_output *b)
{
	size_t i;

	assert_string_equal(strbuf_str(&a->payload), strbuf_str(&b->payload));
	assert_string_equal(strbuf_str(&a->warnings), strbuf_str(&b->warnings));
	assert_int_equal(a->n_batches, b->n_batches);
	for (i = 0; i < a->n_batches; i++)
		assert_string_equal(strbuf_str(&a->batches[i]), strbuf_str(&b->batches[i]));
	assert_memory_equal(&a->stats, &b->stats, sizeof(a->stats));
	assert_same_record(&a->after, &b->after);
}

static void test_replay_equals_recompute(void **state)
{
	struct featuregate_set gates;
	struct k8s_cidr cidr;
	struct rules_config rc = config(&gates, &cidr);
	struct model *m = model_new("node-a");
	struct strbuf text = STRBUF_INIT;
	struct rules_output last, with_memo, without_memo, fresh;
	struct rules_existing bare = { 0 };
	unsigned shape[SERVICES + 40], present[SERVICES + 40], n_svcs = SERVICES, i, step;
	unsigned replayed_steps = 0, full_steps = 0;

	(void)state;
	for (i = 0; i < SERVICES; i++) {
		shape[i] = rnd(256);
		present[i] = 1;
		service_json(&text, i, shape[i]);
		apply_json(m, strbuf_str(&text), false);
		slice_json(&text, i, rnd(5), rnd(1000));
		apply_json(m, strbuf_str(&text), false);
	}
	node_json(&text, 10, 1);
	apply_json(m, strbuf_str(&text), false);
	rules_build(m, &rc, NULL, true, &last);
	model_dirty_clear(m);

	for (step = 0; step < STEPS; step++) {
		unsigned what = rnd(100), k = rnd(n_svcs);

		if (what < 40 && present[k]) {
			slice_json(&text, k, rnd(6), rnd(1000));
			apply_json(m, strbuf_str(&text), false);
		} else if (what < 50 && present[k]) {
			slice_json(&text, k, 0, 0);
			apply_json(m, strbuf_str(&text), true);
		} else if (what < 70) {
			shape[k] = rnd(256);
			present[k] = 1;
			service_json(&text, k, shape[k]);
			apply_json(m, strbuf_str(&text), false);
		} else if (what < 85 && present[k]) {
			service_json(&text, k, shape[k]);
			apply_json(m, strbuf_str(&text), true);
			present[k] = 0;
		} else if (what < 97 && n_svcs < SERVICES + 40) {
			k = n_svcs++;
			shape[k] = rnd(256);
			present[k] = 1;
			service_json(&text, k, shape[k]);
			apply_json(m, strbuf_str(&text), false);
			slice_json(&text, k, rnd(5), rnd(1000));
			apply_json(m, strbuf_str(&text), false);
		} else {
			/*
			 * The Node moves, changes zone or goes (its address is in the
			 * source ranges; zone hints are read for its zone).
			 */
			node_json(&text, 10 + rnd(3), rnd(3));
			apply_json(m, strbuf_str(&text), rnd(3) == 0);
		}
		rules_build(m, &rc, &last.after, false, &with_memo);
		rules_existing_copy(&bare, &last.after);
		assert_null(bare.memo);
		/* A changed context (the Node) makes the memo's build a full one. */
		rules_build(m, &rc, &bare, with_memo.full, &without_memo);
		assert_same_output(&with_memo, &without_memo);
		full_steps += with_memo.full;
		/* Most steps change one Service: the rest must have been replayed. */
		replayed_steps += model_dirty_count(m) < model_service_count(m);
		model_dirty_clear(m);
		rules_output_fini(&without_memo);
		rules_output_fini(&last);
		last = with_memo;
	}
	print_message("%u steps, %u with Services replayed, %u full (the Node changed), %zu "
		      "Services at the end\n",
		      STEPS, replayed_steps, full_steps, model_service_count(m));
	assert_true(replayed_steps > STEPS / 2);
	assert_true(full_steps > 0 && full_steps < STEPS / 4);

	/* The chains left after all those partial builds are those of a fresh full build. */
	rules_build(m, &rc, NULL, true, &fresh);
	assert_same_record(&last.after, &fresh.after);
	rules_existing_fini(&bare);
	rules_output_fini(&fresh);
	rules_output_fini(&last);
	strbuf_fini(&text);
	model_free(m);
}

/*
 * Crossing into large-cluster mode (no comments on endpoint rules) makes the
 * next build a full one: the chains of Services that did not change are
 * written again without their comments, as a fresh full sync writes them.
 */
static void test_large_mode_crossing(void **state)
{
	struct featuregate_set gates;
	struct k8s_cidr cidr;
	struct rules_config rc = config(&gates, &cidr);
	struct model *m = model_new("node-a");
	struct strbuf text = STRBUF_INIT;
	struct rules_output first, crossed, fresh;
	unsigned i;

	(void)state;
	rc.batch_chains = 0; /* every chain in the one payload */
	service_json(&text, 0, 0);
	apply_json(m, strbuf_str(&text), false);
	slice_json(&text, 0, 1, 1);
	apply_json(m, strbuf_str(&text), false);
	rules_build(m, &rc, NULL, true, &first);
	assert_non_null(strstr(strbuf_str(&first.payload), "--comment \"ns0/svc0:http -> "));
	model_dirty_clear(m);
	for (i = 1; i <= 11; i++) {
		service_json(&text, i, 0);
		apply_json(m, strbuf_str(&text), false);
		slice_json(&text, i, 100, i);
		apply_json(m, strbuf_str(&text), false);
	}
	rules_build(m, &rc, &first.after, false, &crossed);
	assert_true(crossed.full);
	rules_build(m, &rc, NULL, true, &fresh);
	assert_null(strstr(strbuf_str(&fresh.payload), "ns0/svc0:http -> "));
	/* svc0 did not change, yet its chains are rewritten, as the fresh build writes them. */
	assert_int_equal(crossed.stats.chains[RULES_TABLE_NAT],
			 fresh.stats.chains[RULES_TABLE_NAT]);
	assert_int_equal(crossed.stats.rules[RULES_TABLE_NAT], fresh.stats.rules[RULES_TABLE_NAT]);
	{
		const char *p = strstr(strbuf_str(&fresh.payload), "--to-destination 10.244.");
		const char *line, *end;
		char want[512];

		assert_non_null(p);
		for (line = p; line > strbuf_str(&fresh.payload) && line[-1] != '\n'; line--)
			;
		end = strchr(p, '\n');
		assert_true((size_t)(end - line) < sizeof(want));
		memcpy(want, line, (size_t)(end - line));
		want[end - line] = '\0';
		assert_non_null(strstr(strbuf_str(&crossed.payload), want));
	}
	rules_output_fini(&first);
	rules_output_fini(&crossed);
	rules_output_fini(&fresh);
	strbuf_fini(&text);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_equals_recompute),
		cmocka_unit_test(test_large_mode_crossing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
