/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* libFuzzer target: upstream hop URLs (hop.h): hop_parse, hop_list_parse
 * and hop_list_free.
 *
 * The first input byte picks the check (modulo their number); the rest is
 * a URL, a --chain list, or the parts of a hop to write as a URL. Checked
 * beyond "no crash, no leak" (ASan's leak check sees a list that
 * hop_list_free did not free):
 *  - an error message is one printable line naming the hop and never
 *    shows a password;
 *  - a hop that parses is well formed, its display form parses back to
 *    the same hop (without the password, which it leaves out), and the
 *    full URL written back from it, password and percent-encoding
 *    included, parses to the identical struct;
 *  - a list holds exactly its comma-separated entries, each what
 *    hop_parse makes of it;
 *  - a hop built from arbitrary parts, written as a URL, parses to those
 *    parts whenever hop.h says it is valid (parse(format(x)) == x). */
#include "fuzz.h"

#include <errno.h>
#include <stdbool.h>

#include "proto/hop.h"

enum which {
	W_PARSE,
	W_LIST,
	W_BUILD,
	W_COUNT,
};

/* Longest URL url_write makes: scheme, both fields percent-encoded, host. */
#define URL_MAX (10 + 3 * (HOP_USER_MAX + HOP_PASS_MAX) + 2 + TARGET_TEXT_MAX)

/* The password marker check_build puts in front of every password. */
#define SECRET "Zq7SECRETpw"

static bool printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s < 0x20 || *s >= 0x7f)
			return false;
	}
	return true;
}

/* The input as a C string, cut at its first NUL. */
static char *c_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Percent-encode s into *d: everything but RFC 3986 unreserved bytes. */
static void url_put_encoded(char **d, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*(*d)++ = (char)c;
		} else {
			*(*d)++ = '%';
			*(*d)++ = hex[c >> 4];
			*(*d)++ = hex[c & 0x0f];
		}
	}
}

/* The whole hop as a URL, with pass as its password. */
static void url_write(const struct hop *h, const char *pass, char *out)
{
	char host[TARGET_TEXT_MAX];
	char *d = out;

	d += sprintf(d, "%s://", hop_type_name(h->type));
	if (h->has_user) {
		url_put_encoded(&d, h->user);
		if (h->has_pass) {
			*d++ = ':';
			url_put_encoded(&d, pass);
		}
		*d++ = '@';
	}
	target_format(&h->addr, host, sizeof(host));
	strcpy(d, host);
}

/* What every parsed hop looks like. */
static void check_hop(const struct hop *h)
{
	struct hop back;
	char url[URL_MAX], err[HOP_ERR_MAX];
	const char *scheme = hop_type_name(h->type);

	FUZZ_CHECK(h->type >= HOP_SOCKS4 && h->type <= HOP_HTTP);
	fuzz_check_target(&h->addr);
	FUZZ_CHECK(h->addr.port != 0);
	FUZZ_CHECK(!h->has_pass || h->has_user);
	FUZZ_CHECK(h->has_user == (h->user[0] != '\0'));
	FUZZ_CHECK(h->has_pass || h->pass[0] == '\0');
	FUZZ_CHECK(strlen(h->user) <= HOP_USER_MAX && strlen(h->pass) <= HOP_PASS_MAX);
	if (h->type == HOP_SOCKS4 || h->type == HOP_SOCKS4A)
		FUZZ_CHECK(!h->has_pass);
	if (h->type == HOP_HTTP)
		FUZZ_CHECK(strchr(h->user, ':') == NULL);

	/* The display form: printable, the canonical scheme, no password,
	 * and a URL for the same hop. */
	FUZZ_CHECK(strlen(h->display) < HOP_DISPLAY_MAX && printable(h->display));
	FUZZ_CHECK(strncmp(h->display, scheme, strlen(scheme)) == 0);
	FUZZ_CHECK(strncmp(h->display + strlen(scheme), "://", 3) == 0);
	FUZZ_CHECK(hop_parse(h->display, &back, err, sizeof(err)) == 0);
	FUZZ_CHECK(back.type == h->type && back.has_user == h->has_user && !back.has_pass);
	FUZZ_CHECK(memcmp(&back.addr, &h->addr, sizeof(back.addr)) == 0);
	FUZZ_CHECK(strcmp(back.user, h->user) == 0 && back.pass[0] == '\0');
	FUZZ_CHECK(strcmp(back.display, h->display) == 0);

	/* The whole hop written back: the identical struct. */
	url_write(h, h->pass, url);
	FUZZ_CHECK(hop_parse(url, &back, err, sizeof(err)) == 0);
	FUZZ_CHECK(memcmp(&back, h, sizeof(back)) == 0);
}

/* "hop 'URL': why" or "hop N 'URL': why", one printable line. */
static void check_error(const char *err, size_t index)
{
	char prefix[32];

	FUZZ_CHECK(err[0] != '\0' && strlen(err) < HOP_ERR_MAX && printable(err));
	if (index == 0)
		snprintf(prefix, sizeof(prefix), "hop '");
	else
		snprintf(prefix, sizeof(prefix), "hop %zu '", index);
	FUZZ_CHECK(strncmp(err, prefix, strlen(prefix)) == 0);
	FUZZ_CHECK(strstr(err, "': ") != NULL);
}

static void check_parse(const uint8_t *msg, size_t len)
{
	char *url = c_string(msg, len);
	char err[HOP_ERR_MAX] = "";
	struct hop h;
	int rc = hop_parse(url, &h, err, sizeof(err));

	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		check_hop(&h);
		/* No error buffer is fine too. */
		FUZZ_CHECK(hop_parse(url, &h, NULL, 0) == 0);
	} else {
		check_error(err, 0);
		FUZZ_CHECK(hop_parse(url, &h, NULL, 0) == -EINVAL);
	}
	free(url);
}

/* Entry i (1-based) of a comma-separated list, without the blanks around
 * it, as a C string. */
static char *list_entry(const char *csv, size_t i)
{
	const char *p = csv, *e;
	char *s;

	for (size_t k = 1; k < i; k++)
		p = strchr(p, ',') + 1;
	e = strchr(p, ',');
	if (e == NULL)
		e = p + strlen(p);
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	s = malloc((size_t)(e - p) + 1);
	if (s == NULL)
		abort();
	memcpy(s, p, (size_t)(e - p));
	s[e - p] = '\0';
	return s;
}

static void check_list(const uint8_t *msg, size_t len)
{
	char *csv = c_string(msg, len);
	char err[HOP_ERR_MAX] = "";
	static struct hop sentinel;
	struct hop *hops = &sentinel; /* must be reset on failure */
	size_t n = 99, commas = 0;
	int rc = hop_list_parse(csv, &hops, &n, err, sizeof(err));

	for (const char *p = csv; *p != '\0'; p++)
		commas += *p == ',';
	FUZZ_CHECK(rc == 0 || rc == -EINVAL);
	if (rc < 0) {
		FUZZ_CHECK(hops == NULL && n == 0);
		FUZZ_CHECK(err[0] != '\0' && printable(err));
		if (commas + 1 > HOP_LIST_MAX)
			FUZZ_CHECK(strstr(err, "hops in the list") != NULL);
		free(csv);
		return;
	}
	FUZZ_CHECK(hops != NULL && n == commas + 1 && n <= HOP_LIST_MAX);
	for (size_t i = 0; i < n; i++) {
		char *one = list_entry(csv, i + 1);
		struct hop h;

		/* Each entry is what hop_parse makes of it alone. */
		FUZZ_CHECK(hop_parse(one, &h, NULL, 0) == 0);
		FUZZ_CHECK(memcmp(&h, &hops[i], sizeof(h)) == 0);
		check_hop(&hops[i]);
		free(one);
	}
	hop_list_free(hops, n);
	free(csv);
}

/* Copy bytes from *p up to a NUL or end (at most cap - 1) into out. */
static void take_field(const uint8_t **p, const uint8_t *end, char *out, size_t cap)
{
	size_t k = 0;

	while (*p < end && **p != '\0' && k < cap - 1)
		out[k++] = (char)*(*p)++;
	out[k] = '\0';
	if (*p < end)
		(*p)++;
}

static bool has_ctl(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

/*
 * A hop from parts: [type][flags][port hi][port lo] then the host (4 or
 * 16 address bytes, or a name: bytes mapped onto [a-z0-9._-] up to a
 * NUL), then user NUL pass. Written as a URL with url_write, it must
 * parse to exactly these parts when they make a valid hop, and be
 * refused otherwise; either way a password never shows in a message.
 */
static void check_build(const uint8_t *msg, size_t len)
{
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789.-_";
	const uint8_t *p = msg + 4, *end = msg + len;
	struct hop want, got;
	char url[URL_MAX], err[HOP_ERR_MAX] = "", pass[HOP_PASS_MAX + 8];
	char fullpass[sizeof(SECRET) + sizeof(pass)];
	bool valid;
	int rc;

	if (len < 4)
		return;
	memset(&want, 0, sizeof(want));
	want.type = (uint8_t)(HOP_SOCKS4 + msg[0] % 5);
	want.has_user = msg[1] & 1;
	want.has_pass = want.has_user && (msg[1] & 2);
	want.addr.port = (uint16_t)(msg[2] << 8 | msg[3]);
	switch ((msg[1] >> 2) % 3) {
	case 0:
		if (end - p < 4)
			return;
		want.addr.type = TARGET_IPV4;
		memcpy(want.addr.addr.ipv4, p, 4);
		p += 4;
		break;
	case 1:
		if (end - p < 16)
			return;
		want.addr.type = TARGET_IPV6;
		memcpy(want.addr.addr.ipv6, p, 16);
		p += 16;
		break;
	default:
		/* A name starts with a letter, so it is never a dotted quad. */
		want.addr.type = TARGET_DOMAIN;
		want.addr.addr.domain[0] = 'h';
		want.addr.domain_len = 1;
		while (p < end && *p != '\0' && want.addr.domain_len < TARGET_DOMAIN_MAX)
			want.addr.addr.domain[want.addr.domain_len++] =
				name_chars[*p++ % (sizeof(name_chars) - 1)];
		if (p < end)
			p++;
		break;
	}
	take_field(&p, end, want.user, sizeof(want.user));
	take_field(&p, end, pass, sizeof(pass));
	/* Every password starts with the marker, so a message that shows
	 * one is easy to spot. It may be too long for the struct. */
	snprintf(fullpass, sizeof(fullpass), "%s%s", SECRET, pass);
	if (want.has_pass && strlen(fullpass) <= HOP_PASS_MAX)
		strcpy(want.pass, fullpass);
	if (!want.has_user)
		want.user[0] = '\0';

	valid = want.addr.port != 0 && (!want.has_user || want.user[0] != '\0') &&
		(!want.has_pass || strlen(fullpass) <= HOP_PASS_MAX);
	if (want.has_pass && (want.type == HOP_SOCKS4 || want.type == HOP_SOCKS4A))
		valid = false;
	if (want.type == HOP_HTTP && (strchr(want.user, ':') != NULL || has_ctl(want.user) ||
				      (want.has_pass && has_ctl(fullpass))))
		valid = false;

	url_write(&want, fullpass, url);
	rc = hop_parse(url, &got, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(!valid);
		check_error(err, 0);
		if (want.has_pass && strstr(want.user, SECRET) == NULL &&
		    strstr(want.addr.addr.domain, SECRET) == NULL)
			FUZZ_CHECK(strstr(err, SECRET) == NULL);
		return;
	}
	FUZZ_CHECK(valid);
	check_hop(&got);
	FUZZ_CHECK(got.type == want.type && got.has_user == want.has_user &&
		   got.has_pass == want.has_pass);
	FUZZ_CHECK(memcmp(&got.addr, &want.addr, sizeof(got.addr)) == 0);
	FUZZ_CHECK(strcmp(got.user, want.user) == 0 && strcmp(got.pass, want.pass) == 0);
	if (want.has_pass)
		FUZZ_CHECK(strstr(got.display, SECRET) == NULL || strstr(want.user, SECRET) ||
			   strstr(want.addr.addr.domain, SECRET));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fuzz_check_fn *const checks[W_COUNT] = {
		[W_PARSE] = check_parse,
		[W_LIST] = check_list,
		[W_BUILD] = check_build,
	};
	return fuzz_dispatch(checks, W_COUNT, data, size);
}
