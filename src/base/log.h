/* Leveled logging to stderr or syslog, safe from any thread: each message
 * is formatted into a local buffer and written with one write(2). */
#ifndef HOPSOCKS_LOG_H
#define HOPSOCKS_LOG_H

#include <stdbool.h>

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

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The one-line-per-session access log (level info, tagged "access"). */
void log_access(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                       \
	do {                                                 \
		if (log_enabled(LOG_LVL_DEBUG))              \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
