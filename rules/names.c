// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Chain names must be stable across restarts and identical to what anyone
 * computing kube-proxy's hash would expect, so operators can correlate them:
 * SHA-256 over "ns/name:port" (no ":port" for an unnamed port) + protocol
 * (+ "IP:port" for an endpoint chain), standard base32, first 16 characters.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "rules/rules.h"

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static void base32_16(const uint8_t *in, char *out)
{
	/* 16 characters of base32 take 80 bits: the first 10 bytes. */
	uint64_t acc = 0;
	int bits = 0, i, o = 0;

	for (i = 0; i < 10; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = base32_alphabet[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[o] = '\0';
}

/* Appends s to buf (of size bytes, *len used), cutting what does not fit. */
static void append(char *buf, size_t size, size_t *len, const char *s)
{
	size_t n = strnlen(s, size - 1 - *len);

	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

void rules_chain_name(char *out, const char *kind, const char *svc_port_name,
		      enum k8s_protocol proto, const char *endpoint)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	char input[2 * K8S_MAX_NAME + K8S_MAX_LABEL_NAME + K8S_ADDR_STRLEN + 32];
	char hash[17];
	size_t n;

	/* This runs once per endpoint: plain copies, not printf. */
	n = 0;
	append(input, sizeof(input), &n, svc_port_name);
	append(input, sizeof(input), &n, k8s_protocol_lower(proto));
	if (endpoint)
		append(input, sizeof(input), &n, endpoint);
	EVP_Digest(input, n, digest, &digest_len, EVP_sha256(), NULL);
	base32_16(digest, hash);
	n = 0;
	append(out, RULES_CHAIN_MAX, &n, RULES_CHAIN_PREFIX);
	append(out, RULES_CHAIN_MAX, &n, kind);
	append(out, RULES_CHAIN_MAX, &n, "-");
	append(out, RULES_CHAIN_MAX, &n, hash);
}
