// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The command line. One table describes every flag: its name, argument, help
 * text, default and parser. config_init() applies the defaults through the
 * same parsers, config_parse_argv() builds getopt_long's option array from the
 * table, and config_usage() prints it, so the three cannot disagree.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/config.h"
#include "proxy/strbuf.h"
#include "proxy/xalloc.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* getopt_long returns FLAG_VAL_BASE + index for a long option: above any char. */
#define FLAG_VAL_BASE 0x100

/* --help keeps within this many columns where the flag names allow. */
#define USAGE_COLUMNS 100

/* Bytes of a command-line value that a message repeats. */
#define ECHO_MAX 100

#define DURATION_EXAMPLES "not a duration (examples: 1s, 500ms, 1m30s)"
#define NODE_NAME_RULE                                                                             \
	"not a valid node name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.')"

enum flag_arg {
	FLAG_ARG_NONE,	/* --dry-run */
	FLAG_ARG_VALUE, /* --master URL or --master=URL */
	FLAG_ARG_BOOL,	/* --masquerade-all or --masquerade-all=true|false */
};

struct parse_ctx {
	struct config *cfg;
	unsigned modes; /* a bit per enum config_mode named on the command line */
};

struct flag;

/* Parses val (NULL for a bare bool or mode flag) into the config; on error sets
 * err to the reason only, which the caller prefixes with the value and flag. */
typedef int flag_parse_fn(struct parse_ctx *ctx, const struct flag *f, const char *val,
			  struct errbuf *err);

/**
 * struct flag - one command-line flag.
 * @def: a value in flag syntax, applied by config_init() and shown in --help.
 * @def_note: a default that is not a value (shown as "default: ..."), or NULL.
 * @off: offsetof() the field the parser fills, for parsers shared by flags.
 * @min, @max: range of numeric flags; for mode flags @min is the config_mode.
 * @usage_extra: prints more lines under the flag in --help, or NULL.
 */
struct flag {
	const char *name;
	char short_name;
	enum flag_arg arg;
	const char *metavar;
	const char *section;
	const char *help;
	const char *def;
	const char *def_note;
	flag_parse_fn *parse;
	size_t off;
	long min;
	long max;
	void (*usage_extra)(FILE *out, int indent);
};

static flag_parse_fn parse_string, parse_url, parse_hostname, parse_cluster_cidrs,
	parse_nodeport_addresses, parse_bool, parse_unsigned, parse_int, parse_gates,
	parse_duration, parse_backend, parse_hostport, parse_mode;

static void usage_gates(FILE *out, int indent);

#define SECTION_SOURCE "Source of cluster state (default: in-cluster, KUBERNETES_SERVICE_HOST/PORT)"
#define SECTION_NODE   "Node and traffic"
#define SECTION_SYNC   "Sync"
#define SECTION_SERVE  "Servers (an empty address turns the server off)"
#define SECTION_MODES  "Modes"

/* In --help order: the flags of a section stay together, so each heading prints once. */
static const struct flag flags[] = {
	{ .name = "master",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "URL",
	  .section = SECTION_SOURCE,
	  .help = "API server URL (http:// or https://); overrides the kubeconfig's server",
	  .parse = parse_url,
	  .off = offsetof(struct config, master) },
	{ .name = "kubeconfig",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "PATH",
	  .section = SECTION_SOURCE,
	  .help = "kubeconfig file (current context: server, CA, token or client certificate)",
	  .parse = parse_string,
	  .off = offsetof(struct config, kubeconfig) },
	{ .name = "from-file",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "PATH",
	  .section = SECTION_SOURCE,
	  .help = "JSON List of Services, EndpointSlices, Endpoints and Nodes (kubectl get -o "
		  "json), re-read when it changes; not with --master or --kubeconfig",
	  .parse = parse_string,
	  .off = offsetof(struct config, from_file) },
	{ .name = "hostname-override",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "NAME",
	  .section = SECTION_NODE,
	  .help = "this node's name",
	  .def_note = "$NODE_NAME, then the host name in lower case",
	  .parse = parse_hostname,
	  .off = offsetof(struct config, hostname) },
	{ .name = "cluster-cidr",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "CIDR[,..]",
	  .section = SECTION_NODE,
	  .help = "pod CIDR, one per family: traffic from elsewhere to a ClusterIP is masqueraded",
	  .def_note = "none",
	  .parse = parse_cluster_cidrs },
	{ .name = "nodeport-addresses",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "CIDR[,..]|primary",
	  .section = SECTION_NODE,
	  .help = "addresses that accept NodePorts: those in the CIDRs, or the Node's own IPs",
	  .def_note = "all local addresses",
	  .parse = parse_nodeport_addresses },
	{ .name = "masquerade-all",
	  .arg = FLAG_ARG_BOOL,
	  .section = SECTION_NODE,
	  .help = "masquerade all traffic sent to Service IPs",
	  .def = "false",
	  .parse = parse_bool,
	  .off = offsetof(struct config, masquerade_all) },
	{ .name = "iptables-masquerade-bit",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "N",
	  .section = SECTION_NODE,
	  .help = "fwmark bit (0-31) that marks packets to masquerade",
	  .def = "14",
	  .parse = parse_unsigned,
	  .off = offsetof(struct config, masquerade_bit),
	  .min = 0,
	  .max = 31 },
	/* Off by default, unlike kube-proxy: route_localnet exposes 127.0.0.1
	 * services to the neighbours (CVE-2020-8558). */
	{ .name = "iptables-localhost-nodeports",
	  .arg = FLAG_ARG_BOOL,
	  .section = SECTION_NODE,
	  .help = "accept NodePorts on 127.0.0.1 (sets route_localnet; see CVE-2020-8558)",
	  .def = "false",
	  .parse = parse_bool,
	  .off = offsetof(struct config, localhost_nodeports) },
	{ .name = "feature-gates",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "NAME=BOOL[,..]",
	  .section = SECTION_NODE,
	  .help = "turn feature gates on or off; may be repeated; known gates:",
	  .parse = parse_gates,
	  .off = offsetof(struct config, gates),
	  .usage_extra = usage_gates },
	{ .name = "iptables-sync-period",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "DUR",
	  .section = SECTION_SYNC,
	  .help = "longest wait before retrying a failed sync",
	  .def = "30s",
	  .parse = parse_duration,
	  .off = offsetof(struct config, sync_period_ms),
	  .min = 1 },
	{ .name = "iptables-min-sync-period",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "DUR",
	  .section = SECTION_SYNC,
	  .help = "shortest time between two syncs (0: sync at once)",
	  .def = "1s",
	  .parse = parse_duration,
	  .off = offsetof(struct config, min_sync_period_ms) },
	{ .name = "iptables-restore-timeout",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "DUR",
	  .section = SECTION_SYNC,
	  .help = "kill an iptables-restore that runs longer; the kernel keeps its old rules",
	  .def = "5m",
	  .parse = parse_duration,
	  .off = offsetof(struct config, restore_timeout_ms),
	  .min = 1 },
	{ .name = "iptables-dispatch-split",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "N",
	  .section = SECTION_SYNC,
	  .help = "above N service addresses (NodePorts), nat KPROXY-SERVICES "
		  "(KPROXY-NODEPORTS) dispatches through buckets (0: never)",
	  .def = "1000",
	  .parse = parse_unsigned,
	  .off = offsetof(struct config, dispatch_split),
	  .min = 0,
	  .max = 100000000 },
	{ .name = "iptables-backend",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "auto|nft|legacy",
	  .section = SECTION_SYNC,
	  .help = "iptables flavour; auto follows what the host uses",
	  .def = "auto",
	  .parse = parse_backend },
	{ .name = "healthz-bind-address",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "ADDR:PORT",
	  .section = SECTION_SERVE,
	  .help = "/healthz and /livez",
	  .def = "0.0.0.0:10256",
	  .parse = parse_hostport,
	  .off = offsetof(struct config, healthz) },
	{ .name = "metrics-bind-address",
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "ADDR:PORT",
	  .section = SECTION_SERVE,
	  .help = "/metrics, /debug/rules and /debug/model",
	  .def = "127.0.0.1:10249",
	  .parse = parse_hostport,
	  .off = offsetof(struct config, metrics) },
	{ .name = "enable-debug-handlers",
	  .arg = FLAG_ARG_BOOL,
	  .section = SECTION_SERVE,
	  .help = "serve /debug/rules and /debug/model on the metrics address",
	  .def = "true",
	  .parse = parse_bool,
	  .off = offsetof(struct config, debug_handlers) },
	{ .name = "dry-run",
	  .arg = FLAG_ARG_NONE,
	  .section = SECTION_MODES,
	  .help = "print the iptables-restore payload of one full sync and exit",
	  .parse = parse_mode,
	  .min = CONFIG_MODE_DRY_RUN },
	{ .name = "cleanup",
	  .arg = FLAG_ARG_NONE,
	  .section = SECTION_MODES,
	  .help = "remove every chain and rule kproxy created and exit",
	  .parse = parse_mode,
	  .min = CONFIG_MODE_CLEANUP },
	{ .name = "v",
	  .short_name = 'v',
	  .arg = FLAG_ARG_VALUE,
	  .metavar = "N",
	  .section = SECTION_MODES,
	  .help = "log verbosity (0-10)",
	  .def = "0",
	  .parse = parse_int,
	  .off = offsetof(struct config, verbosity),
	  .min = 0,
	  .max = 10 },
	{ .name = "help",
	  .short_name = 'h',
	  .arg = FLAG_ARG_NONE,
	  .section = SECTION_MODES,
	  .help = "print this help and exit",
	  .parse = parse_mode,
	  .min = CONFIG_MODE_HELP },
	{ .name = "version",
	  .arg = FLAG_ARG_NONE,
	  .section = SECTION_MODES,
	  .help = "print the version and exit",
	  .parse = parse_mode,
	  .min = CONFIG_MODE_VERSION },
};

static const struct {
	const char *name;
	enum config_backend backend;
} backends[] = {
	{ "auto", CONFIG_BACKEND_AUTO },
	{ "nft", CONFIG_BACKEND_NFT },
	{ "legacy", CONFIG_BACKEND_LEGACY },
};

static const char *const url_schemes[] = { "http://", "https://" };

/* A command-line value made fit to repeat in a message (see errbuf_echo()). */
static const char *echo_n(const char *s, size_t n, struct errbuf_echo *e)
{
	return errbuf_echo(e, s, n, ECHO_MAX);
}

static const char *echo(const char *s, struct errbuf_echo *e)
{
	return echo_n(s, strlen(s), e);
}

static void *field(const struct parse_ctx *ctx, const struct flag *f)
{
	return (char *)ctx->cfg + f->off;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims blanks around s[0..*n) in place of the pointer and length. */
static void trim(const char **s, size_t *n)
{
	while (*n > 0 && is_blank(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_blank((*s)[*n - 1]))
		(*n)--;
}

static int parse_string(struct parse_ctx *ctx, const struct flag *f, const char *val,
			struct errbuf *err)
{
	char **dst = field(ctx, f);

	if (!*val)
		return errbuf_set(err, "must not be empty");
	free(*dst);
	*dst = xstrdup(val);
	return 0;
}

static int parse_url(struct parse_ctx *ctx, const struct flag *f, const char *val,
		     struct errbuf *err)
{
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(url_schemes); i++) {
		n = strlen(url_schemes[i]);
		if (strncmp(val, url_schemes[i], n) == 0 && val[n] != '\0')
			return parse_string(ctx, f, val, err);
	}
	return errbuf_set(err, "must start with http:// or https:// and name a host");
}

static int parse_hostname(struct parse_ctx *ctx, const struct flag *f, const char *val,
			  struct errbuf *err)
{
	if (!k8s_is_dns1123_subdomain(val))
		return errbuf_set(err, NODE_NAME_RULE);
	return parse_string(ctx, f, val, err);
}

/*
 * Parses a comma-separated list of CIDRs into out (CONFIG_MAX_CIDRS entries);
 * an empty or blank value is the empty list. *n is set only on success.
 */
static int cidr_list_parse(const char *val, struct k8s_cidr *out, size_t *n, struct errbuf *err)
{
	struct k8s_cidr tmp[CONFIG_MAX_CIDRS];
	char item[K8S_ADDR_STRLEN + 8];
	bool many = strchr(val, ',') != NULL;
	const char *p = val, *s, *comma;
	size_t count = 0, len;
	struct errbuf_echo e;

	len = strlen(val);
	trim(&p, &len);
	if (len == 0) {
		*n = 0;
		return 0;
	}
	for (p = val;; p = comma + 1) {
		comma = strchr(p, ',');
		s = p;
		len = comma ? (size_t)(comma - p) : strlen(p);
		trim(&s, &len);
		if (count == CONFIG_MAX_CIDRS)
			return errbuf_set(err, "more than %d CIDRs", CONFIG_MAX_CIDRS);
		if (len < sizeof(item)) {
			memcpy(item, s, len);
			item[len] = '\0';
		}
		if (len >= sizeof(item) || !k8s_cidr_parse(item, &tmp[count])) {
			if (many)
				return errbuf_set(err, "\"%s\" is not a CIDR", echo_n(s, len, &e));
			return errbuf_set(err, "not a CIDR");
		}
		count++;
		if (!comma)
			break;
	}
	memcpy(out, tmp, count * sizeof(tmp[0]));
	*n = count;
	return 0;
}

/*
 * Pod CIDRs: one, or one of each family (dual stack), as kube-proxy accepts
 * them; a second of the same family would be ignored by the local-traffic
 * rules, which match one CIDR per family, so it is refused.
 */
static int parse_cluster_cidrs(struct parse_ctx *ctx, const struct flag *f, const char *val,
			       struct errbuf *err)
{
	struct config *cfg = ctx->cfg;
	size_t i, k;
	int r;

	(void)f;
	r = cidr_list_parse(val, cfg->cluster_cidrs, &cfg->n_cluster_cidrs, err);
	if (r < 0)
		return r;
	for (i = 1; i < cfg->n_cluster_cidrs; i++) {
		for (k = 0; k < i; k++) {
			if (cfg->cluster_cidrs[k].addr.family != cfg->cluster_cidrs[i].addr.family)
				continue;
			cfg->n_cluster_cidrs = 0;
			return errbuf_set(
				err,
				"one CIDR, or one of each family (10.244.0.0/16,fd00:10:244::/56), "
				"not two %s CIDRs",
				cfg->cluster_cidrs[i].addr.family == K8S_FAMILY_IPV4 ? "IPv4"
										     : "IPv6");
		}
	}
	return 0;
}

/* "primary" stands for the Node's own addresses and replaces any CIDRs given before. */
static int parse_nodeport_addresses(struct parse_ctx *ctx, const struct flag *f, const char *val,
				    struct errbuf *err)
{
	struct config *cfg = ctx->cfg;
	const char *s = val;
	size_t len = strlen(val);
	int rc;

	(void)f;
	trim(&s, &len);
	if (len == strlen("primary") && memcmp(s, "primary", len) == 0) {
		cfg->nodeport_primary = true;
		cfg->n_nodeport_cidrs = 0;
		return 0;
	}
	rc = cidr_list_parse(val, cfg->nodeport_cidrs, &cfg->n_nodeport_cidrs, err);
	if (rc == 0)
		cfg->nodeport_primary = false;
	return rc;
}

/* A bare bool flag means true; with a value it must be exactly true or false. */
static int parse_bool(struct parse_ctx *ctx, const struct flag *f, const char *val,
		      struct errbuf *err)
{
	bool *dst = field(ctx, f);

	if (!val || strcmp(val, "true") == 0)
		*dst = true;
	else if (strcmp(val, "false") == 0)
		*dst = false;
	else
		return errbuf_set(err, "want true or false");
	return 0;
}

/* A decimal number (an optional '-' and digits only) within [f->min, f->max]. */
static int number_parse(const struct flag *f, const char *val, long *out, struct errbuf *err)
{
	const char *digits = val[0] == '-' ? val + 1 : val;
	char *end;
	long v = 0;

	if (*digits < '0' || *digits > '9')
		return errbuf_set(err, "not a number");
	errno = 0;
	v = strtol(val, &end, 10);
	if (*end != '\0')
		return errbuf_set(err, "not a number");
	if (errno == ERANGE || v < f->min || v > f->max)
		return errbuf_set(err, "must be between %ld and %ld", f->min, f->max);
	*out = v;
	return 0;
}

static int parse_unsigned(struct parse_ctx *ctx, const struct flag *f, const char *val,
			  struct errbuf *err)
{
	unsigned *dst = field(ctx, f);
	long v = 0;
	int rc;

	rc = number_parse(f, val, &v, err);
	if (rc == 0)
		*dst = (unsigned)v;
	return rc;
}

static int parse_int(struct parse_ctx *ctx, const struct flag *f, const char *val,
		     struct errbuf *err)
{
	int *dst = field(ctx, f);
	long v = 0;
	int rc;

	rc = number_parse(f, val, &v, err);
	if (rc == 0)
		*dst = (int)v;
	return rc;
}

/* Each --feature-gates applies on top of the ones before it. */
static int parse_gates(struct parse_ctx *ctx, const struct flag *f, const char *val,
		       struct errbuf *err)
{
	return featuregate_parse(field(ctx, f), val, err);
}

static int parse_duration(struct parse_ctx *ctx, const struct flag *f, const char *val,
			  struct errbuf *err)
{
	uint64_t *dst = field(ctx, f);
	uint64_t ms;
	int rc;

	rc = config_parse_duration(val, &ms);
	if (rc == -ERANGE)
		return errbuf_set(err, "too long");
	if (rc < 0 && val[0] == '-' && config_parse_duration(val + 1, &ms) == 0)
		return errbuf_set(err, "must not be negative");
	if (rc < 0)
		return errbuf_set(err, DURATION_EXAMPLES);
	if (ms < (uint64_t)f->min)
		return errbuf_set(err, "must be at least %ldms", f->min);
	*dst = ms;
	return 0;
}

static int parse_backend(struct parse_ctx *ctx, const struct flag *f, const char *val,
			 struct errbuf *err)
{
	size_t i;

	(void)f;
	for (i = 0; i < ARRAY_SIZE(backends); i++) {
		if (strcmp(val, backends[i].name) == 0) {
			ctx->cfg->backend = backends[i].backend;
			return 0;
		}
	}
	return errbuf_set(err, "want auto, nft or legacy");
}

/*
 * ADDR:PORT or [ADDR]:PORT, where ADDR is an IP address (IPv6 needs the
 * brackets) and PORT 0..65535 (0 lets the kernel pick). Empty turns the server
 * off.
 */
static int parse_hostport(struct parse_ctx *ctx, const struct flag *f, const char *val,
			  struct errbuf *err)
{
	struct config_hostport *dst = field(ctx, f);
	struct config_hostport hp = { .enabled = true };
	char addr[K8S_ADDR_STRLEN];
	const char *host, *colon, *port;
	size_t host_len, port_len, i;
	unsigned long v = 0;

	if (!*val) {
		memset(dst, 0, sizeof(*dst));
		return 0;
	}
	if (val[0] == '[') {
		const char *close = strchr(val, ']');

		if (close && close[1] == '\0')
			return errbuf_set(err, "missing port (want ADDR:PORT or [ADDR]:PORT)");
		if (!close || close[1] != ':')
			return errbuf_set(err, "not [ADDR]:PORT");
		host = val + 1;
		host_len = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(val, ':');
		if (!colon)
			return errbuf_set(err, "missing port (want ADDR:PORT or [ADDR]:PORT)");
		if (memchr(val, ':', (size_t)(colon - val)))
			return errbuf_set(err, "an IPv6 address needs brackets, as in [::1]:10256");
		host = val;
		host_len = (size_t)(colon - val);
	}
	port = colon + 1;
	port_len = strlen(port);
	if (host_len == 0 || host_len >= sizeof(addr))
		return errbuf_set(err, "not an IP address");
	memcpy(addr, host, host_len);
	addr[host_len] = '\0';
	if (!k8s_addr_parse(addr, &hp.addr))
		return errbuf_set(err, "not an IP address");
	if (port_len == 0 || port_len > 5)
		return errbuf_set(err, "port must be a number between 0 and 65535");
	for (i = 0; i < port_len; i++) {
		if (port[i] < '0' || port[i] > '9')
			return errbuf_set(err, "port must be a number between 0 and 65535");
		v = v * 10 + (unsigned long)(port[i] - '0');
	}
	if (v > 65535)
		return errbuf_set(err, "port must be a number between 0 and 65535");
	hp.port = (uint16_t)v;
	*dst = hp;
	return 0;
}

static int parse_mode(struct parse_ctx *ctx, const struct flag *f, const char *val,
		      struct errbuf *err)
{
	(void)val;
	(void)err;
	ctx->modes |= 1u << f->min;
	return 0;
}

void config_init(struct config *cfg)
{
	struct parse_ctx ctx = { cfg, 0 };
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mode = CONFIG_MODE_RUN;
	featuregate_init(&cfg->gates);
	/* The defaults are values in flag syntax; the test of config_init checks each. */
	for (i = 0; i < ARRAY_SIZE(flags); i++)
		if (flags[i].def)
			(void)flags[i].parse(&ctx, &flags[i], flags[i].def, NULL);
}

void config_fini(struct config *cfg)
{
	free(cfg->master);
	free(cfg->kubeconfig);
	free(cfg->from_file);
	free(cfg->hostname);
	cfg->master = NULL;
	cfg->kubeconfig = NULL;
	cfg->from_file = NULL;
	cfg->hostname = NULL;
}

/*
 * Go's time.ParseDuration: an optional sign, then "0" alone or a sequence of
 * decimal numbers (with an optional fraction), each followed by a unit.
 */
static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1ull },		   /* nanosecond */
	{ "us", 1000ull },	   /* microsecond */
	{ "\xc2\xb5s", 1000ull },  /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000ull },  /* U+03BC Greek small letter mu */
	{ "ms", 1000000ull },	   /* millisecond */
	{ "s", 1000000000ull },	   /* second */
	{ "m", 60000000000ull },   /* minute */
	{ "h", 3600000000000ull }, /* hour */
};

#define DURATION_MAX_NS (UINT64_C(1) << 63)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int config_parse_duration(const char *s, uint64_t *ms)
{
	bool neg = false;
	uint64_t total = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t v = 0, frac = 0, unit = 0;
		double scale = 1;
		bool pre = false, post = false, overflow = false;
		size_t n, i;

		if (!is_digit(*s) && *s != '.')
			return -EINVAL;
		for (; is_digit(*s); s++, pre = true) {
			if (v > (DURATION_MAX_NS - (uint64_t)(*s - '0')) / 10)
				return -ERANGE;
			v = v * 10 + (uint64_t)(*s - '0');
		}
		/* Digits of the fraction beyond what fits are dropped, as Go does. */
		if (*s == '.') {
			for (s++; is_digit(*s); s++, post = true) {
				if (overflow || frac > DURATION_MAX_NS / 10) {
					overflow = true;
					continue;
				}
				frac = frac * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
		}
		if (!pre && !post)
			return -EINVAL;
		for (n = 0; s[n] && s[n] != '.' && !is_digit(s[n]); n++)
			;
		if (n == 0)
			return -EINVAL;
		for (i = 0; i < ARRAY_SIZE(duration_units); i++)
			if (strlen(duration_units[i].name) == n &&
			    memcmp(duration_units[i].name, s, n) == 0)
				unit = duration_units[i].ns;
		if (!unit)
			return -EINVAL;
		s += n;
		if (v > DURATION_MAX_NS / unit)
			return -ERANGE;
		v *= unit;
		if (frac > 0) {
			v += (uint64_t)((double)frac * ((double)unit / scale));
			if (v > DURATION_MAX_NS)
				return -ERANGE;
		}
		total += v;
		if (total > DURATION_MAX_NS)
			return -ERANGE;
	}
	if (neg && total > 0)
		return -EINVAL;
	if (total > DURATION_MAX_NS - 1)
		return -ERANGE;
	*ms = total / 1000000;
	return 0;
}

static const struct flag *flag_by_val(int val)
{
	size_t i;

	if (val >= FLAG_VAL_BASE && (size_t)(val - FLAG_VAL_BASE) < ARRAY_SIZE(flags))
		return &flags[val - FLAG_VAL_BASE];
	for (i = 0; i < ARRAY_SIZE(flags); i++)
		if (flags[i].short_name && flags[i].short_name == val)
			return &flags[i];
	return NULL;
}

static const int getopt_has_arg[] = {
	[FLAG_ARG_NONE] = no_argument,
	[FLAG_ARG_VALUE] = required_argument,
	[FLAG_ARG_BOOL] = optional_argument,
};

/*
 * "-" makes getopt_long return positional arguments in order (as option 1) so
 * that they are reported where they are; ":" makes a missing value ':' rather
 * than '?'.
 */
static void build_options(struct option *longopts, char *shortopts)
{
	size_t i;

	*shortopts++ = '-';
	*shortopts++ = ':';
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		longopts[i].name = flags[i].name;
		longopts[i].has_arg = getopt_has_arg[flags[i].arg];
		longopts[i].flag = NULL;
		longopts[i].val = FLAG_VAL_BASE + (int)i;
		if (flags[i].short_name) {
			*shortopts++ = flags[i].short_name;
			if (flags[i].arg == FLAG_ARG_VALUE)
				*shortopts++ = ':';
		}
	}
	memset(&longopts[i], 0, sizeof(longopts[i]));
	*shortopts = '\0';
}

/* "--name" or "--name=value": the length of the name after "--". */
static size_t token_name_len(const char *token)
{
	return strcspn(token + 2, "=");
}

/*
 * getopt_long takes any unambiguous prefix of a long name; Kubernetes does
 * not, and a prefix would stop working the day a longer flag is added.
 */
static bool exact_name(const char *token, const struct flag *f)
{
	size_t n;

	if (strncmp(token, "--", 2) != 0)
		return false;
	n = token_name_len(token);
	return n == strlen(f->name) && strncmp(token + 2, f->name, n) == 0;
}

static int unknown_flag(const char *token, int optopt_val, struct errbuf *err)
{
	char ch = (char)optopt_val;
	struct errbuf_echo e;

	if (optopt_val > 0 && optopt_val < FLAG_VAL_BASE)
		return errbuf_set(err, "unknown flag: -%s", echo_n(&ch, 1, &e));
	if (strncmp(token, "--", 2) == 0)
		return errbuf_set(err, "unknown flag: --%s",
				  echo_n(token + 2, token_name_len(token), &e));
	return errbuf_set(err, "unknown flag: %s", echo(token, &e));
}

/*
 * getopt_long returned ':' (a value is missing) or '?' (an unknown flag, or a
 * value given to a flag that takes none); token is the argument it was at.
 * optopt is 0 for an unknown long flag, the option character for a short one
 * and FLAG_VAL_BASE + index for a known long one.
 */
static int getopt_error(int c, const char *token, struct errbuf *err)
{
	const struct flag *f = flag_by_val(optopt);

	if (optopt >= FLAG_VAL_BASE && (!f || !exact_name(token, f)))
		return unknown_flag(token, 0, err);
	if (c == ':' && optopt >= FLAG_VAL_BASE)
		return errbuf_set(err, "flag --%s needs a value", f->name);
	if (c == ':')
		return errbuf_set(err, "flag -%c needs a value", optopt);
	if (optopt >= FLAG_VAL_BASE)
		return errbuf_set(err, "flag --%s does not take a value", f->name);
	return unknown_flag(token, optopt, err);
}

/* The node name when --hostname-override is absent: $NODE_NAME, then the host name. */
static int default_hostname(struct config *cfg, struct errbuf *err)
{
	const char *env = getenv("NODE_NAME");
	char host[HOST_NAME_MAX + 1];
	struct errbuf_echo e;
	size_t i;

	if (env && *env) {
		if (!k8s_is_dns1123_subdomain(env))
			return errbuf_set(err,
					  "invalid value \"%s\" in $NODE_NAME: " NODE_NAME_RULE
					  "; set --hostname-override",
					  echo(env, &e));
		cfg->hostname = xstrdup(env);
		return 0;
	}
	if (gethostname(host, sizeof(host)) != 0)
		return errbuf_set(err,
				  "cannot find the node name: gethostname: %s; set "
				  "--hostname-override",
				  strerror(errno));
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i]; i++)
		if (host[i] >= 'A' && host[i] <= 'Z')
			host[i] = (char)(host[i] - 'A' + 'a');
	if (!k8s_is_dns1123_subdomain(host))
		return errbuf_set(err,
				  "host name \"%s\" is " NODE_NAME_RULE "; set --hostname-override",
				  echo(host, &e));
	cfg->hostname = xstrdup(host);
	return 0;
}

#define MODE_BIT(m) (1u << (m))

/* Checks that concern more than one flag, then fills what defaults to the host. */
static int finish(struct parse_ctx *ctx, struct errbuf *err)
{
	struct config *cfg = ctx->cfg;

	if (ctx->modes & MODE_BIT(CONFIG_MODE_HELP)) {
		cfg->mode = CONFIG_MODE_HELP;
		return 0;
	}
	if (ctx->modes & MODE_BIT(CONFIG_MODE_VERSION)) {
		cfg->mode = CONFIG_MODE_VERSION;
		return 0;
	}
	if ((ctx->modes & MODE_BIT(CONFIG_MODE_DRY_RUN)) &&
	    (ctx->modes & MODE_BIT(CONFIG_MODE_CLEANUP)))
		return errbuf_set(err, "--dry-run and --cleanup cannot be used together");
	if (ctx->modes & MODE_BIT(CONFIG_MODE_DRY_RUN))
		cfg->mode = CONFIG_MODE_DRY_RUN;
	if (ctx->modes & MODE_BIT(CONFIG_MODE_CLEANUP))
		cfg->mode = CONFIG_MODE_CLEANUP;
	if (cfg->from_file && (cfg->master || cfg->kubeconfig))
		return errbuf_set(err, "--from-file cannot be used with --master or --kubeconfig");
	if (cfg->min_sync_period_ms > cfg->sync_period_ms)
		return errbuf_set(err,
				  "--iptables-min-sync-period (%" PRIu64
				  "ms) is longer than --iptables-sync-period (%" PRIu64 "ms)",
				  cfg->min_sync_period_ms, cfg->sync_period_ms);
	if (!cfg->hostname)
		return default_hostname(cfg, err);
	return 0;
}

int config_parse_argv(struct config *cfg, int argc, char **argv, struct errbuf *err)
{
	struct option longopts[ARRAY_SIZE(flags) + 1];
	char shortopts[3 + 2 * ARRAY_SIZE(flags)];
	struct parse_ctx ctx = { cfg, 0 };
	const struct flag *f;
	const char *val;
	struct errbuf_echo e;
	int c, at, longidx, rc;

	build_options(longopts, shortopts);
	/* optind = 0 makes glibc start afresh, so this can run more than once. */
	opterr = 0;
	optind = 0;
	for (;;) {
		at = optind ? optind : 1;
		longidx = -1;
		c = getopt_long(argc, argv, shortopts, longopts, &longidx);
		if (c == -1)
			break;
		if (c == 1)
			return errbuf_set(err, "unexpected argument \"%s\"", echo(optarg, &e));
		if (c == ':' || c == '?')
			return getopt_error(c, argv[at], err);
		f = flag_by_val(c);
		if (!f || (longidx >= 0 && !exact_name(argv[at], f)))
			return unknown_flag(argv[at], 0, err);
		val = optarg;
		/* "-v=3" means -v 3, as in Kubernetes; "-v =3" stays as it is. */
		if (longidx < 0 && val && val[0] == '=' && val != argv[optind - 1])
			val++;
		rc = f->parse(&ctx, f, val, err);
		if (rc < 0) {
			errbuf_prefix(err, "invalid value \"%s\" for --%s",
				      echo(val ? val : "", &e), f->name);
			return rc;
		}
	}
	if (optind < argc)
		return errbuf_set(err, "unexpected argument \"%s\"", echo(argv[optind], &e));
	return finish(&ctx, err);
}

static int flag_left_column(const struct flag *f, char *buf, size_t size)
{
	const char *meta = f->arg == FLAG_ARG_VALUE ? f->metavar : NULL;
	char shortname[8] = "";

	if (f->short_name)
		snprintf(shortname, sizeof(shortname), "-%c, ", f->short_name);
	return snprintf(buf, size, "%s--%s%s%s%s", shortname, f->name,
			f->arg == FLAG_ARG_BOOL ? "[=BOOL]" : "", meta ? " " : "",
			meta ? meta : "");
}

static void usage_gates(FILE *out, int indent)
{
	struct strbuf sb = STRBUF_INIT;
	const char *line, *nl;

	featuregate_format_known(&sb);
	for (line = strbuf_str(&sb); *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		fprintf(out, "%*s%.*s\n", indent, "", (int)(nl - line), line);
	}
	strbuf_fini(&sb);
}

/* Prints one word (or unbreakable unit) of help text and returns the new column. */
static int usage_word(FILE *out, const char *word, int len, int col, int indent)
{
	if (col > indent && col + 1 + len > USAGE_COLUMNS) {
		fprintf(out, "\n%*s", indent, "");
		col = indent;
	}
	if (col > indent) {
		fputc(' ', out);
		col++;
	}
	fprintf(out, "%.*s", len, word);
	return col + len;
}

/*
 * Prints help from column indent on (the cursor is there), breaking lines
 * between words to stay within USAGE_COLUMNS; tail, such as "(default 30s)",
 * is kept in one piece.
 */
static void usage_wrap(FILE *out, const char *help, const char *tail, int indent)
{
	int col = indent;
	size_t n;

	for (help += strspn(help, " "); *help; help += strspn(help, " ")) {
		n = strcspn(help, " ");
		col = usage_word(out, help, (int)n, col, indent);
		help += n;
	}
	if (*tail)
		usage_word(out, tail, (int)strlen(tail), col, indent);
	fputc('\n', out);
}

void config_usage(FILE *out)
{
	struct strbuf tail = STRBUF_INIT;
	char left[128];
	const char *section = NULL;
	int width = 0, n;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		n = flag_left_column(&flags[i], left, sizeof(left));
		if (n > width)
			width = n;
	}
	fprintf(out, "Usage: kproxy [flags]\n\n"
		     "kproxy makes Kubernetes Services work on this node by programming iptables,\n"
		     "in place of kube-proxy.\n");
	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		const struct flag *f = &flags[i];

		if (!section || strcmp(section, f->section) != 0) {
			section = f->section;
			fprintf(out, "\n%s:\n", section);
		}
		flag_left_column(f, left, sizeof(left));
		strbuf_reset(&tail);
		if (f->def)
			strbuf_addf(&tail, "(default %s)", f->def);
		else if (f->def_note)
			strbuf_addf(&tail, "(default: %s)", f->def_note);
		fprintf(out, "  %-*s  ", width, left);
		usage_wrap(out, f->help, strbuf_str(&tail), width + 4);
		if (f->usage_extra)
			f->usage_extra(out, 6);
	}
	fprintf(out,
		"\nExit status:\n"
		"  0  success\n"
		"  1  runtime failure\n"
		"  2  bad flags or unreadable input (the message names the flag, or the object "
		"and field)\n");
	strbuf_fini(&tail);
}
