/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * decode - JSON from the API server into validated k8s values. Pure: no I/O.
 *
 * Unknown fields are ignored; every field kproxy uses is checked as it is
 * read. A bad object is rejected as a whole with a message that names the
 * object and the field ("service default/web: spec.ports[1].port: 70000 out
 * of range"); it never becomes a partial value.
 */
#ifndef KPROXY_DECODE_H
#define KPROXY_DECODE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "apiwatch/k8s.h"
#include "proxy/errbuf.h"

/*
 * Decodes one object of the given kind from a parsed JSON object (borrowed).
 * On success fills out (its pointer owned by the caller, freed with
 * k8s_object_fini()) and returns 0; on failure returns -EINVAL and explains in err.
 */
int decode_object(const cJSON *json, enum k8s_kind kind, struct k8s_object *out,
		  struct errbuf *err);

/* Decodes an object whose kind is read from its "kind" field (and "apiVersion"). */
int decode_object_any(const cJSON *json, struct k8s_object *out, struct errbuf *err);

/**
 * struct decode_list - the result of decoding a List document.
 * @objects: the objects that decoded, in document order.
 * @errors: one message for each item that was skipped.
 */
struct decode_list {
	struct k8s_object *objects;
	size_t n_objects;
	char **errors;
	size_t n_errors;
};

/*
 * Parses JSON text of len bytes as every decoder input should be parsed:
 * NULL for a raw NUL byte (not JSON) or invalid JSON; each \u0000 escape is
 * read as U+FFFD, since cJSON would end the string there ("web\u0000evil"
 * would become "web"). Free the result with cJSON_Delete().
 */
cJSON *decode_json_parse(const char *text, size_t len);

/*
 * Decodes a List ("kind": "List" or "*List" with "items") from text of len
 * bytes. Items that fail are skipped and explained in list->errors; the rest
 * still load. Returns 0, or -EINVAL (with err) when the document itself is not
 * JSON, not a list, or larger than the caps. Free with decode_list_fini().
 */
int decode_list_parse(const char *text, size_t len, struct decode_list *list, struct errbuf *err);
void decode_list_fini(struct decode_list *list);

#endif
