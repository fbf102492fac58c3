/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Logging. Every message is formatted into one stack buffer and emitted with
 * a single write(2) (or syslog(3)), so lines from different worker threads
 * never interleave. */
#include "base/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048
/* At a stop, how long each remaining line may wait for a stalled reader. */
#define LOG_STOP_WAIT_MS 200

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

/* ---- the writer thread ----
 *
 * A worker never waits for the log's reader once the writer runs. While
 * stderr takes lines at once (poll says it has room, and nothing is
 * queued or being written) the line is written there and then, so the
 * log stays in step with what clients see; otherwise it goes to a bounded
 * queue that one thread writes out, so a stalled reader (a full pipe, a
 * journald that does not read, a terminal held by ^S) stops that thread
 * only. Syslog lines always go through the queue (syslog(3) may block).
 * When the queue is full a line is dropped and counted, and once the
 * reader takes lines again the writer says how many were lost. Before the
 * writer starts (and in the tools), lines are written directly. */

#define LOG_QUEUE_LINES 128 /* 256 KiB of lines at most */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running;
	bool busy;	      /* the writer holds a line it is writing */
	bool stderr_file;     /* stderr is a regular file: a write never waits for a reader */
	atomic_bool stopping; /* also read by the writer while it waits for room */
	unsigned head, count;
	unsigned long dropped;
	uint16_t len[LOG_QUEUE_LINES];
	int prio[LOG_QUEUE_LINES];
	char line[LOG_QUEUE_LINES][LOG_LINE_MAX];
} log_q = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

/* Write the whole line to stderr. Without a timeout (-1) it waits for
 * room as long as it takes, unless the writer is told to stop, which
 * turns the wait into LOG_STOP_WAIT_MS; with one, at most timeout_ms. A
 * line is at most LOG_LINE_MAX bytes, below PIPE_BUF, so once poll says a
 * pipe has room the write does not block. false if it was given up. */
static bool log_write_stderr(const char *p, size_t n, int timeout_ms)
{
	int waited = 0;

	while (n > 0) {
		struct pollfd pfd = { .fd = STDERR_FILENO, .events = POLLOUT };
		bool forever = timeout_ms < 0 && !atomic_load(&log_q.stopping);
		int slice = forever ? 250 : LOG_STOP_WAIT_MS;
		int r = poll(&pfd, 1, slice);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && forever)
			continue;
		if (r == 0 && timeout_ms >= 0 && (waited += slice) < timeout_ms)
			continue;
		if (r <= 0 || (pfd.revents & (POLLERR | POLLNVAL)))
			return false;
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return false; /* a closed stderr must not stop the server */
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* One formatted line (NUL-terminated for syslog, newline-ended for
 * stderr) to where logs go. */
static bool log_deliver(const char *line, size_t n, int prio, int timeout_ms)
{
	if (atomic_load(&log_to_syslog)) {
		syslog(prio, "%s", line);
		return true;
	}
	return log_write_stderr(line, n, timeout_ms);
}

/* Queue a line for the writer: false when no writer runs (write it
 * directly). A full queue drops the line and counts it. */
/* Would a line written to stderr now go without waiting? */
static bool log_stderr_has_room(void)
{
	struct pollfd pfd = { .fd = STDERR_FILENO, .events = POLLOUT };
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT) &&
	       !(pfd.revents & (POLLERR | POLLNVAL));
}

static bool log_queue_put(const char *line, size_t n, int prio)
{
	pthread_mutex_lock(&log_q.lock);
	bool queued = log_q.running && !atomic_load(&log_q.stopping);
	if (queued) {
		if (!atomic_load(&log_to_syslog) && !log_q.busy && log_q.count == 0 &&
		    log_q.dropped == 0 && (log_q.stderr_file || log_stderr_has_room())) {
			/* In order (nothing is ahead of it) and without waiting. */
			log_write_stderr(line, n, 0);
		} else if (log_q.count == LOG_QUEUE_LINES) {
			log_q.dropped++;
		} else {
			unsigned k = (log_q.head + log_q.count) % LOG_QUEUE_LINES;
			memcpy(log_q.line[k], line, n + 1);
			log_q.len[k] = (uint16_t)n;
			log_q.prio[k] = prio;
			log_q.count++;
			pthread_cond_signal(&log_q.wake);
		}
	}
	pthread_mutex_unlock(&log_q.lock);
	return queued;
}

/* Tell how many lines were lost, once the reader takes lines again. */
static void log_report_dropped(unsigned long dropped, int timeout_ms)
{
	char line[160];
	size_t n = log_prefix(line, sizeof(line), LOG_LVL_WARN);
	int m = snprintf(line + n, sizeof(line) - n,
			 "log: %lu lines dropped: the log reader did not keep up%s", dropped,
			 atomic_load(&log_to_syslog) ? "" : "\n");
	if (atomic_load(&log_to_syslog))
		log_deliver(line + n, (size_t)m, LOG_WARNING, timeout_ms);
	else
		log_deliver(line, n + (size_t)m, LOG_WARNING, timeout_ms);
}

static void *log_writer_main(void *arg)
{
	static char line[LOG_LINE_MAX];
	(void)arg;

	for (;;) {
		pthread_mutex_lock(&log_q.lock);
		while (log_q.count == 0 && !atomic_load(&log_q.stopping))
			pthread_cond_wait(&log_q.wake, &log_q.lock);
		if (log_q.count == 0) {
			pthread_mutex_unlock(&log_q.lock);
			break;
		}
		unsigned k = log_q.head;
		size_t n = log_q.len[k];
		int prio = log_q.prio[k];
		memcpy(line, log_q.line[k], n + 1);
		log_q.head = (k + 1) % LOG_QUEUE_LINES;
		log_q.count--;
		log_q.busy = true;
		/* Stopping: no more waiting for a reader that is not there. */
		int timeout = atomic_load(&log_q.stopping) ? LOG_STOP_WAIT_MS : -1;
		pthread_mutex_unlock(&log_q.lock);

		if (log_deliver(line, n, prio, timeout)) {
			pthread_mutex_lock(&log_q.lock);
			unsigned long dropped = log_q.dropped;
			log_q.dropped = 0;
			pthread_mutex_unlock(&log_q.lock);
			if (dropped > 0)
				log_report_dropped(dropped, timeout);
		}
		pthread_mutex_lock(&log_q.lock);
		log_q.busy = false;
		pthread_mutex_unlock(&log_q.lock);
	}
	return NULL;
}

bool log_start_writer(void)
{
	sigset_t all, old;

	pthread_mutex_lock(&log_q.lock);
	bool ok = log_q.running;
	if (!ok) {
		/* A file needs no poll(2) per line to know it takes lines. */
		struct stat st;
		log_q.stderr_file = fstat(STDERR_FILENO, &st) == 0 && S_ISREG(st.st_mode);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		ok = pthread_create(&log_q.thread, NULL, log_writer_main, NULL) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		log_q.running = ok;
		atomic_store(&log_q.stopping, false);
	}
	pthread_mutex_unlock(&log_q.lock);
	return ok;
}

void log_stop_writer(void)
{
	struct timespec until;

	pthread_mutex_lock(&log_q.lock);
	bool running = log_q.running;
	atomic_store(&log_q.stopping, true);
	pthread_cond_signal(&log_q.wake);
	pthread_mutex_unlock(&log_q.lock);
	if (!running)
		return;
	/* What is queued goes out, unless the reader has stopped reading:
	 * then each line waits LOG_STOP_WAIT_MS at most, and the whole stop
	 * a bounded time (a syslog(3) that hangs is left behind). */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	if (pthread_timedjoin_np(log_q.thread, NULL, &until) != 0)
		pthread_detach(log_q.thread);
	pthread_mutex_lock(&log_q.lock);
	log_q.running = false;
	unsigned long dropped = log_q.dropped;
	log_q.dropped = 0;
	pthread_mutex_unlock(&log_q.lock);
	if (dropped > 0)
		log_report_dropped(dropped, LOG_STOP_WAIT_MS);
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

	if (atomic_load(&log_to_syslog))
		line[n] = '\0';
	else
		line[n++] = '\n';
	if (!log_queue_put(line, n, syslog_priority(level)))
		log_deliver(line, n, syslog_priority(level), -1);
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

bool log_every_due(struct log_every *e, uint64_t now_ms, unsigned period_ms, unsigned *skipped)
{
	/* A clock reading of 0 still counts as "logged" (last_ms 0 means never). */
	if (e->last_ms != 0 && now_ms < e->last_ms + period_ms) {
		e->skipped++;
		return false;
	}
	*skipped = e->skipped;
	e->skipped = 0;
	e->last_ms = now_ms != 0 ? now_ms : 1;
	return true;
}
