// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzes apiwatch/kubeconfig. The module only reads files, so the input is
 * written to a file in a private temporary directory that also holds the
 * files a kubeconfig may name (ca.crt, token, client.crt, client.key, sa/).
 * kubeconfig_load() must fail with a message that names the file and leave
 * nothing behind, or give a configuration that keeps client-go's rules (a
 * server URL, at most one CA, no CA with insecure, a certificate only with its
 * key, a one-line token). The same file is read as a token file, the input
 * as a --master URL, and its first line as KUBERNETES_SERVICE_HOST:PORT.
 */
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apiwatch/kubeconfig.h"
#include "test/fuzz/fuzz.h"

static char tmpdir[] = "/tmp/kproxy-kubeconfig-fuzz-XXXXXX";
static char config_path[sizeof(tmpdir) + 16];
static char sa_dir[sizeof(tmpdir) + 16];

static void write_file(const char *name, const void *data, size_t size)
{
	char path[sizeof(tmpdir) + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tmpdir(void)
{
	nftw(tmpdir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct {
		const char *name;
		const char *text;
	} files[] = {
		{ "ca.crt", "PEM-CA\n" }, { "token", "  file-token\n" }, { "client.crt", "CERT" },
		{ "client.key", "KEY" },  { "sa/token", "sa-token\n" },	 { "sa/ca.crt", "SA-CA\n" },
	};
	char path[sizeof(tmpdir) + 8];
	size_t i;

	(void)argc;
	(void)argv;
	if (!mkdtemp(tmpdir))
		abort();
	snprintf(path, sizeof(path), "%s/sa", tmpdir);
	if (mkdir(path, 0700) < 0)
		abort();
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		write_file(files[i].name, files[i].text, strlen(files[i].text));
	snprintf(config_path, sizeof(config_path), "%s/config", tmpdir);
	snprintf(sa_dir, sizeof(sa_dir), "%s/sa", tmpdir);
	atexit(remove_tmpdir);
	return 0;
}

static bool is_empty(const struct kubeconfig *kc)
{
	static const struct kubeconfig zero;

	return memcmp(kc, &zero, sizeof(zero)) == 0;
}

static void check_server(const char *server, const char *what)
{
	size_t n;

	FUZZ_ASSERT(server != NULL, "%s: no server", what);
	FUZZ_ASSERT(strncmp(server, "https://", 8) == 0 || strncmp(server, "http://", 7) == 0,
		    "%s: server \"%s\"", what, server);
	n = strlen(server);
	FUZZ_ASSERT(n > 0 && server[n - 1] != '/', "%s: server \"%s\" ends in '/'", what, server);
	FUZZ_ASSERT(strpbrk(server, " \t\r\n?#") == NULL, "%s: server \"%s\" not plain", what,
		    server);
}

static void check_loaded(const struct kubeconfig *kc)
{
	check_server(kc->server, "load");
	FUZZ_ASSERT(!(kc->ca_file && kc->ca_data), "both CA file and data");
	FUZZ_ASSERT(!kc->insecure || (!kc->ca_file && !kc->ca_data), "CA with insecure");
	FUZZ_ASSERT(!(kc->cert_file && kc->cert_data), "both certificate file and data");
	FUZZ_ASSERT(!(kc->key_file && kc->key_data), "both key file and data");
	FUZZ_ASSERT(!(kc->cert_file || kc->cert_data) == !(kc->key_file || kc->key_data),
		    "certificate without key or key without certificate");
	FUZZ_ASSERT(!kc->ca_data || kc->ca_data_len > 0, "empty CA data");
	FUZZ_ASSERT(!kc->cert_data || kc->cert_data_len > 0, "empty certificate data");
	FUZZ_ASSERT(!kc->key_data || kc->key_data_len > 0, "empty key data");
	FUZZ_ASSERT(!kc->token || (kc->token[0] && !strpbrk(kc->token, "\r\n")),
		    "token \"%s\" is not one line", kc->token);
}

static void check_failed(const struct kubeconfig *kc, const struct errbuf *err, const char *what,
			 const char *prefix)
{
	FUZZ_ASSERT(is_empty(kc), "%s: failed but left values behind", what);
	FUZZ_ASSERT(fuzz_msg_terminated(err), "%s: message not NUL-terminated", what);
	FUZZ_ASSERT(strncmp(err->msg, prefix, strlen(prefix)) == 0,
		    "%s: message \"%s\" does not start with \"%s\"", what, err->msg, prefix);
}

static void in_cluster(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct kubeconfig kc;
	struct errbuf err;
	char *line, *colon;

	line = fuzz_strndup(data, nl ? (size_t)(nl - data) : size);
	colon = strrchr(line, ':');
	if (!colon)
		goto out;
	*colon = '\0';
	memset(&err, 0x5a, sizeof(err));
	if (kubeconfig_in_cluster(&kc, line, colon + 1, sa_dir, &err) == 0) {
		check_server(kc.server, "in-cluster");
		FUZZ_ASSERT(kc.token_file && kc.ca_file, "in-cluster without token or CA file");
		kubeconfig_fini(&kc);
	} else {
		check_failed(&kc, &err, "in-cluster", "in-cluster configuration");
	}
out:
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubeconfig kc;
	struct errbuf err;
	char prefix[sizeof(config_path) + 16];
	char *token = NULL, *url;

	write_file("config", data, size);
	snprintf(prefix, sizeof(prefix), "kubeconfig %s: ", config_path);
	memset(&err, 0x5a, sizeof(err));
	memset(&kc, 0x5a, sizeof(kc));
	if (kubeconfig_load(&kc, config_path, &err) == 0) {
		check_loaded(&kc);
		kubeconfig_fini(&kc);
		FUZZ_ASSERT(is_empty(&kc), "kubeconfig_fini left values behind");
	} else {
		check_failed(&kc, &err, "load", prefix);
	}

	memset(&kc, 0, sizeof(kc));
	url = fuzz_strndup(data, size);
	if (kubeconfig_server_set(&kc, url, &err) == 0)
		check_server(kc.server, "--master");
	else
		check_failed(&kc, &err, "--master", "--master");
	free(url);
	kubeconfig_fini(&kc);

	memset(&err, 0x5a, sizeof(err));
	if (kubeconfig_token_read(config_path, &token, &err) == 0) {
		FUZZ_ASSERT(token[0] && !strchr(token, '\n'), "token \"%s\" is not one line",
			    token);
		free(token);
	} else {
		FUZZ_ASSERT(fuzz_msg_terminated(&err), "token: message not terminated");
	}

	in_cluster(data, size);
	return 0;
}
