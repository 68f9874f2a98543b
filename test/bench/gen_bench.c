// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Generation benchmark: loads a cluster state file, builds the full payload
 * N times and prints the median time, the payload size, and the process's
 * peak RSS; then the partial payload for one changed Service (the one in the
 * middle of the sorted order) against the kernel the full one leaves, N
 * times. Usage: gen_bench STATE.json NODE [RUNS [partial]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <malloc.h>

#include "apiwatch/decode.h"
#include "proxy/model.h"
#include "rules/rules.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	struct decode_list list = { 0 };
	struct featuregate_set gates;
	struct rules_config rc;
	struct rules_output out;
	struct k8s_cidr cidr;
	struct rusage ru;
	struct errbuf err;
	struct model *m;
	double times[64], t0;
	char *text;
	long len, rss_model;
	int runs = argc > 3 ? atoi(argv[3]) : 5, i;
	/* "partial" after RUNS: one full build only (to profile partial ones). */
	int full_runs = argc > 4 && strcmp(argv[4], "partial") == 0 ? 1 : runs;
	size_t k;
	FILE *f;

	if (argc < 3 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: gen_bench STATE.json NODE [RUNS<=64]\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		return perror(argv[1]), 1;
	text = malloc((size_t)len + 1);
	if (!text || fread(text, 1, (size_t)len, f) != (size_t)len)
		return perror(argv[1]), 1;
	fclose(f);
	if (decode_list_parse(text, (size_t)len, &list, &err))
		return fprintf(stderr, "%s\n", err.msg), 1;
	free(text);
	m = model_new(argv[2]);
	for (k = 0; k < list.n_objects; k++)
		model_object_update(m, &list.objects[k], &err);
	decode_list_fini(&list);
	malloc_trim(0);
	rss_model = rss_kb();

	featuregate_init(&gates);
	k8s_cidr_parse("172.16.0.0/12", &cidr);
	memset(&rc, 0, sizeof(rc));
	rc.family = K8S_FAMILY_IPV4;
	rc.cluster_cidr = &cidr;
	rc.masquerade_bit = 14;
	rc.gates = &gates;
	for (i = 0; i < full_runs; i++) {
		t0 = now_s();
		rules_build(m, &rc, NULL, true, &out);
		times[i] = now_s() - t0;
		if (i < full_runs - 1)
			rules_output_fini(&out);
	}
	qsort(times, (size_t)full_runs, sizeof(double), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	{
		struct rules_output part;
		const struct model_service **svcs;
		size_t n;
		double ptimes[64];

		svcs = model_services_sorted(m, &n);
		for (i = 0; i < runs && n; i++) {
			model_dirty_clear(m);
			/* A bench may poke the model: it stands for an endpoint change. */
			((struct model_service *)svcs[n / 2])->dirty = true;
			t0 = now_s();
			rules_build(m, &rc, &out.after, false, &part);
			ptimes[i] = now_s() - t0;
			if (i == runs - 1)
				printf("partial: rules %zu bytes %zu\n",
				       part.stats.rules[0] + part.stats.rules[1], part.payload.len);
			rules_output_fini(&part);
		}
		free(svcs);
		qsort(ptimes, (size_t)runs, sizeof(double), cmp_double);
		printf("partial generation median %.4f s min %.4f s over %d runs\n",
		       ptimes[runs / 2], ptimes[0], runs);
	}
	printf("services %zu endpoints %zu rules %zu chains %zu bytes %zu\n", out.stats.services,
	       out.stats.endpoints, out.stats.rules[0] + out.stats.rules[1],
	       out.stats.chains[0] + out.stats.chains[1], out.payload.len);
	printf("generation median %.3f s min %.3f s over %d runs\n", times[full_runs / 2], times[0],
	       full_runs);
	printf("rss model %ld kB, with payload %ld kB, peak %ld kB\n", rss_model, rss_kb(),
	       ru.ru_maxrss);
	rules_output_fini(&out);
	model_free(m);
	return 0;
}
