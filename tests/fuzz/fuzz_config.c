/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* libFuzzer target: the config language (config_parse_text), the value
 * parsers it exposes (config_parse_listen/host/duration) and the
 * proxychains-ng file parser (config_pcfile_parse).
 *
 * Checked beyond "no crash, no leak":
 *  - an error reads "NAME:LINE: message", LINE is a line of the text, and
 *    the text before that line parses on its own (the parse stops at the
 *    first bad line, and nothing after it matters);
 *  - a small error buffer gets a cut-down copy of the same message;
 *  - a config that parses and finishes holds values the rest of hopsocks
 *    can trust: every address's normalised text parses back to the same
 *    address, the resolver list is CSV of such addresses, timeouts that
 *    must be non-zero are;
 *  - `hopsocks -T`'s output (config_dump) of such a config is itself a
 *    config that parses, finishes and dumps to the same text;
 *  - the value parsers round-trip their normalised output;
 *  - a proxychains file gives 1..32 hops whose display form parses back
 *    to the same hop, a length that fits, a step timeout; an error names a
 *    line of the text and leaves the chain untouched. */
#include "fuzz.h"

#include <sys/socket.h>

#include "config/config.h"
#include "config/config_dump.h"
#include "config/config_load.h"
#include "config/config_pcfile.h"
#include "config/config_value.h"
#include "proto/hop.h"

#define NAME "fuzz.conf"

/* Same address, port and normalised text. */
static void check_addr_reparses(const struct config_addr *a, bool with_port)
{
	struct config_addr b;
	char err[CONFIG_ERR_MAX];

	if (with_port)
		FUZZ_CHECK(config_parse_listen(a->text, &b, err, sizeof(err)) == 0);
	else
		FUZZ_CHECK(config_parse_host(a->text, &b, err, sizeof(err)) == 0);
	FUZZ_CHECK(b.len == a->len && memcmp(&b.ss, &a->ss, a->len) == 0);
	FUZZ_CHECK(strcmp(b.text, a->text) == 0);
}

/* An outgoing source: its text ("ADDR", or "NET/LEN" with random) reads
 * back as the same source. */
static void check_source_reparses(const struct config_source *src)
{
	char text[96], words[96];
	char *argv[3] = { NULL, NULL, NULL };
	struct config_source b;
	size_t used;
	char err[CONFIG_ERR_MAX];

	if (src->random_prefix == 0) {
		check_addr_reparses(&src->addr, false);
		return;
	}
	config_source_format(src, text, sizeof(text));
	snprintf(words, sizeof(words), "%s", text);
	argv[0] = strtok(words, " ");
	argv[1] = strtok(NULL, " ");
	FUZZ_CHECK(config_source_parse(argv, &b, &used, err, sizeof(err)) == 0 && used == 2);
	FUZZ_CHECK(b.random_prefix == src->random_prefix && b.addr.len == src->addr.len &&
		   memcmp(&b.addr.ss, &src->addr.ss, src->addr.len) == 0);
}

static void check_config(const struct config *cfg)
{
	FUZZ_CHECK(cfg->nlisten >= 1);
	for (size_t i = 0; i < cfg->nlisten; i++)
		check_addr_reparses(&cfg->listen[i], true);
	if (cfg->outgoing_v4.addr.len > 0) {
		FUZZ_CHECK(cfg->outgoing_v4.addr.ss.ss_family == AF_INET);
		check_source_reparses(&cfg->outgoing_v4);
	}
	if (cfg->outgoing_v6.addr.len > 0) {
		FUZZ_CHECK(cfg->outgoing_v6.addr.ss.ss_family == AF_INET6);
		check_source_reparses(&cfg->outgoing_v6);
	}
	for (size_t i = 0; i < cfg->nuser_sources; i++)
		check_source_reparses(&cfg->user_sources[i].src);
	if (cfg->resolvers != NULL) {
		/* c-ares reads this as "ADDR:PORT,[ADDR6]:PORT,...". */
		char *copy = strdup(cfg->resolvers);
		char *save = NULL;
		size_t items = 0;

		FUZZ_CHECK(copy != NULL && copy[0] != '\0');
		for (char *it = strtok_r(copy, ",", &save); it != NULL;
		     it = strtok_r(NULL, ",", &save)) {
			struct config_addr a;
			char err[CONFIG_ERR_MAX];

			FUZZ_CHECK(config_parse_listen(it, &a, err, sizeof(err)) == 0);
			FUZZ_CHECK(strcmp(a.text, it) == 0);
			items++;
		}
		FUZZ_CHECK(items >= 1);
		free(copy);
	}
	FUZZ_CHECK(cfg->timeout_handshake_ms > 0 && cfg->timeout_connect_ms > 0);
	FUZZ_CHECK(cfg->workers <= 256);
	FUZZ_CHECK(cfg->socks4 != CONFIG_SOCKS4_AUTO); /* settled by config_finish */
	FUZZ_CHECK(cfg->users_file == NULL || cfg->users_file[0] != '\0');
	FUZZ_CHECK(cfg->pid_file == NULL || cfg->pid_file[0] != '\0');
}

/* cfg as `hopsocks -T` prints it, malloc'd. */
static char *dump_text(const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	FUZZ_CHECK(f != NULL);
	config_dump(cfg, f);
	FUZZ_CHECK(fclose(f) == 0);
	return text;
}

/* The dump reads back as the same configuration. Chains from proxychains
 * files are left out: this pure parse never reads the file. */
static void check_dump_round_trip(const struct config *cfg)
{
	struct config again;
	char err[CONFIG_ERR_MAX];

	for (size_t i = 0; i < cfg->nchains; i++)
		if (cfg->chains[i].pc_file != NULL)
			return;
	char *first = dump_text(cfg);
	config_init(&again);
	FUZZ_CHECK(config_parse_text(&again, "dump", first, strlen(first), err, sizeof(err)) == 0);
	FUZZ_CHECK(config_finish(&again, err, sizeof(err)) == 0);
	char *second = dump_text(&again);
	FUZZ_CHECK(strcmp(first, second) == 0);
	free(first);
	free(second);
	config_free(&again);
}

/* "NAME:LINE: message" -> LINE, or 0 if err does not look like that. */
static unsigned error_line(const char *err)
{
	const char *p = err + strlen(NAME ":");
	unsigned line = 0;

	if (strncmp(err, NAME ":", strlen(NAME ":")) != 0)
		return 0;
	if (*p < '1' || *p > '9')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (line > 100000000)
			return 0;
		line = line * 10 + (unsigned)(*p - '0');
	}
	return p[0] == ':' && p[1] == ' ' && p[2] != '\0' ? line : 0;
}

static void check_text(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct config cfg;
	char err[CONFIG_ERR_MAX] = "";
	char small[12];
	unsigned line, lines = 1;
	size_t start = 0;
	int rc, rc2;

	config_init(&cfg);
	rc = config_parse_text(&cfg, NAME, text, size, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		char ferr[CONFIG_ERR_MAX];

		if (config_finish(&cfg, ferr, sizeof(ferr)) == 0) {
			check_config(&cfg);
			check_dump_round_trip(&cfg);
		} else
			FUZZ_CHECK(ferr[0] != '\0');
		config_free(&cfg);
		return;
	}
	config_free(&cfg);

	line = error_line(err);
	FUZZ_CHECK(line > 0);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	FUZZ_CHECK(line <= lines);

	/* A buffer too small for the message gets as much of it as fits. */
	config_init(&cfg);
	rc2 = config_parse_text(&cfg, NAME, text, size, small, sizeof(small));
	config_free(&cfg);
	FUZZ_CHECK(rc2 == -1);
	FUZZ_CHECK(strlen(small) < sizeof(small));
	FUZZ_CHECK(strncmp(small, err, strlen(small)) == 0);

	/* Everything before the bad line is fine on its own. */
	for (unsigned l = 1; l < line; l++) {
		const uint8_t *nl = memchr(data + start, '\n', size - start);

		FUZZ_CHECK(nl != NULL);
		start = (size_t)(nl - data) + 1;
	}
	/* ...except for what only later lines could have fixed: a route to a
	 * chain defined further down, or a block whose '}' comes later (block
	 * and route errors found after the fact name an earlier line). */
	config_init(&cfg);
	rc2 = config_parse_text(&cfg, NAME, text, start, err, sizeof(err));
	FUZZ_CHECK(rc2 == 0 || strstr(err, ": route: unknown chain '") != NULL ||
		   strstr(err, "': missing '}'") != NULL);
	config_free(&cfg);
}

/* The first line (up to 127 bytes) as one value for each value parser. */
static void check_values(const uint8_t *data, size_t size)
{
	char value[128], err[CONFIG_ERR_MAX];
	struct config_addr a, b;
	size_t n = 0;
	unsigned ms;

	while (n < size && n < sizeof(value) - 1 && data[n] != '\n' && data[n] != '\0') {
		value[n] = (char)data[n];
		n++;
	}
	value[n] = '\0';

	/* A success fills the whole struct (padding included), so the
	 * normalised text must give back the identical bytes. */
	if (config_parse_listen(value, &a, err, sizeof(err)) == 0) {
		FUZZ_CHECK(config_parse_listen(a.text, &b, err, sizeof(err)) == 0);
		FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	if (config_parse_host(value, &a, err, sizeof(err)) == 0) {
		FUZZ_CHECK(config_parse_host(a.text, &b, err, sizeof(err)) == 0);
		FUZZ_CHECK(memcmp(&a, &b, sizeof(a)) == 0);
		/* No port was allowed, so none was stored. */
		FUZZ_CHECK(strchr(a.text, ']') == NULL);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	if (config_parse_duration(value, &ms) == 0) {
		char again[32];
		unsigned ms2;

		snprintf(again, sizeof(again), "%ums", ms);
		FUZZ_CHECK(config_parse_duration(again, &ms2) == 0 && ms2 == ms);
	}
}

static void check_pcfile(const uint8_t *data, size_t size)
{
	struct config_chain c;
	char err[CONFIG_ERR_MAX] = "";
	unsigned line = 0;

	memset(&c, 0, sizeof(c));
	if (config_pcfile_parse((const char *)data, size, &c, &line, err, sizeof(err)) < 0) {
		unsigned lines = 1;

		for (size_t i = 0; i < size; i++)
			lines += data[i] == '\n';
		FUZZ_CHECK(err[0] != '\0' && line >= 1 && line <= lines);
		FUZZ_CHECK(c.hops == NULL && c.nhops == 0);
		return;
	}
	FUZZ_CHECK(c.nhops >= 1 && c.nhops <= CONFIG_CHAIN_HOPS_MAX);
	FUZZ_CHECK(c.length <= c.nhops);
	FUZZ_CHECK(c.step_timeout_ms > 0);
	for (size_t i = 0; i < c.nhops; i++) {
		struct hop h;

		/* The display form has no password; the rest must read back. */
		FUZZ_CHECK(hop_parse(c.hops[i].display, &h, err, sizeof(err)) == 0);
		FUZZ_CHECK(h.type == c.hops[i].type && strcmp(h.display, c.hops[i].display) == 0);
		FUZZ_CHECK(strcmp(h.user, c.hops[i].user) == 0);
		FUZZ_CHECK(c.resolve_local == !hop_resolves_names(&c.hops[i]) ||
			   c.hops[i].type == HOP_HTTP);
	}
	hop_list_free(c.hops, c.nhops);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_text(data, size);
	check_values(data, size);
	check_pcfile(data, size);
	return 0;
}
