// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for apiwatch/kubeconfig: each kubeconfig variant loads to the values
 * it names (dumped as "key=value" lines), every bad one fails with its exact
 * message, and the in-cluster environment and --master give the right server.
 *
 * The files live in a fresh temporary directory; "@" in a case stands for it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "apiwatch/kubeconfig.h"
#include "proxy/strbuf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[] = "/tmp/kproxy-kubeconfig-XXXXXX";

/* Files every case may point at, relative to the temporary directory. */
static const struct {
	const char *name;
	const char *text;
} files[] = {
	{ "ca.crt", "PEM-CA\n" },   { "token", "  file-token\n" }, { "client.crt", "CERT" },
	{ "client.key", "KEY" },    { "empty-token", " \n" },	   { "sa/token", "sa-token\n" },
	{ "sa/ca.crt", "SA-CA\n" }, { "sa2/token", "t\n" },
};

/* Replaces every '@' of s with the temporary directory. */
static char *expand(const char *s)
{
	struct strbuf sb = STRBUF_INIT;

	for (; *s; s++) {
		if (*s == '@')
			strbuf_adds(&sb, tmpdir);
		else
			strbuf_addc(&sb, *s);
	}
	return strbuf_detach(&sb, NULL);
}

static void write_file(const char *name, const char *text)
{
	char *path;
	FILE *f;

	path = malloc(strlen(tmpdir) + strlen(name) + 2);
	assert_non_null(path);
	sprintf(path, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	free(path);
}

static int setup(void **state)
{
	char sub[sizeof(tmpdir) + 8];
	size_t i;

	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(sub, sizeof(sub), "%s/sa", tmpdir);
	mkdir(sub, 0700);
	snprintf(sub, sizeof(sub), "%s/sa2", tmpdir);
	mkdir(sub, 0700);
	for (i = 0; i < ARRAY_SIZE(files); i++)
		write_file(files[i].name, files[i].text);
	return 0;
}

static int teardown(void **state)
{
	char *cmd;
	int r;

	(void)state;
	cmd = expand("rm -rf '@'");
	r = system(cmd);
	free(cmd);
	return r == 0 ? 0 : -1;
}

static void dump_field(struct strbuf *sb, const char *key, const char *value)
{
	if (value)
		strbuf_addf(sb, "%s=%s\n", key, value);
}

/* The loaded values, one "key=value" line each (absent ones left out). */
static char *dump(const struct kubeconfig *kc)
{
	struct strbuf sb = STRBUF_INIT;

	dump_field(&sb, "server", kc->server);
	dump_field(&sb, "tls_server_name", kc->tls_server_name);
	dump_field(&sb, "ca_file", kc->ca_file);
	dump_field(&sb, "ca_data", kc->ca_data);
	if (kc->insecure)
		strbuf_adds(&sb, "insecure\n");
	dump_field(&sb, "token", kc->token);
	dump_field(&sb, "token_file", kc->token_file);
	dump_field(&sb, "cert_file", kc->cert_file);
	dump_field(&sb, "cert_data", kc->cert_data);
	dump_field(&sb, "key_file", kc->key_file);
	dump_field(&sb, "key_data", kc->key_data);
	return strbuf_detach(&sb, NULL);
}

/* clang-format off */
#define HEAD "apiVersion: v1\nkind: Config\ncurrent-context: c1\n"
#define CTX(cluster, user) "contexts:\n- name: c1\n  context: {cluster: " cluster ", user: " user "}\n"
#define CLUSTER(body) "clusters:\n- name: k1\n  cluster:\n" body
#define USER(body) "users:\n- name: u1\n  user:\n" body
#define SERVER "    server: https://192.0.2.1:6443\n"
#define STD(cluster_body, user_body) HEAD CTX("k1", "u1") CLUSTER(cluster_body) USER(user_body)
#define E(msg) "kubeconfig @/config: " msg
/* clang-format on */

/**
 * struct load_case - a kubeconfig and what it loads to.
 * @yaml: written to @/config ('@' expanded); NULL: no file.
 * @dump: the expected dump, or NULL when @error is expected.
 */
static const struct load_case {
	const char *name;
	const char *yaml;
	const char *dump;
	const char *error;
} load_cases[] = {
	{ "token and inline CA",
	  STD(SERVER "    certificate-authority-data: UEVNLUNB\n", "    token: abc.def\n"),
	  "server=https://192.0.2.1:6443\nca_data=PEM-CA\ntoken=abc.def\n", NULL },
	{ "tokenFile and CA file, relative to the kubeconfig",
	  STD(SERVER "    certificate-authority: ca.crt\n", "    tokenFile: token\n"),
	  "server=https://192.0.2.1:6443\nca_file=@/ca.crt\ntoken_file=@/token\n", NULL },
	{ "tokenFile wins over token but both are kept",
	  STD(SERVER, "    token: t0\n    tokenFile: '@/token'\n"),
	  "server=https://192.0.2.1:6443\ntoken=t0\ntoken_file=@/token\n", NULL },
	{ "client certificate data",
	  STD(SERVER, "    client-certificate-data: Q0VSVA==\n    client-key-data: \"S0VZ\"\n"),
	  "server=https://192.0.2.1:6443\ncert_data=CERT\nkey_data=KEY\n", NULL },
	{ "client certificate files, absolute and relative",
	  STD(SERVER, "    client-certificate: '@/client.crt'\n    client-key: ./client.key\n"),
	  "server=https://192.0.2.1:6443\ncert_file=@/client.crt\nkey_file=@/./client.key\n",
	  NULL },
	{ "insecure-skip-tls-verify",
	  STD("    server: https://api.example:443/\n    insecure-skip-tls-verify: true\n",
	      "    token: x\n"),
	  "server=https://api.example:443\ninsecure\ntoken=x\n", NULL },
	{ "tls-server-name",
	  STD(SERVER "    tls-server-name: kubernetes.default.svc\n", "    token: x\n"),
	  "server=https://192.0.2.1:6443\ntls_server_name=kubernetes.default.svc\ntoken=x\n",
	  NULL },
	{ "tls-server-name empty is absent",
	  STD(SERVER "    tls-server-name: ''\n", "    token: x\n"),
	  "server=https://192.0.2.1:6443\ntoken=x\n", NULL },
	{ "insecure false is plain verification",
	  STD(SERVER "    insecure-skip-tls-verify: no\n", "    token: x\n"),
	  "server=https://192.0.2.1:6443\ntoken=x\n", NULL },
	{ "base64 with line breaks and no padding",
	  STD(SERVER "    certificate-authority-data: |\n      UEVN\n      LUNB\n",
	      "    client-certificate-data: Q0VSVA\n    client-key-data: S0VZ\n"),
	  "server=https://192.0.2.1:6443\nca_data=PEM-CA\ncert_data=CERT\nkey_data=KEY\n", NULL },
	{ "no current-context and one context",
	  "contexts:\n- name: only\n  context: {cluster: k1, user: u1}\n" CLUSTER(SERVER)
		  USER("    token: x\n"),
	  "server=https://192.0.2.1:6443\ntoken=x\n", NULL },
	{ "context without a user",
	  HEAD "contexts:\n- name: c1\n  context: {cluster: k1}\n" CLUSTER(
		  "    server: http://127.0.0.1:8080\n"),
	  "server=http://127.0.0.1:8080\n", NULL },
	{ "the right entries among several",
	  HEAD
	  "contexts:\n- name: c0\n  context: {cluster: k0, user: u0}\n"
	  "- name: c1\n  context: {cluster: k1, user: u1}\n"
	  "clusters:\n- name: k0\n  cluster: {server: 'https://wrong'}\n"
	  "- name: k1\n  cluster: {server: 'https://right:1'}\n"
	  "users:\n- name: u0\n  user: {exec: {command: x}}\n- name: u1\n  user: {token: ok}\n",
	  "server=https://right:1\ntoken=ok\n", NULL },
	{ "JSON kubeconfig",
	  "{\"current-context\":\"c1\",\"contexts\":[{\"name\":\"c1\",\"context\":{\"cluster\":"
	  "\"k1\",\"user\":\"u1\"}}],\"clusters\":[{\"name\":\"k1\",\"cluster\":{\"server\":"
	  "\"https://[2001:db8::1]:6443\"}}],\"users\":[{\"name\":\"u1\",\"user\":{\"token\":"
	  "\"j\"}}]}",
	  "server=https://[2001:db8::1]:6443\ntoken=j\n", NULL },
	{ "null fields are absent",
	  STD(SERVER "    certificate-authority: ~\n", "    token: x\n    tokenFile: null\n"),
	  "server=https://192.0.2.1:6443\ntoken=x\n", NULL },

	{ "missing file", NULL, NULL, E("No such file or directory") },
	{ "empty file", "", NULL, E("empty") },
	{ "bad YAML", "clusters:\n- name: k1\n  cluster: {server: [\n", NULL,
	  E("not valid YAML: did not find expected node content at line 4, column 1") },
	{ "not a mapping", "- a\n- b\n", NULL, E("is a list, not a mapping") },
	{ "no current-context and two contexts",
	  "contexts:\n- name: a\n  context: {cluster: k1}\n- name: b\n  context: {cluster: k1}\n",
	  NULL, E("current-context: missing (and not exactly one context to default to)") },
	{ "missing context", HEAD "contexts:\n- name: c2\n  context: {cluster: k1}\n", NULL,
	  E("current-context: \"c1\" is not in contexts") },
	{ "context without a cluster", HEAD "contexts:\n- name: c1\n  context: {user: u1}\n", NULL,
	  E("contexts[0].context.cluster: missing") },
	{ "context entry without body", HEAD "contexts:\n- name: c1\n", NULL,
	  E("contexts[0].context: missing") },
	{ "contexts not a list", HEAD "contexts: {a: b}\n", NULL,
	  E("contexts: is a mapping, not a list") },
	{ "missing cluster", HEAD CTX("k9", "u1") CLUSTER(SERVER) USER("    token: x\n"), NULL,
	  E("current-context: cluster \"k9\" is not in clusters") },
	{ "missing user", HEAD CTX("k1", "u9") CLUSTER(SERVER) USER("    token: x\n"), NULL,
	  E("current-context: user \"u9\" is not in users") },
	{ "missing server", STD("    insecure-skip-tls-verify: true\n", "    token: x\n"), NULL,
	  E("clusters[0].cluster.server: missing") },
	{ "server not http", STD("    server: ftp://192.0.2.1\n", "    token: x\n"), NULL,
	  E("clusters[0].cluster.server: \"ftp://192.0.2.1\" is not an http:// or https:// URL") },
	{ "server without host", STD("    server: https:///x\n", "    token: x\n"), NULL,
	  E("clusters[0].cluster.server: \"https:///x\" has no host") },
	{ "tls-server-name not a host name",
	  STD(SERVER "    tls-server-name: 'api:6443'\n", "    token: x\n"), NULL,
	  E("clusters[0].cluster.tls-server-name: not a host name") },
	{ "server is a list", STD("    server: [a]\n", "    token: x\n"), NULL,
	  E("clusters[0].cluster.server: is a list, not a string") },
	{ "bad base64",
	  STD(SERVER "    certificate-authority-data: 'UEVN*UNB'\n", "    token: x\n"), NULL,
	  E("clusters[0].cluster.certificate-authority-data: not valid base64") },
	{ "base64 with a lone last character", STD(SERVER, "    client-key-data: S0VZQ\n"), NULL,
	  E("users[0].user.client-key-data: not valid base64") },
	{ "CA file missing", STD(SERVER "    certificate-authority: nope.crt\n", "    token: x\n"),
	  NULL,
	  E("clusters[0].cluster.certificate-authority: @/nope.crt: No such file or directory") },
	{ "tokenFile missing", STD(SERVER, "    tokenFile: /nonexistent/token\n"), NULL,
	  E("users[0].user.tokenFile: /nonexistent/token: No such file or directory") },
	{ "CA file and data",
	  STD(SERVER "    certificate-authority: ca.crt\n"
		     "    certificate-authority-data: UEVNLUNB\n",
	      "    token: x\n"),
	  NULL,
	  E("clusters[0].cluster: certificate-authority and certificate-authority-data are "
	    "both set") },
	{ "CA and insecure",
	  STD(SERVER "    certificate-authority: ca.crt\n"
		     "    insecure-skip-tls-verify: true\n",
	      "    token: x\n"),
	  NULL,
	  E("clusters[0].cluster: a certificate authority and insecure-skip-tls-verify are "
	    "both set") },
	{ "insecure not a boolean",
	  STD(SERVER "    insecure-skip-tls-verify: maybe\n", "    token: x\n"), NULL,
	  E("clusters[0].cluster.insecure-skip-tls-verify: \"maybe\" is not true or false") },
	{ "certificate without key", STD(SERVER, "    client-certificate: client.crt\n"), NULL,
	  E("users[0].user: a client certificate needs a client key and the other way round") },
	{ "key file and data",
	  STD(SERVER, "    client-certificate-data: Q0VSVA==\n"
		      "    client-key: client.key\n    client-key-data: S0VZ\n"),
	  NULL, E("users[0].user: client-key and client-key-data are both set") },
	{ "exec plugin", STD(SERVER, "    exec:\n      command: aws\n"), NULL,
	  E("users[0].user.exec: not supported (use a token, tokenFile or a client certificate)") },
	{ "basic auth", STD(SERVER, "    username: admin\n    password: secret\n"), NULL,
	  E("users[0].user.username: not supported (use a token, tokenFile or a client "
	    "certificate)") },
	{ "token over two lines", STD(SERVER, "    token: \"a\\nb\"\n"), NULL,
	  E("users[0].user.token: not a single-line token") },
	{ "token with a NUL", STD(SERVER, "    token: \"a\\0b\"\n"), NULL,
	  E("users[0].user.token: contains a NUL byte") },
	{ "entry not a mapping", HEAD "contexts:\n- c1\n", NULL,
	  E("contexts[0]: is a scalar, not a mapping") },
};

static void test_load(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(load_cases); i++) {
		const struct load_case *c = &load_cases[i];
		struct kubeconfig kc;
		struct errbuf err = { { 0 } };
		char *path = expand("@/config"), *yaml, *want;
		int r;

		print_message("case: %s\n", c->name);
		unlink(path);
		if (c->yaml) {
			yaml = expand(c->yaml);
			write_file("config", yaml);
			free(yaml);
		}
		r = kubeconfig_load(&kc, path, &err);
		if (c->dump) {
			char *got;

			if (r != 0)
				fail_msg("unexpected error: %s", err.msg);
			got = dump(&kc);
			want = expand(c->dump);
			assert_string_equal(got, want);
			free(got);
			free(want);
		} else {
			assert_int_not_equal(r, 0);
			want = expand(c->error);
			assert_string_equal(err.msg, want);
			free(want);
			assert_null(kc.server);
		}
		kubeconfig_fini(&kc);
		free(path);
	}
}

/* A kubeconfig larger than the cap is refused before it is parsed. */
static void test_load_too_large(void **state)
{
	struct kubeconfig kc;
	struct errbuf err = { { 0 } };
	char *path = expand("@/config"), *want;
	FILE *f = fopen(path, "w");
	static const char line[] = "# a comment line, repeated until the file is over the cap\n";
	size_t written = 0;

	(void)state;
	assert_non_null(f);
	while (written <= KUBECONFIG_MAX_FILE) {
		fputs(line, f);
		written += strlen(line);
	}
	fclose(f);
	assert_int_equal(kubeconfig_load(&kc, path, &err), -EINVAL);
	want = expand(E("too large"));
	assert_string_equal(err.msg, want);
	free(want);
	free(path);
}

/**
 * struct cluster_case - the in-cluster environment.
 * @sa: the service-account directory under '@' (NULL: the default).
 */
static const struct cluster_case {
	const char *name;
	const char *host;
	const char *port;
	const char *sa;
	const char *dump;
	const char *error;
} cluster_cases[] = {
	{ "IPv4", "10.96.0.1", "443", "@/sa",
	  "server=https://10.96.0.1:443\nca_file=@/sa/ca.crt\ntoken_file=@/sa/token\n", NULL },
	{ "IPv6 in brackets", "fd00::1", "6443", "@/sa",
	  "server=https://[fd00::1]:6443\nca_file=@/sa/ca.crt\ntoken_file=@/sa/token\n", NULL },
	{ "host name", "api.example", "1", "@/sa",
	  "server=https://api.example:1\nca_file=@/sa/ca.crt\ntoken_file=@/sa/token\n", NULL },
	{ "no host", NULL, "443", "@/sa", NULL,
	  "in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
	  "set (or use --kubeconfig or --master)" },
	{ "empty port", "10.96.0.1", "", "@/sa", NULL,
	  "in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
	  "set (or use --kubeconfig or --master)" },
	{ "bad host", "10.96.0.1/x", "443", "@/sa", NULL,
	  "in-cluster configuration: KUBERNETES_SERVICE_HOST: \"10.96.0.1/x\" is not a host name "
	  "or address" },
	{ "bad port", "10.96.0.1", "65536", "@/sa", NULL,
	  "in-cluster configuration: KUBERNETES_SERVICE_PORT: \"65536\" is not a port number" },
	{ "no token", "10.96.0.1", "443", "@/nope", NULL,
	  "in-cluster configuration: token file @/nope/token: No such file or directory" },
	{ "no CA", "10.96.0.1", "443", "@/sa2", NULL,
	  "in-cluster configuration: @/sa2/ca.crt: No such file or directory" },
};

static void test_in_cluster(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cluster_cases); i++) {
		const struct cluster_case *c = &cluster_cases[i];
		struct kubeconfig kc;
		struct errbuf err = { { 0 } };
		char *sa = c->sa ? expand(c->sa) : NULL, *want;
		int r;

		print_message("case: %s\n", c->name);
		r = kubeconfig_in_cluster(&kc, c->host, c->port, sa, &err);
		if (c->dump) {
			char *got;

			if (r != 0)
				fail_msg("unexpected error: %s", err.msg);
			got = dump(&kc);
			want = expand(c->dump);
			assert_string_equal(got, want);
			free(got);
		} else {
			assert_int_not_equal(r, 0);
			want = expand(c->error);
			assert_string_equal(err.msg, want);
			assert_null(kc.server);
		}
		free(want);
		free(sa);
		kubeconfig_fini(&kc);
	}
}

static void test_token_read(void **state)
{
	static const struct {
		const char *file;
		const char *token;
		const char *error;
	} cases[] = {
		{ "@/token", "file-token", NULL },
		{ "@/empty-token", NULL, "token file @/empty-token: empty" },
		{ "@/missing", NULL, "token file @/missing: No such file or directory" },
	};
	size_t i;

	(void)state;
	write_file("two-lines", "a\nb\n");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct errbuf err = { { 0 } };
		char *path = expand(cases[i].file), *token = NULL;
		int r = kubeconfig_token_read(path, &token, &err);

		if (cases[i].token) {
			assert_int_equal(r, 0);
			assert_string_equal(token, cases[i].token);
		} else {
			char *want = expand(cases[i].error);

			assert_true(r < 0);
			assert_string_equal(err.msg, want);
			free(want);
		}
		free(token);
		free(path);
	}
}

static void test_server_set(void **state)
{
	struct kubeconfig kc = { 0 };
	struct errbuf err = { { 0 } };

	(void)state;
	assert_int_equal(kubeconfig_server_set(&kc, "http://127.0.0.1:8080//", &err), 0);
	assert_string_equal(kc.server, "http://127.0.0.1:8080");
	assert_int_equal(kubeconfig_server_set(&kc, "127.0.0.1:8080", &err), -EINVAL);
	assert_string_equal(err.msg,
			    "--master: \"127.0.0.1:8080\" is not an http:// or https:// URL");
	assert_int_equal(kubeconfig_server_set(&kc, "https://a/?x", &err), -EINVAL);
	assert_string_equal(err.msg, "--master: \"https://a/?x\" is not a plain server URL");
	assert_string_equal(kc.server, "http://127.0.0.1:8080");
	kubeconfig_fini(&kc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),	   cmocka_unit_test(test_load_too_large),
		cmocka_unit_test(test_in_cluster), cmocka_unit_test(test_token_read),
		cmocka_unit_test(test_server_set),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
