/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* PAM password checks for "users pam SERVICE"; the contract is in
 * auth_pam.h. Built without libpam every check fails, saying so (the
 * config refuses "users pam" before it comes to that). */
#include <autoconfig.h>

#include "policy/auth_pam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_PAM
#include <security/pam_appl.h>
#endif

/* The leading byte keeps it apart from any argon2 string ("$argon2..."). */
const char *auth_pam_cache_key(const char *service, char *buf, size_t len)
{
	snprintf(buf, len, "\x01pam:%s", service);
	return buf;
}

#ifdef HAVE_PAM

bool auth_pam_has_stack(const char *service)
{
	static const char *const dirs[] = { "/etc/pam.d", "/usr/lib/pam.d" };
	char path[64 + AUTH_PAM_SERVICE_MAX];

	if (access("/etc/pam.d", F_OK) != 0)
		return true;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dirs[i], service);
		if (access(path, F_OK) == 0)
			return true;
		snprintf(path, sizeof path, "%s/other", dirs[i]);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

/* The conversation: the password for the hidden prompt (the one every
 * password module asks), nothing for informational text, and a failure
 * for anything else (a visible prompt, a binary one): a module that needs
 * more than a password cannot log a proxy client in. */
static int auth_pam_conv(int num_msg, const struct pam_message **msg, struct pam_response **resp,
			 void *appdata)
{
	const char *pass = appdata;
	struct pam_response *r;

	if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	r = calloc((size_t)num_msg, sizeof(*r));
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < num_msg; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			r[i].resp = strdup(pass);
			if (r[i].resp == NULL)
				goto fail;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		default:
			goto fail;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < num_msg; i++) {
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	}
	free(r);
	return PAM_CONV_ERR;
}

/* Installed as PAM_FAIL_DELAY so that a module asking for a delay after
 * a failure (pam_unix, pam_faildelay: two seconds and more) does not hold
 * a verification thread asleep: a few guessing clients would otherwise
 * stall every login. Guessing is slowed by auth-throttle instead. */
static void auth_pam_no_delay(int retval, unsigned usec, void *appdata)
{
	(void)retval;
	(void)usec;
	(void)appdata;
}

static bool auth_pam_fail(char *err, size_t errlen, pam_handle_t *pamh, const char *step, int rc)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", step, pam_strerror(pamh, rc));
	return false;
}

static bool auth_pam_steps(pam_handle_t *pamh, char *err, size_t errlen)
{
	void (*delay)(int, unsigned, void *) = auth_pam_no_delay;
	int rc;

	/* An old libpam without PAM_FAIL_DELAY only sleeps: not worth failing for. */
	(void)pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)delay);
	rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc != PAM_SUCCESS)
		return auth_pam_fail(err, errlen, pamh, "pam_authenticate", rc);
	/* Expired or locked accounts, time and host restrictions. */
	rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc != PAM_SUCCESS)
		return auth_pam_fail(err, errlen, pamh, "pam_acct_mgmt", rc);
	return true;
}

/* A name with a control character (a newline, an escape) is no account
 * name anywhere, and some modules pass the name on to scripts, logs and
 * directory queries: it is refused here. */
static bool auth_pam_user_ok(const char *user)
{
	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return user[0] != '\0';
}

bool auth_pam_verify(const char *service, const char *user, const char *pass, const char *rhost,
		     char *err, size_t errlen)
{
	struct pam_conv conv = { .conv = auth_pam_conv, .appdata_ptr = (void *)pass };
	pam_handle_t *pamh = NULL;
	bool ok;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!auth_pam_user_ok(user)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "user name with a control character: PAM not asked");
		return false;
	}
	if (!auth_pam_has_stack(service)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen,
				 "no PAM stack (/etc/pam.d/%s, nor other): PAM not asked", service);
		return false;
	}
	rc = pam_start(service, user, &conv, &pamh);
	if (rc != PAM_SUCCESS) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "pam_start: %s", pam_strerror(pamh, rc));
		if (pamh != NULL)
			pam_end(pamh, rc);
		return false;
	}
	if (rhost != NULL && rhost[0] != '\0')
		(void)pam_set_item(pamh, PAM_RHOST, rhost); /* informational: no reason to fail */
	ok = auth_pam_steps(pamh, err, errlen);
	pam_end(pamh, ok ? PAM_SUCCESS : PAM_AUTH_ERR);
	return ok;
}

#else /* !HAVE_PAM */

bool auth_pam_has_stack(const char *service)
{
	(void)service;
	return false;
}

bool auth_pam_verify(const char *service, const char *user, const char *pass, const char *rhost,
		     char *err, size_t errlen)
{
	(void)service;
	(void)user;
	(void)pass;
	(void)rhost;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "hopsocks was built without PAM");
	return false;
}

#endif
