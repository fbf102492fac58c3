/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Logging. Every message is formatted into one stack buffer and emitted with
 * a single write(2) (or syslog(3)), so lines from different worker threads
 * never interleave. Lines go to stderr, to syslog, or to a file (log-to
 * file), as text or as one JSON object a line (log-format json). */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* At most PIPE_BUF, so a line written to a pipe is never split. */
#define LOG_LINE_MAX 4096
/* At a stop, how long each remaining line may wait for a stalled reader. */
#define LOG_STOP_WAIT_MS 200

/* Set before workers start and changed only by the main thread; atomics
 * keep the readers in other threads well-defined. */
static atomic_int log_level_now = LOG_LVL_INFO;
static atomic_bool log_to_syslog;
static atomic_bool log_access_on = true;
static atomic_bool log_json;
/* Where lines go when not to syslog: stderr, or the log file (log-to
 * file), whose descriptor number never changes: a reopen puts the new
 * file under the same number with dup3(2), so a line being written goes
 * whole to the old file or whole to the new one. */
static atomic_int log_fd = STDERR_FILENO;
static char log_path[PATH_MAX]; /* the log file's path, for a reopen; "" = none */
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
	int fd = atomic_exchange(&log_fd, STDERR_FILENO);
	if (fd != STDERR_FILENO)
		close(fd);
	log_path[0] = '\0';
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

static size_t log_format(char *line, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- the writer thread ----
 *
 * A worker never waits for the log's reader once the writer runs. While
 * stderr (or the log file) takes lines at once (poll says it has room, and nothing is
 * queued or being written) the line is written there and then, so the
 * log stays in step with what clients see; otherwise it goes to a bounded
 * queue that one thread writes out, so a stalled reader (a full pipe, a
 * journald that does not read, a terminal held by ^S) stops that thread
 * only. Syslog lines always go through the queue (syslog(3) may block).
 * When the queue is full a line is dropped and counted, and once the
 * reader takes lines again the writer says how many were lost. Before the
 * writer starts (and in the tools), lines are written directly. */

#define LOG_QUEUE_LINES 128 /* 512 KiB of lines at most */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running;
	bool busy;	      /* the writer holds a line it is writing */
	bool fd_is_file;      /* log_fd is a regular file: a write never waits for a reader */
	atomic_bool stopping; /* also read by the writer while it waits for room */
	unsigned head, count;
	unsigned long dropped;
	uint16_t len[LOG_QUEUE_LINES];
	int prio[LOG_QUEUE_LINES];
	char line[LOG_QUEUE_LINES][LOG_LINE_MAX];
} log_q = { .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

/* Write the whole line to log_fd. Without a timeout (-1) it waits for
 * room as long as it takes, unless the writer is told to stop, which
 * turns the wait into LOG_STOP_WAIT_MS; with one, at most timeout_ms. A
 * line is at most LOG_LINE_MAX bytes, PIPE_BUF, so once poll says a
 * pipe has room the write does not block. false if it was given up. */
static bool log_write_fd(const char *p, size_t n, int timeout_ms)
{
	int waited = 0;

	while (n > 0) {
		struct pollfd pfd = { .fd = atomic_load(&log_fd), .events = POLLOUT };
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
		ssize_t w = write(atomic_load(&log_fd), p, n);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return false; /* a closed stderr or a full disk must not stop the server */
		}
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* One formatted line (NUL-terminated for syslog, newline-ended for
 * the log_fd) to where logs go. */
static bool log_deliver(const char *line, size_t n, int prio, int timeout_ms)
{
	if (atomic_load(&log_to_syslog)) {
		syslog(prio, "%s", line);
		return true;
	}
	return log_write_fd(line, n, timeout_ms);
}

/* Queue a line for the writer: false when no writer runs (write it
 * directly). A full queue drops the line and counts it. */
/* Would a line written to log_fd now go without waiting? */
static bool log_fd_has_room(void)
{
	struct pollfd pfd = { .fd = atomic_load(&log_fd), .events = POLLOUT };
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT) &&
	       !(pfd.revents & (POLLERR | POLLNVAL));
}

static bool log_queue_put(const char *line, size_t n, int prio)
{
	pthread_mutex_lock(&log_q.lock);
	bool queued = log_q.running && !atomic_load(&log_q.stopping);
	if (queued) {
		if (!atomic_load(&log_to_syslog) && !log_q.busy && log_q.count == 0 &&
		    log_q.dropped == 0 && (log_q.fd_is_file || log_fd_has_room())) {
			/* In order (nothing is ahead of it) and without waiting. */
			log_write_fd(line, n, 0);
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
	char line[LOG_LINE_MAX];
	size_t n = log_format(line, LOG_LVL_WARN,
			      "log: %lu lines dropped: the log reader did not keep up", dropped);
	if (atomic_load(&log_to_syslog))
		line[n] = '\0';
	else
		line[n++] = '\n';
	log_deliver(line, n, LOG_WARNING, timeout_ms);
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
		log_q.fd_is_file = fstat(atomic_load(&log_fd), &st) == 0 && S_ISREG(st.st_mode);
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

/* ---- formatting a line ----
 *
 * Text:  TIME hopsocks[PID]: LEVEL [client ADDR session N: ]MESSAGE
 *        TIME hopsocks[PID]: info access KEY=VALUE ...
 * JSON:  {"time":"TIME","level":"LEVEL","pid":PID[,"client":"ADDR","session":N],"msg":"MESSAGE"}
 *        {"time":...,"type":"access","KEY":VALUE,...}
 * To syslog, a text line goes without what syslog adds itself (up to the
 * level); a JSON line goes whole. */

/* Room for the line's own end: '"', '}', the newline and the NUL. */
#define LOG_LINE_END  4
#define LOG_LINE_ROOM (LOG_LINE_MAX - LOG_LINE_END)

/* A line being built; appends stop at LOG_LINE_ROOM (full says so). */
struct log_buf {
	char *p;
	size_t n;
	bool full;
};

static void lb_put(struct log_buf *b, const char *s, size_t len)
{
	if (len > LOG_LINE_ROOM - b->n) {
		len = LOG_LINE_ROOM - b->n;
		b->full = true;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
}

static void lb_str(struct log_buf *b, const char *s)
{
	lb_put(b, s, strlen(s));
}

static void lb_u64(struct log_buf *b, uint64_t v)
{
	char digits[20];
	size_t i = sizeof(digits);
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	lb_put(b, digits + i, sizeof(digits) - i);
}

/* s as the inside of a JSON string: the backslash and the double quote
 * escaped; a control character becomes '?' as in a text line (escaped
 * client bytes hold none: see log_neutralise_controls). */
static void lb_json(struct log_buf *b, const char *s, size_t len)
{
	size_t start = b->n;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool esc = c == '\\' || c == '"';
		if (b->n + 1 + esc > LOG_LINE_ROOM) {
			/* Cut before a UTF-8 character the cut would split (a
			 * configured name may hold some), not inside it. */
			if ((unsigned char)c >= 0x80 && (unsigned char)c < 0xc0)
				while (b->n > start && (unsigned char)b->p[b->n - 1] >= 0x80) {
					bool lead = (unsigned char)b->p[b->n - 1] >= 0xc0;
					b->n--;
					if (lead)
						break;
				}
			b->full = true;
			return;
		}
		if (esc)
			b->p[b->n++] = '\\';
		b->p[b->n++] = ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
	}
}

/* {"time":"2026-11-26T22:40:00.123Z","level":"info","pid":1234 */
static void lb_json_head(struct log_buf *b, enum log_level level)
{
	char t[32];
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + n, sizeof(t) - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
	lb_str(b, "{\"time\":\"");
	lb_str(b, t);
	lb_str(b, "\",\"level\":\"");
	lb_str(b, level_names[level]);
	lb_str(b, "\",\"pid\":");
	lb_u64(b, (uint64_t)log_getpid());
}

/* End the line for where it goes and hand it over. */
static void log_send(char *line, size_t n, enum log_level level)
{
	if (atomic_load(&log_to_syslog))
		line[n] = '\0';
	else
		line[n++] = '\n';
	if (!log_queue_put(line, n, syslog_priority(level)))
		log_deliver(line, n, syslog_priority(level), -1);
}

/* The text form of an event: prefix, the session's client and id if any,
 * the message. Returns the length (no newline yet). */
__attribute__((format(printf, 5, 0))) static size_t log_text_event(char *line, enum log_level level,
								   const char *client,
								   uint64_t session,
								   const char *fmt, va_list ap)
{
	const size_t cap = LOG_LINE_ROOM;
	size_t n = 0;
	int m;

	if (!atomic_load(&log_to_syslog))
		n = log_prefix(line, cap, level);
	if (client) {
		m = snprintf(line + n, cap - n, "client %s session %llu: ", client,
			     (unsigned long long)session);
		n += m > 0 ? (size_t)m : 0;
		if (n > cap - 1)
			n = cap - 1;
	}
	m = vsnprintf(line + n, cap - n, fmt, ap);
	n += m > 0 ? (size_t)m : 0;
	if (n > cap - 1)
		n = cap - 1; /* truncated */
	log_neutralise_controls(line, n);
	return n;
}

__attribute__((format(printf, 5, 0))) static size_t log_json_event(char *line, enum log_level level,
								   const char *client,
								   uint64_t session,
								   const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	struct log_buf b = { .p = line };
	int m = vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t len = m < 0 ? 0 : (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;

	lb_json_head(&b, level);
	if (client) {
		lb_str(&b, ",\"client\":\"");
		lb_json(&b, client, strlen(client));
		lb_str(&b, "\",\"session\":");
		lb_u64(&b, session);
	}
	lb_str(&b, ",\"msg\":\"");
	lb_json(&b, msg, len);
	/* LOG_LINE_END keeps room for this. */
	line[b.n++] = '"';
	line[b.n++] = '}';
	return b.n;
}

__attribute__((format(printf, 4, 0))) static void
log_emit(enum log_level level, const char *client, uint64_t session, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t n = atomic_load(&log_json) ? log_json_event(line, level, client, session, fmt, ap)
					  : log_text_event(line, level, client, session, fmt, ap);
	log_send(line, n, level);
}

/* An event line of the writer's own into line (no end yet); its length. */
static size_t log_format(char *line, enum log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = atomic_load(&log_json) ? log_json_event(line, level, NULL, 0, fmt, ap)
					  : log_text_event(line, level, NULL, 0, fmt, ap);
	va_end(ap);
	return n;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	log_emit(level, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_session(enum log_level level, const char *client, uint64_t session, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	log_emit(level, client, session, fmt, ap);
	va_end(ap);
}

/* Text: "access k=v k=v ..."; fields do not fit whole are cut, as any
 * line too long is. */
static size_t log_access_text(char *line, const struct log_field *f, size_t nf)
{
	struct log_buf b = { .p = line };

	if (!atomic_load(&log_to_syslog))
		b.n = log_prefix(line, LOG_LINE_ROOM, LOG_LVL_INFO);
	lb_put(&b, "access", 6);
	for (size_t i = 0; i < nf; i++) {
		lb_put(&b, " ", 1);
		lb_str(&b, f[i].key);
		lb_put(&b, "=", 1);
		if (f[i].str)
			lb_str(&b, f[i].str);
		else
			lb_u64(&b, f[i].num);
	}
	log_neutralise_controls(line, b.n);
	return b.n;
}

/* JSON: a field that does not fit whole is left out with those after it,
 * so the line stays one valid object. */
static size_t log_access_json(char *line, const struct log_field *f, size_t nf)
{
	struct log_buf b = { .p = line };

	lb_json_head(&b, LOG_LVL_INFO);
	lb_str(&b, ",\"type\":\"access\"");
	for (size_t i = 0; i < nf && !b.full; i++) {
		size_t before = b.n;
		lb_str(&b, ",\"");
		lb_str(&b, f[i].key);
		lb_str(&b, "\":");
		if (f[i].str) {
			lb_put(&b, "\"", 1);
			lb_json(&b, f[i].str, strlen(f[i].str));
			lb_put(&b, "\"", 1);
		} else {
			lb_u64(&b, f[i].num);
		}
		if (b.full)
			b.n = before;
	}
	line[b.n++] = '}';
	return b.n;
}

void log_access_fields(const struct log_field *f, size_t nf)
{
	if (!log_access_enabled())
		return;
	char line[LOG_LINE_MAX];
	size_t n = atomic_load(&log_json) ? log_access_json(line, f, nf)
					  : log_access_text(line, f, nf);
	log_send(line, n, LOG_LVL_INFO);
}

/* ---- the log file ---- */

void log_set_json(bool on)
{
	atomic_store(&log_json, on);
}

/* Non-blocking: opening a FIFO nobody reads fails (ENXIO) instead of
 * hanging the start, and writes then wait in poll() like stderr's. */
static int log_file_open(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
}

int log_open_file(const char *path, char *err, size_t errlen)
{
	if (strlen(path) >= sizeof(log_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	int fd = log_file_open(path);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	int old = atomic_exchange(&log_fd, fd);
	if (old != STDERR_FILENO)
		close(old);
	strcpy(log_path, path);
	if (atomic_exchange(&log_to_syslog, false))
		closelog();
	return 0;
}

int log_reopen(void)
{
	if (!log_path[0]) {
		log_info("SIGUSR2: not logging to a file (log-to), nothing to reopen");
		return 1;
	}
	int fd = log_file_open(log_path);
	if (fd < 0) {
		int e = errno;
		/* Typically a directory the dropped privileges cannot create
		 * in: the old file is still better than no log at all. */
		log_error("log: cannot reopen %s: %s; still writing to the file opened before",
			  log_path, strerror(e));
		return -e;
	}
	struct stat st;
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	pthread_mutex_lock(&log_q.lock);
	/* Atomic: every line goes whole to the old file or to the new one. */
	int rc = dup3(fd, atomic_load(&log_fd), O_CLOEXEC);
	int e = errno;
	if (rc >= 0)
		log_q.fd_is_file = regular;
	pthread_mutex_unlock(&log_q.lock);
	close(fd);
	if (rc < 0) {
		log_error("log: cannot reopen %s: %s", log_path, strerror(e));
		return -e;
	}
	log_info("log: reopened %s", log_path);
	return 0;
}

bool log_goes_to_stderr(void)
{
	return !atomic_load(&log_to_syslog) && atomic_load(&log_fd) == STDERR_FILENO;
}

bool log_syslog_available(void)
{
	struct stat st;
	return stat("/dev/log", &st) == 0 && S_ISSOCK(st.st_mode);
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
