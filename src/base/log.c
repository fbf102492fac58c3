/* Logging. Every message is formatted into one stack buffer and emitted with
 * a single write(2) (or syslog(3)), so lines from different worker threads
 * never interleave. */
#include "base/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

/* Set before workers start and changed only by the main thread; atomics
 * keep the readers in other threads well-defined. */
static atomic_int log_level_now = LOG_LVL_INFO;
static atomic_bool log_to_syslog;
static atomic_bool log_access_on = true;
/* getpid() is a real syscall, once per line for the access log; the pid
 * is cached and forgotten in a forked child (-D forks twice). */
static atomic_long log_pid;

static void log_forget_pid(void)
{
	atomic_store(&log_pid, 0);
}

static void log_register_atfork(void)
{
	pthread_atfork(NULL, NULL, log_forget_pid);
}

static long log_getpid(void)
{
	long pid = atomic_load_explicit(&log_pid, memory_order_relaxed);
	if (pid == 0) {
		pid = (long)getpid();
		atomic_store_explicit(&log_pid, pid, memory_order_relaxed);
	}
	return pid;
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_open(enum log_level level, bool use_syslog, bool access_log)
{
	static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
	pthread_once(&atfork_once, log_register_atfork);
	atomic_store(&log_level_now, level);
	atomic_store(&log_access_on, access_log);
	if (use_syslog && !atomic_load(&log_to_syslog))
		openlog("hopsocks", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&log_to_syslog, use_syslog);
}

void log_set_level(enum log_level level)
{
	atomic_store(&log_level_now, level);
}

bool log_access_enabled(void)
{
	return atomic_load(&log_access_on) && log_enabled(LOG_LVL_INFO);
}

void log_set_access(bool on)
{
	atomic_store(&log_access_on, on);
}

bool log_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&log_level_now);
}

void log_close(void)
{
	if (atomic_exchange(&log_to_syslog, false))
		closelog();
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LVL_ERROR:
		return LOG_ERR;
	case LOG_LVL_WARN:
		return LOG_WARNING;
	case LOG_LVL_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

/* "2026-11-26T22:40:00.123Z hopsocks[1234]: info " */
static size_t log_prefix(char *buf, size_t cap, enum log_level level)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	int m = snprintf(buf + n, cap - n, ".%03ldZ hopsocks[%ld]: %s ", (long)(tv.tv_usec / 1000),
			 log_getpid(), level_names[level]);
	return n + (m > 0 ? (size_t)m : 0);
}

static bool log_byte_is_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '\\' && c != '\'' && c != '"';
}

size_t log_escape(char *out, size_t cap, const char *s, size_t n, bool *cut)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = 0;
	size_t i = 0;

	if (cap == 0) {
		if (cut)
			*cut = n > 0;
		return 0;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t need = log_byte_is_plain(c) ? 1 : 4;
		if (len + need > cap - 1)
			break;
		if (need == 1) {
			out[len++] = (char)c;
			continue;
		}
		out[len++] = '\\';
		out[len++] = 'x';
		out[len++] = hex[c >> 4];
		out[len++] = hex[c & 0x0f];
	}
	out[len] = '\0';
	if (cut)
		*cut = i < n;
	return len;
}

const char *log_esc(char *out, size_t cap, const char *s)
{
	if (!s || !*s)
		return cap > 1 ? strcpy(out, "-") : "-";
	log_escape(out, cap, s, strlen(s), NULL);
	return out;
}

/* The last line of defence: whatever reached the formatted line, a control
 * character (a message that forgot to escape its argument) must not end
 * the record or forge another one. Escaped strings hold none, so this only
 * ever changes a line some caller got wrong. */
static void log_neutralise_controls(char *line, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
}

__attribute__((format(printf, 3, 0))) static void log_emit(enum log_level level, const char *tag,
							   const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n = 0;

	if (!atomic_load(&log_to_syslog))
		n = log_prefix(line, sizeof(line), level);
	if (tag) {
		int m = snprintf(line + n, sizeof(line) - n, "%s ", tag);
		n += m > 0 ? (size_t)m : 0;
	}
	int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (m > 0)
		n += (size_t)m;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2; /* truncated: keep room for the newline */
	log_neutralise_controls(line, n);

	if (atomic_load(&log_to_syslog)) {
		line[n] = '\0';
		syslog(syslog_priority(level), "%s", line);
		return;
	}
	line[n++] = '\n';
	/* Best effort: a full or closed stderr must not stop the server. */
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	log_emit(level, NULL, fmt, ap);
	va_end(ap);
}

void log_access(const char *fmt, ...)
{
	if (!atomic_load(&log_access_on) || !log_enabled(LOG_LVL_INFO))
		return;
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LVL_INFO, "access", fmt, ap);
	va_end(ap);
}
