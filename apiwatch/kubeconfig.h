/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kubeconfig - where the API server is and which credentials to show it
 * (edge: reads the kubeconfig, the service-account files and the files they
 * name; nothing else).
 *
 * Three sources fill the same struct: a kubeconfig file (its current context's
 * cluster and user; relative paths are resolved against the file's
 * directory), the in-cluster environment (KUBERNETES_SERVICE_HOST/PORT and the
 * service-account directory), and a bare --master URL. Messages name the file
 * and the field: "kubeconfig /etc/kp.conf: users[0].user.tokenFile: ...".
 */
#ifndef KPROXY_KUBECONFIG_H
#define KPROXY_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/errbuf.h"

#define KUBECONFIG_SA_DIR    "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBECONFIG_MAX_FILE  (16u << 20) /* bytes of a kubeconfig */
#define KUBECONFIG_MAX_TOKEN 65536	 /* bytes of a bearer token */

/**
 * struct kubeconfig - one API server and how to authenticate to it.
 * @server: "https://host:port" (maybe with a path prefix), no trailing '/'.
 * @ca_file, @ca_data: the CA bundle as a path or as PEM bytes (at most one).
 * @insecure: insecure-skip-tls-verify; without it the server is always verified.
 * @token: a fixed bearer token; @token_file: a token file re-read by the
 *	client (it wins over @token).
 * @cert_file/@cert_data, @key_file/@key_data: the client certificate and key.
 * All strings are owned; NULL when absent.
 */
struct kubeconfig {
	char *server;
	char *tls_server_name; /* the name the server's certificate is checked against (SNI too) */
	char *ca_file;
	char *ca_data;
	size_t ca_data_len;
	bool insecure;
	char *token;
	char *token_file;
	char *cert_file;
	char *cert_data;
	size_t cert_data_len;
	char *key_file;
	char *key_data;
	size_t key_data_len;
};

/*
 * Fills kc from the kubeconfig at path (current-context, or the only context).
 * Returns 0, or -EINVAL with err (kc then holds nothing).
 */
int kubeconfig_load(struct kubeconfig *kc, const char *path, struct errbuf *err);

/*
 * Fills kc from the in-cluster environment: host and port as found in
 * KUBERNETES_SERVICE_HOST/PORT (NULL when unset), the token and ca.crt of
 * sa_dir (NULL: KUBECONFIG_SA_DIR). Returns 0, or -EINVAL with err.
 */
int kubeconfig_in_cluster(struct kubeconfig *kc, const char *host, const char *port,
			  const char *sa_dir, struct errbuf *err);

/* Replaces the server with url (--master). Returns 0, or -EINVAL with err. */
int kubeconfig_server_set(struct kubeconfig *kc, const char *url, struct errbuf *err);

/*
 * Reads the token file, trimmed of surrounding white space. Returns 0 with a
 * new string in *token (freed by the caller), or a negative errno with err.
 */
int kubeconfig_token_read(const char *path, char **token, struct errbuf *err);

/* Frees what kc holds; kc may be loaded again. */
void kubeconfig_fini(struct kubeconfig *kc);

#endif
