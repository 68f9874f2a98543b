// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzzes featuregate_parse() with the input as a --feature-gates value, on top
 * of a starting set picked by the first byte. A rejected value must leave the
 * set exactly as it was and explain itself; an accepted one must keep every
 * locked gate at its default, give the same set when applied again, and keep
 * its values through a round trip by featuregate_format().
 */
#include "featuregate/featuregate.h"
#include "proxy/strbuf.h"
#include "test/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct featuregate_set set, before, again, round;
	struct strbuf text = STRBUF_INIT;
	struct errbuf err;
	char *spec;
	size_t i;

	if (size < 1)
		return 0;
	featuregate_init(&set);
	/*
	 * A starting state the parser could have produced: unlocked gates from
	 * byte 0; a gate off its default was given a value by an earlier
	 * --feature-gates, and with the top bit set every gate was.
	 */
	for (i = 0; i < FEATUREGATE_COUNT; i++) {
		const struct featuregate_spec *g = featuregate_spec((enum featuregate_id)i);

		if (!g->locked)
			set.enabled[i] = (data[0] >> i) & 1;
		set.given[i] = set.enabled[i] != g->default_on || (data[0] & 0x80);
	}
	before = set;
	spec = fuzz_strndup(data + 1, size - 1);

	memset(&err, 0x5a, sizeof(err));
	if (featuregate_parse(&set, spec, &err) != 0) {
		FUZZ_ASSERT(memcmp(&set, &before, sizeof(set)) == 0,
			    "a rejected value changed the set");
		FUZZ_ASSERT(fuzz_msg_terminated(&err), "message not NUL-terminated");
		FUZZ_ASSERT(err.msg[0] != '\0', "rejected without a message");
		goto out;
	}
	for (i = 0; i < FEATUREGATE_COUNT; i++) {
		const struct featuregate_spec *g = featuregate_spec((enum featuregate_id)i);

		FUZZ_ASSERT(!g->locked || set.enabled[i] == g->default_on,
			    "locked gate %s moved off its default", g->name);
		FUZZ_ASSERT(featuregate_enabled(&set, (enum featuregate_id)i) == set.enabled[i],
			    "featuregate_enabled disagrees for %s", g->name);
	}

	again = set;
	FUZZ_ASSERT(featuregate_parse(&again, spec, &err) == 0, "accepted once, not twice: %s",
		    err.msg);
	FUZZ_ASSERT(memcmp(&again, &set, sizeof(set)) == 0, "applying the value twice differs");

	featuregate_format(&set, &text);
	featuregate_init(&round);
	FUZZ_ASSERT(featuregate_parse(&round, strbuf_str(&text), &err) == 0,
		    "formatted set \"%s\" does not parse: %s", strbuf_str(&text), err.msg);
	/* The text names every gate, so only the values can be compared. */
	FUZZ_ASSERT(memcmp(round.enabled, set.enabled, sizeof(set.enabled)) == 0,
		    "\"%s\" round trip differs", strbuf_str(&text));
out:
	strbuf_fini(&text);
	free(spec);
	return 0;
}
