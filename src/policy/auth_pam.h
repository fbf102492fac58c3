/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Password checks through PAM ("users pam SERVICE"), run on the
 * verification pool's threads: a PAM stack may block for as long as its
 * modules like (a directory server, a Kerberos KDC), which no event loop
 * may wait for. */
#ifndef HOPSOCKS_AUTH_PAM_H
#define HOPSOCKS_AUTH_PAM_H

#include <stdbool.h>
#include <stddef.h>

/* A service name: what PAM looks up as /etc/pam.d/SERVICE (the config
 * checks it: CONFIG_PAM_SERVICE_MAX). */
#define AUTH_PAM_SERVICE_MAX 64
/* Room for what auth_pam_verify() says went wrong. */
#define AUTH_PAM_ERROR_MAX 160

/* What the credential cache (auth_cache.h) keys a PAM login on where a
 * user file has the stored hash: the service, so a login cached under one
 * service does not pass under another after a reload. Nothing in it
 * changes with the password in the directory: a changed password or a
 * locked account is noticed when the entry expires (the cache's age
 * limit). Returns buf (AUTH_PAM_KEY_MAX bytes). */
#define AUTH_PAM_KEY_MAX (AUTH_PAM_SERVICE_MAX + 8)
const char *auth_pam_cache_key(const char *service, char *buf, size_t len);

/* Whether PAM has a stack to run for service: /etc/pam.d/SERVICE or
 * /etc/pam.d/other (or the same under /usr/lib/pam.d), or no /etc/pam.d
 * at all (then /etc/pam.conf is PAM's business). Without one pam_start()
 * fails, and libpam (1.5) leaks on that path, once per login. */
bool auth_pam_has_stack(const char *service);

/* pam_start(service, user) + pam_authenticate + pam_acct_mgmt + pam_end,
 * the conversation answering the password prompt with pass, PAM_RHOST set
 * to rhost (the client's address; "" for none). true only if every step
 * said PAM_SUCCESS; otherwise err holds the failing step and PAM's text
 * for its error ("pam_authenticate: Authentication failure"). A user name
 * with a control character, or a service without a stack
 * (auth_pam_has_stack()), fails without asking PAM. Blocks: call it
 * only on a verification thread. */
bool auth_pam_verify(const char *service, const char *user, const char *pass, const char *rhost,
		     char *err, size_t errlen);

#endif
