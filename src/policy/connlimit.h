/* Connection counts per client address and per user, shared by all
 * workers, for max-connections-per-client and max-connections-per-user.
 * Updated once when a session takes a slot and once when it ends, never
 * per byte, so one mutex is cheap enough. */
#ifndef HOPSOCKS_CONNLIMIT_H
#define HOPSOCKS_CONNLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct limits;

struct limits *limits_new(void);
void limits_free(struct limits *l);

/* Take a slot for this client address (max 0 = no limit: still counted,
 * so a later reload that sets a limit sees the sessions already open).
 * false = the limit is reached, nothing was taken. */
bool limits_take_client(struct limits *l, const struct sockaddr_storage *ip, unsigned max);
void limits_give_client(struct limits *l, const struct sockaddr_storage *ip);
bool limits_take_user(struct limits *l, const char *user, unsigned max);
void limits_give_user(struct limits *l, const char *user);
/* Sessions counted now (for tests and stats). */
size_t limits_count_client(struct limits *l, const struct sockaddr_storage *ip);
size_t limits_count_user(struct limits *l, const char *user);

#endif
