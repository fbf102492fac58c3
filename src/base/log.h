/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Leveled logging to stderr, syslog or a file, as text or JSON, safe from
 * any thread: each message is formatted into a local buffer and written
 * with one write(2). */
#ifndef HOPSOCKS_LOG_H
#define HOPSOCKS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Until log_open is called, messages at info and above go to stderr. */
void log_open(enum log_level level, bool use_syslog, bool access_log);
void log_set_level(enum log_level level);
void log_set_access(bool on);
/* Would log_access() write anything? (Skip formatting the line if not.) */
bool log_access_enabled(void);
bool log_enabled(enum log_level level);
void log_close(void);

/* Write lines to the file at path from now on (log-to file): opened
 * O_APPEND, created 0640. Call before privileges are dropped. -1 with a
 * message ("cannot open PATH: why") in err. */
int log_open_file(const char *path, char *err, size_t errlen);
/* SIGUSR2: open the log file's path again and write there from now on
 * (after logrotate moved the file). If that fails, say so in the old file
 * and keep writing to it. 0, 1 when no file is in use, or -errno. */
int log_reopen(void);
/* Do lines go to standard error (not to syslog, not to a file)? */
bool log_goes_to_stderr(void);
/* Is there a syslog socket (/dev/log)? Without one, syslog lines are lost. */
bool log_syslog_available(void);
/* log-format json: one JSON object a line (see log.c). */
void log_set_json(bool on);

/* Hand lines to a writer thread from now on, so that no thread but it ever
 * waits for the log's reader: see log.c. Call once the process has its
 * final form (after -D forks); false if the thread cannot start (lines are
 * then written directly, as before). */
bool log_start_writer(void);
/* Write out what is queued (a bounded time when the reader has stopped)
 * and stop the writer; lines are written directly again. */
void log_stop_writer(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line about one session: "client ADDR session N: message" (JSON: the
 * "client" and "session" keys). */
void log_session(enum log_level level, const char *client, uint64_t session, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* One field of the access line: KEY=VALUE in text, "KEY":VALUE in JSON. */
struct log_field {
	const char *key;
	const char *str; /* already escaped (log_esc) where a client chose it; NULL: num */
	uint64_t num;
};
/* The one-line-per-session access log (level info, tagged "access"; in
 * JSON "type":"access"), its fields in the order given. */
void log_access_fields(const struct log_field *f, size_t n);

/* ---- bytes from the network in a log line ----
 *
 * Every string a client chose -- a user name, a SOCKS4 USERID, a
 * destination name, an HTTP method -- is written escaped: each byte that is not a visible ASCII
 * character (0x21..0x7e), and the backslash and both quotes, becomes \xHH
 * (lower-case hex). An escaped value is therefore one word with no space,
 * quote or control character, so one record stays one line, key=value
 * fields stay apart, and unescaping \xHH gives back the bytes exactly. */

/* Room for n bytes escaped, and the NUL. */
#define LOG_ESC_SIZE(n) (4 * (n) + 1)

/* Escape n bytes of s into out (cap bytes, always NUL-terminated when cap
 * > 0). Returns the length written; *cut (if not NULL) says whether some
 * of s did not fit (an escape that does not fit whole is dropped, never
 * cut in half). */
size_t log_escape(char *out, size_t cap, const char *s, size_t n, bool *cut);
/* The NUL-terminated s escaped into out; returns out (for a printf
 * argument). NULL or "" gives "-", the log's empty field. */
const char *log_esc(char *out, size_t cap, const char *s);

/* ---- lines a stranger can repeat at will ----
 *
 * An event any client can cause once per connection (max-connections
 * reached, accept failing with EMFILE) is logged at most once per period:
 * the first time at once, then the next time the period has passed, with
 * the number of times it was not logged in between, so a flood costs a
 * line a second, not a line a connection, and the count is kept. */
struct log_every {
	uint64_t last_ms; /* when a line was last allowed; 0: never */
	unsigned skipped; /* events not logged since */
};

/* Whether the event at now_ms gets a line. If it does, *skipped is how
 * many were not logged since the last line (and the count restarts). */
bool log_every_due(struct log_every *e, uint64_t now_ms, unsigned period_ms, unsigned *skipped);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                       \
	do {                                                 \
		if (log_enabled(LOG_LVL_DEBUG))              \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
