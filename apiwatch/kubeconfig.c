// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The kubeconfig is read with libyaml's document loader into a node tree and
 * then walked along fixed paths (current-context -> contexts[] -> clusters[]
 * and users[]), so anything else the file holds is never looked at. Aliases
 * are references in that tree, not copies, so they cannot blow it up; the file
 * itself is capped before it is parsed.
 *
 * Fields are checked the way client-go validates a kubeconfig: both a file
 * and inline data for the same thing, a certificate without its key, or a CA
 * together with insecure-skip-tls-verify are errors, and the authentication
 * methods a node daemon cannot use (exec plugins, auth providers, basic auth)
 * are refused by name rather than silently ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "apiwatch/kubeconfig.h"
#include "proxy/strbuf.h"
#include "proxy/xalloc.h"

#define FIELD_SIZE 128
#define QUOTE_MAX  64

/**
 * struct kctx - the file being read, for paths and messages.
 * @what: "kubeconfig /path" or "in-cluster configuration".
 * @dir: the directory relative paths are resolved against.
 */
struct kctx {
	yaml_document_t *doc;
	const char *what;
	char *dir;
	struct errbuf *err;
};

void kubeconfig_fini(struct kubeconfig *kc)
{
	free(kc->server);
	free(kc->tls_server_name);
	free(kc->ca_file);
	free(kc->ca_data);
	free(kc->token);
	free(kc->token_file);
	free(kc->cert_file);
	free(kc->cert_data);
	free(kc->key_file);
	free(kc->key_data);
	memset(kc, 0, sizeof(*kc));
}

/*
 * Reads a whole file of at most max bytes. Returns 0 with a new NUL-terminated
 * buffer, or a negative errno (-EFBIG when larger than max).
 */
static int read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[8192];
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		if (sb.len + (size_t)n > max) {
			r = -EFBIG;
			break;
		}
		strbuf_add(&sb, chunk, (size_t)n);
	}
	close(fd);
	if (r < 0) {
		strbuf_fini(&sb);
		return r;
	}
	if (!sb.buf)
		strbuf_add(&sb, "", 0);
	*out = strbuf_detach(&sb, len);
	return 0;
}

static const char *file_error(int r)
{
	return r == -EFBIG ? "too large" : strerror(-r);
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int kubeconfig_token_read(const char *path, char **token, struct errbuf *err)
{
	size_t len, start = 0;
	char *text;
	int r;

	r = read_file(path, KUBECONFIG_MAX_TOKEN, &text, &len);
	if (r < 0) {
		errbuf_set(err, "token file %s: %s", path, file_error(r));
		return r;
	}
	while (len > 0 && is_space(text[len - 1]))
		len--;
	while (start < len && is_space(text[start]))
		start++;
	if (start == len || memchr(text + start, '\0', len - start) ||
	    memchr(text + start, '\n', len - start)) {
		free(text);
		return errbuf_set(err, "token file %s: %s", path,
				  start == len ? "empty" : "not a single-line token");
	}
	*token = xstrndup(text + start, len - start);
	free(text);
	return 0;
}

/* ---- base64 ---- */

static int b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/*
 * Decodes standard base64; white space is skipped and the '=' padding may be
 * left out. Returns a new buffer (NUL-terminated for convenience) or NULL when
 * the text is not base64.
 */
static char *b64_decode(const char *s, size_t n, size_t *out_len)
{
	unsigned char *out = xmalloc(n / 4 * 3 + 4);
	unsigned int acc = 0;
	size_t i, len = 0, pad = 0;
	int bits = 0, v;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (is_space((char)ch))
			continue;
		if (ch == '=') {
			pad++;
			continue;
		}
		v = b64_value(ch);
		if (v < 0 || pad > 0)
			goto bad;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/*
	 * Six leftover bits cannot end a base64 text, nor can more than two
	 * '='; like Go's decoder, non-zero bits in the last character are allowed.
	 */
	if (bits >= 6 || pad > 2)
		goto bad;
	out[len] = '\0';
	*out_len = len;
	return (char *)out;
bad:
	free(out);
	return NULL;
}

/* ---- the YAML tree ---- */

static int kfail(struct kctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int kfail(struct kctx *c, const char *field, const char *fmt, ...)
{
	char msg[ERRBUF_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (field)
		return errbuf_set(c->err, "%s: %s: %s", c->what, field, msg);
	return errbuf_set(c->err, "%s: %s", c->what, msg);
}

/* Quotes s for a message, cut to QUOTE_MAX bytes. */
/* Quotes s for a message: cut, and with any byte that could break a log line made '?'. */
static const char *quote(const char *s, char *buf, size_t size)
{
	size_t n = strlen(s), i;
	char *p;

	if (n > QUOTE_MAX)
		snprintf(buf, size, "\"%.*s...\"", QUOTE_MAX, s);
	else
		snprintf(buf, size, "\"%s\"", s);
	for (p = buf + 1, i = 0; *p && i + 2 < size; p++, i++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return buf;
}

static const char *node_type_name(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_NO_NODE:
		break;
	}
	return "nothing";
}

/* A plain null, ~ or empty scalar means the field is absent, as in YAML's core schema. */
static bool is_null(const yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE)
		return n == NULL;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Returns the value of key in a mapping, or NULL (absent or null). */
static yaml_node_t *map_get(struct kctx *c, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
		yaml_node_t *v;

		if (!k || k->type != YAML_SCALAR_NODE ||
		    strcmp((const char *)k->data.scalar.value, key) != 0)
			continue;
		v = yaml_document_get_node(c->doc, p->value);
		return is_null(v) ? NULL : v;
	}
	return NULL;
}

/* Reads a string field: *out is NULL when absent, else borrowed from the tree. */
static int get_string(struct kctx *c, yaml_node_t *map, const char *key, const char *field,
		      const char **out)
{
	yaml_node_t *n = map_get(c, map, key);

	*out = NULL;
	if (!n)
		return 0;
	if (n->type != YAML_SCALAR_NODE)
		return kfail(c, field, "is %s, not a string", node_type_name(n));
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return kfail(c, field, "contains a NUL byte");
	*out = (const char *)n->data.scalar.value;
	return 0;
}

/* Reads a boolean field the way YAML 1.1 spells one; absent is false. */
static int get_bool(struct kctx *c, yaml_node_t *map, const char *key, const char *field, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes",
					   "YES",  "on",   "On",   "ON",  NULL };
	static const char *const no[] = { "false", "False", "FALSE", "no",  "No",
					  "NO",	   "off",   "Off",   "OFF", NULL };
	const char *s;
	char q[QUOTE_MAX + 8];
	size_t i;
	int r;

	*out = false;
	r = get_string(c, map, key, field, &s);
	if (r < 0 || !s)
		return r;
	for (i = 0; yes[i]; i++)
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
	for (i = 0; no[i]; i++)
		if (strcmp(s, no[i]) == 0)
			return 0;
	return kfail(c, field, "%s is not true or false", quote(s, q, sizeof(q)));
}

/*
 * Finds the entry called name in the list at root[list] (entries are
 * {name: ..., inner: {...}}) and returns its inner mapping, naming it
 * "list[i].inner" in prefix for later messages. Returns 1 when found, 0 when
 * not, or -EINVAL.
 */
static int find_named(struct kctx *c, yaml_node_t *root, const char *list, const char *inner,
		      const char *name, yaml_node_t **out, char *prefix, size_t size)
{
	yaml_node_t *seq = map_get(c, root, list);
	yaml_node_item_t *it;
	char field[FIELD_SIZE];
	size_t i = 0;
	int r;

	if (!seq)
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return kfail(c, list, "is %s, not a list", node_type_name(seq));
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, *it);
		const char *s;

		snprintf(field, sizeof(field), "%s[%zu]", list, i);
		if (!item || item->type != YAML_MAPPING_NODE)
			return kfail(c, field, "is %s, not a mapping",
				     item ? node_type_name(item) : "nothing");
		snprintf(field, sizeof(field), "%s[%zu].name", list, i);
		r = get_string(c, item, "name", field, &s);
		if (r < 0)
			return r;
		if (!s || strcmp(s, name) != 0)
			continue;
		snprintf(prefix, size, "%s[%zu].%s", list, i, inner);
		*out = map_get(c, item, inner);
		if (!*out)
			return kfail(c, prefix, "missing");
		if ((*out)->type != YAML_MAPPING_NODE)
			return kfail(c, prefix, "is %s, not a mapping", node_type_name(*out));
		return 1;
	}
	return 0;
}

/* Makes a path from the file relative to the kubeconfig's directory. */
static char *resolve(struct kctx *c, const char *p)
{
	if (p[0] == '/' || !c->dir)
		return xstrdup(p);
	return xasprintf("%s/%s", c->dir, p);
}

/* Reads a path field, resolves it and checks that the file can be read. */
static int get_path(struct kctx *c, yaml_node_t *map, const char *prefix, const char *key,
		    char **out)
{
	char field[FIELD_SIZE * 2];
	const char *s;
	int r;

	snprintf(field, sizeof(field), "%s.%s", prefix, key);
	r = get_string(c, map, key, field, &s);
	if (r < 0 || !s)
		return r;
	*out = resolve(c, s);
	if (access(*out, R_OK) < 0)
		return kfail(c, field, "%s: %s", *out, strerror(errno));
	return 0;
}

/* Reads a base64 field into PEM bytes. */
static int get_data(struct kctx *c, yaml_node_t *map, const char *prefix, const char *key,
		    char **out, size_t *len)
{
	char field[FIELD_SIZE * 2];
	const char *s;
	int r;

	snprintf(field, sizeof(field), "%s.%s", prefix, key);
	r = get_string(c, map, key, field, &s);
	if (r < 0 || !s)
		return r;
	*out = b64_decode(s, strlen(s), len);
	if (!*out)
		return kfail(c, field, "not valid base64");
	if (*len == 0)
		return kfail(c, field, "empty");
	return 0;
}

static int check_url(struct kctx *c, const char *field, const char *url)
{
	char q[QUOTE_MAX + 8];
	const char *host;

	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return kfail(c, field, "%s is not an http:// or https:// URL",
			     quote(url, q, sizeof(q)));
	if (host[0] == '\0' || host[0] == '/')
		return kfail(c, field, "%s has no host", quote(url, q, sizeof(q)));
	if (strpbrk(url, " \t\r\n?#"))
		return kfail(c, field, "%s is not a plain server URL", quote(url, q, sizeof(q)));
	return 0;
}

/* Keeps url without its trailing slashes, so that API paths can be appended. */
static char *server_dup(const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return xstrndup(url, n);
}

static int read_cluster(struct kctx *c, yaml_node_t *cl, const char *prefix, struct kubeconfig *kc)
{
	char field[FIELD_SIZE * 2];
	const char *s;
	int r;

	snprintf(field, sizeof(field), "%s.server", prefix);
	r = get_string(c, cl, "server", field, &s);
	if (r < 0)
		return r;
	if (!s)
		return kfail(c, field, "missing");
	r = check_url(c, field, s);
	if (r < 0)
		return r;
	kc->server = server_dup(s);
	r = get_path(c, cl, prefix, "certificate-authority", &kc->ca_file);
	if (r < 0)
		return r;
	r = get_data(c, cl, prefix, "certificate-authority-data", &kc->ca_data, &kc->ca_data_len);
	if (r < 0)
		return r;
	if (kc->ca_file && kc->ca_data)
		return kfail(c, prefix,
			     "certificate-authority and certificate-authority-data are both set");
	snprintf(field, sizeof(field), "%s.tls-server-name", prefix);
	r = get_string(c, cl, "tls-server-name", field, &s);
	if (r < 0)
		return r;
	if (s && s[0]) {
		/* It becomes the URL's host: a DNS name (or an IPv4 address). */
		if (strlen(s) > 253 ||
		    strspn(s, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != strlen(s))
			return kfail(c, field, "not a host name");
		kc->tls_server_name = xstrdup(s);
	}
	snprintf(field, sizeof(field), "%s.insecure-skip-tls-verify", prefix);
	r = get_bool(c, cl, "insecure-skip-tls-verify", field, &kc->insecure);
	if (r < 0)
		return r;
	if (kc->insecure && (kc->ca_file || kc->ca_data))
		return kfail(c, prefix,
			     "a certificate authority and insecure-skip-tls-verify "
			     "are both set");
	return 0;
}

static int read_user(struct kctx *c, yaml_node_t *u, const char *prefix, struct kubeconfig *kc)
{
	static const char *const unsupported[] = { "exec", "auth-provider", "username", "password",
						   NULL };
	char field[FIELD_SIZE * 2];
	const char *s;
	size_t i;
	int r;

	for (i = 0; unsupported[i]; i++) {
		if (!map_get(c, u, unsupported[i]))
			continue;
		snprintf(field, sizeof(field), "%s.%s", prefix, unsupported[i]);
		return kfail(c, field,
			     "not supported (use a token, tokenFile or a client "
			     "certificate)");
	}
	snprintf(field, sizeof(field), "%s.token", prefix);
	r = get_string(c, u, "token", field, &s);
	if (r < 0)
		return r;
	if (s && (s[0] == '\0' || strpbrk(s, "\r\n")))
		return kfail(c, field, "not a single-line token");
	if (s)
		kc->token = xstrdup(s);
	r = get_path(c, u, prefix, "tokenFile", &kc->token_file);
	if (r < 0)
		return r;
	r = get_path(c, u, prefix, "client-certificate", &kc->cert_file);
	if (r < 0)
		return r;
	r = get_data(c, u, prefix, "client-certificate-data", &kc->cert_data, &kc->cert_data_len);
	if (r < 0)
		return r;
	r = get_path(c, u, prefix, "client-key", &kc->key_file);
	if (r < 0)
		return r;
	r = get_data(c, u, prefix, "client-key-data", &kc->key_data, &kc->key_data_len);
	if (r < 0)
		return r;
	if (kc->cert_file && kc->cert_data)
		return kfail(c, prefix,
			     "client-certificate and client-certificate-data are both set");
	if (kc->key_file && kc->key_data)
		return kfail(c, prefix, "client-key and client-key-data are both set");
	if ((kc->cert_file || kc->cert_data) != (kc->key_file || kc->key_data))
		return kfail(c, prefix,
			     "a client certificate needs a client key and the other "
			     "way round");
	return 0;
}

/*
 * Picks the context: current-context, or the only one when the file names
 * none. Fills cluster and user names (user may be NULL: no credentials).
 */
static int read_context(struct kctx *c, yaml_node_t *root, const char **cluster, const char **user)
{
	char prefix[FIELD_SIZE], field[FIELD_SIZE * 2], q[QUOTE_MAX + 8];
	yaml_node_t *ctx = NULL, *seq;
	const char *name;
	int r;

	r = get_string(c, root, "current-context", "current-context", &name);
	if (r < 0)
		return r;
	if (!name) {
		seq = map_get(c, root, "contexts");
		if (!seq || seq->type != YAML_SEQUENCE_NODE ||
		    seq->data.sequence.items.top - seq->data.sequence.items.start != 1)
			return kfail(c, "current-context",
				     "missing (and not exactly one context "
				     "to default to)");
		r = get_string(c, yaml_document_get_node(c->doc, seq->data.sequence.items.start[0]),
			       "name", "contexts[0].name", &name);
		if (r < 0)
			return r;
		if (!name)
			return kfail(c, "contexts[0].name", "missing");
	}
	r = find_named(c, root, "contexts", "context", name, &ctx, prefix, sizeof(prefix));
	if (r < 0)
		return r;
	if (r == 0)
		return kfail(c, "current-context", "%s is not in contexts",
			     quote(name, q, sizeof(q)));
	snprintf(field, sizeof(field), "%s.cluster", prefix);
	r = get_string(c, ctx, "cluster", field, cluster);
	if (r < 0)
		return r;
	if (!*cluster)
		return kfail(c, field, "missing");
	snprintf(field, sizeof(field), "%s.user", prefix);
	return get_string(c, ctx, "user", field, user);
}

static int read_document(struct kctx *c, struct kubeconfig *kc)
{
	char prefix[FIELD_SIZE], q[QUOTE_MAX + 8];
	yaml_node_t *root = yaml_document_get_root_node(c->doc), *node = NULL;
	const char *cluster, *user;
	int r;

	if (!root)
		return kfail(c, NULL, "empty");
	if (root->type != YAML_MAPPING_NODE)
		return kfail(c, NULL, "is %s, not a mapping", node_type_name(root));
	r = read_context(c, root, &cluster, &user);
	if (r < 0)
		return r;
	r = find_named(c, root, "clusters", "cluster", cluster, &node, prefix, sizeof(prefix));
	if (r == 0)
		r = kfail(c, "current-context", "cluster %s is not in clusters",
			  quote(cluster, q, sizeof(q)));
	if (r < 0)
		return r;
	r = read_cluster(c, node, prefix, kc);
	if (r < 0 || !user)
		return r;
	r = find_named(c, root, "users", "user", user, &node, prefix, sizeof(prefix));
	if (r == 0)
		r = kfail(c, "current-context", "user %s is not in users",
			  quote(user, q, sizeof(q)));
	if (r < 0)
		return r;
	return read_user(c, node, prefix, kc);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

int kubeconfig_load(struct kubeconfig *kc, const char *path, struct errbuf *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct kctx c = { 0 };
	char *text = NULL;
	size_t len;
	int r;

	memset(kc, 0, sizeof(*kc));
	c.what = xasprintf("kubeconfig %s", path);
	c.err = err;
	r = read_file(path, KUBECONFIG_MAX_FILE, &text, &len);
	if (r < 0) {
		r = kfail(&c, NULL, "%s", file_error(r));
		goto out_what;
	}
	if (!yaml_parser_initialize(&parser)) {
		r = kfail(&c, NULL, "cannot start the YAML parser");
		goto out_text;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = kfail(&c, NULL, "not valid YAML: %s at line %zu, column %zu",
			  parser.problem ? parser.problem : "error", parser.problem_mark.line + 1,
			  parser.problem_mark.column + 1);
		goto out_parser;
	}
	c.doc = &doc;
	c.dir = dir_of(path);
	r = read_document(&c, kc);
	free(c.dir);
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
out_text:
	free(text);
out_what:
	free((char *)c.what);
	if (r < 0)
		kubeconfig_fini(kc);
	return r;
}

int kubeconfig_server_set(struct kubeconfig *kc, const char *url, struct errbuf *err)
{
	struct kctx c = { .what = "--master", .err = err };
	int r;

	r = check_url(&c, NULL, url);
	if (r < 0)
		return r;
	free(kc->server);
	kc->server = server_dup(url);
	return 0;
}

static bool valid_host(const char *host)
{
	const char *p;

	if (host[0] == '\0')
		return false;
	for (p = host; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == ':' || *p == '%'))
			return false;
	return true;
}

static bool valid_port(const char *port)
{
	char *end;
	long v;

	if (port[0] < '0' || port[0] > '9' || strlen(port) > 5)
		return false;
	v = strtol(port, &end, 10);
	return *end == '\0' && v >= 1 && v <= 65535;
}

/*
 * The in-cluster server is https:// to KUBERNETES_SERVICE_HOST and _PORT, an
 * IPv6 host in brackets; the token file is re-read by the client, as bound
 * service-account tokens rotate.
 */
int kubeconfig_in_cluster(struct kubeconfig *kc, const char *host, const char *port,
			  const char *sa_dir, struct errbuf *err)
{
	struct kctx c = { .what = "in-cluster configuration", .err = err };
	char q[QUOTE_MAX + 8], *token = NULL;
	int r;

	memset(kc, 0, sizeof(*kc));
	if (!host || !port || !host[0] || !port[0])
		return kfail(&c, NULL,
			     "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must "
			     "be set (or use --kubeconfig or --master)");
	if (!valid_host(host))
		return kfail(&c, "KUBERNETES_SERVICE_HOST", "%s is not a host name or address",
			     quote(host, q, sizeof(q)));
	if (!valid_port(port))
		return kfail(&c, "KUBERNETES_SERVICE_PORT", "%s is not a port number",
			     quote(port, q, sizeof(q)));
	if (!sa_dir)
		sa_dir = KUBECONFIG_SA_DIR;
	kc->server = xasprintf(strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	kc->token_file = xasprintf("%s/token", sa_dir);
	kc->ca_file = xasprintf("%s/ca.crt", sa_dir);
	r = kubeconfig_token_read(kc->token_file, &token, err);
	if (r < 0) {
		errbuf_prefix(err, "%s", c.what);
		goto fail;
	}
	free(token);
	if (access(kc->ca_file, R_OK) < 0) {
		r = kfail(&c, NULL, "%s: %s", kc->ca_file, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	kubeconfig_fini(kc);
	return r < 0 ? r : -EINVAL;
}
