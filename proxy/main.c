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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apiwatch/decode.h"
#include "proxy/config.h"
#include "proxy/log.h"
#include "proxy/model.h"
#include "proxy/xalloc.h"
#include "rules/rules.h"

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

/* Fills the generator's view of the flags for one address family. */
static void rules_config_from(struct rules_config *rc, const struct config *cfg,
			      const struct model *m, enum k8s_family family)
{
	const struct k8s_node *node = model_node(m);
	size_t i;

	memset(rc, 0, sizeof(*rc));
	rc->family = family;
	for (i = 0; i < cfg->n_cluster_cidrs; i++) {
		if (cfg->cluster_cidrs[i].addr.family == family) {
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
	if (node) {
		rc->local_addrs = node->addrs;
		rc->n_local_addrs = node->n_addrs;
	}
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
	struct strbuf out = STRBUF_INIT, warnings = STRBUF_INIT;
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
	rules_config_from(&rc, cfg, m, K8S_FAMILY_IPV4);
	rules_build(m, &rc, NULL, true, &out, &warnings, NULL);
	log_warnings(&warnings);
	if (fwrite(strbuf_str(&out), 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fprintf(stderr, "kproxy: writing the payload: %s\n", strerror(errno));
		status = EXIT_FAILURE;
	}
out:
	strbuf_fini(&out);
	strbuf_fini(&warnings);
	model_free(m);
	return status;
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
	case CONFIG_MODE_RUN:
		fprintf(stderr, "kproxy: this build supports only --dry-run so far\n");
		status = EXIT_FAILURE;
		break;
	}
	config_fini(&cfg);
	return status;
}
