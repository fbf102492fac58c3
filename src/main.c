/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* hopsocks: command line, configuration, daemon mode, signals, workers.
 *
 * The main thread owns everything that is not per-worker: it parses the
 * configuration, binds the listening sockets (through the workers), starts
 * the worker threads and then only waits for signals on a signalfd. */
#include <autoconfig.h>

#include <ares.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin/admin.h"
#include "base/log.h"
#include "base/stats.h"
#include "base/util.h"
#include "config/config.h"
#include "config/config_chain.h"
#include "config/config_dump.h"
#include "config/config_load.h"
#include "config/config_value.h"
#include "policy/auth.h"
#include "policy/auth_pam.h"
#include "policy/chain_health.h"
#include "policy/connlimit.h"
#include "policy/snapshot.h"
#include "policy/throttle.h"
#include "server/service.h"
#include "server/worker.h"
#include "session/chain.h"

#define MAX_CLI_LISTEN	  64
#define AUTH_POOL_THREADS 2

struct options {
	const char *config_file;
	struct config_addr listen[MAX_CLI_LISTEN];
	size_t nlisten;
	const char *users_file;
	const char *pid_file;
	const char *chain; /* --chain URL[,URL...] */
	const char *chain_file; /* --chain-file FILE (proxychains-ng) */
	/* The directory hopsocks started in: relative paths (-c, -U, users)
	 * are resolved against it, also on a reload after -D moved to /. */
	char cwd[4096];
	long workers; /* -1 = from the config */
	bool daemonize;
	bool check_only;
	bool dump;     /* -T: print the effective configuration */
	int verbosity; /* +1 per -v, -1 for -q */
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: hopsocks [-c FILE] [-l ADDR:PORT]... [-U USERFILE] [-w WORKERS] [-D]\n"
		"                [-p PIDFILE] [-t | -T] [-v]... [-q]\n"
		"                [--chain URL[,URL...] | --chain-file FILE] [--version] [--help]\n"
		"\n"
		"A SOCKS4/4a/5 and HTTP CONNECT proxy server.\n"
		"\n"
		"  -c, --config FILE     read the configuration from FILE (default: built-in,\n"
		"                        listening on 127.0.0.1:1080 without authentication)\n"
		"  -l, --listen ADDR:PORT\n"
		"                        listen on ADDR:PORT (repeatable; [::1]:1080 for IPv6);\n"
		"                        replaces the configuration's listen addresses\n"
		"  -U, --users USERFILE  require username/password authentication (RFC 1929)\n"
		"                        against USERFILE, made with hopsocks-passwd(1)\n"
		"  -w, --workers N       number of worker threads (default: one per CPU)\n"
		"  -D, --daemon          run as a daemon: detach, write the pid file, log to\n"
		"                        syslog\n"
		"  -p, --pid-file FILE   write the process id to FILE, and hold a lock on it\n"
		"                        so a second instance with the same FILE refuses to start\n"
		"  -t, --test            check the configuration, say whether it is valid, exit\n"
		"  -T, --dump-config     check the configuration and print it as it is in force:\n"
		"                        every directive, defaults included, passwords masked\n"
		"  -v, --verbose         log one level more per -v (from the default, info,\n"
		"                        one -v gives debug)\n"
		"  -q, --quiet           log only errors\n"
		"  --chain URL[,URL...]  send every connection through these upstream proxies in\n"
		"                        order (socks4://, socks4a://, socks5://, socks5h://,\n"
		"                        http://)\n"
		"  --chain-file FILE     the same, with the proxies, chain mode, chain_len,\n"
		"                        proxy_dns and timeouts of a proxychains-ng\n"
		"                        configuration file (read again at every reload)\n"
		"  -V, --version         print the version and exit\n"
		"  -h, --help            print this help and exit\n"
		"\n"
		"See hopsocks(8) and hopsocks.conf(5). Report bugs to <%s>.\n",
		PACKAGE_BUGREPORT);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	/* Every short option has a long name, as sshd and nginx users expect
	 * from a service's unit file and scripts. */
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "users", required_argument, NULL, 'U' },
		{ "workers", required_argument, NULL, 'w' },
		{ "daemon", no_argument, NULL, 'D' },
		{ "pid-file", required_argument, NULL, 'p' },
		{ "test", no_argument, NULL, 't' },
		{ "dump-config", no_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "chain", required_argument, NULL, 'C' },
		{ "chain-file", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	char err[CONFIG_ERR_MAX];
	int c;

	memset(o, 0, sizeof(*o));
	o->workers = -1;
	if (!getcwd(o->cwd, sizeof(o->cwd)))
		o->cwd[0] = '\0';
	while ((c = getopt_long(argc, argv, "c:l:U:w:Dp:tTvqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_file = optarg;
			break;
		case 'l':
			if (o->nlisten == MAX_CLI_LISTEN) {
				fprintf(stderr, "hopsocks: too many -l options\n");
				return 2;
			}
			if (config_parse_listen(optarg, &o->listen[o->nlisten], err, sizeof(err)) <
			    0) {
				fprintf(stderr, "hopsocks: -l %s: %s\n", optarg, err);
				return 2;
			}
			o->nlisten++;
			break;
		case 'U':
			o->users_file = optarg;
			break;
		case 'w': {
			char *end;
			errno = 0;
			o->workers = strtol(optarg, &end, 10);
			if (errno || *end || o->workers < 1 || o->workers > 256) {
				fprintf(stderr, "hopsocks: -w: expected 1..256, got '%s'\n",
					optarg);
				return 2;
			}
			break;
		}
		case 'D':
			o->daemonize = true;
			break;
		case 'C':
			if (o->chain) {
				fprintf(stderr, "hopsocks: --chain given twice; put every hop in "
						"one comma-separated list\n");
				return 2;
			}
			o->chain = optarg;
			break;
		case 'F':
			if (o->chain_file) {
				fprintf(stderr, "hopsocks: --chain-file given twice\n");
				return 2;
			}
			o->chain_file = optarg;
			break;
		case 'p':
			o->pid_file = optarg;
			break;
		case 't':
			o->check_only = true;
			break;
		case 'T':
			o->check_only = true;
			o->dump = true;
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'q':
			o->verbosity = -1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("hopsocks %s\n", PACKAGE_VERSION);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (o->chain && o->chain_file) {
		fprintf(stderr, "hopsocks: --chain and --chain-file cannot be combined; "
				"give one of them\n");
		return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "hopsocks: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	return 0;
}

/* path, made absolute against dir when it is relative (into buf). */
static const char *path_from(const char *dir, const char *path, char *buf, size_t cap)
{
	if (!path || path[0] == '/' || !dir[0])
		return path;
	snprintf(buf, cap, "%s/%s", dir, path);
	return buf;
}

/* Lock the pid file, or say who holds it. The descriptor, or -1. */
static int lock_pid_file(const char *path)
{
	long holder;
	int fd = service_lock_pid_file(path, &holder);
	if (fd == -EWOULDBLOCK)
		log_error("pid file %s is locked by a running hopsocks (pid %ld): another instance "
			  "uses it; stop that one, or give this one a pid file of its own",
			  path, holder);
	else if (fd < 0)
		log_error("cannot write pid file %s: %s", path, strerror(-fd));
	return fd;
}

/* Configuration file first, then the command line on top of it. */
static int build_config(const struct options *o, struct config *cfg, char *err, size_t errlen)
{
	char conf_path[8192], users_path[8192], chain_path[8192];
	config_init(cfg);
	const char *conf = path_from(o->cwd, o->config_file, conf_path, sizeof(conf_path));
	if (conf && config_load_file(cfg, conf, err, errlen) < 0)
		return -1;
	if (cfg->users_file && cfg->users_file[0] != '/' &&
	    config_set_string(&cfg->users_file, path_from(o->cwd, cfg->users_file, users_path,
							  sizeof(users_path))) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (o->nlisten && config_set_listen(cfg, o->listen, o->nlisten) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (o->users_file) {
		cfg->users_line = 0; /* -U wins: messages name it, not the file's line */
		free(cfg->users_pam); /* over "users pam" too */
		cfg->users_pam = NULL;
	}
	if (o->pid_file)
		cfg->pid_file_line = 0;
	/* A relative pid file, like -c and -U, is taken from the directory
	 * hopsocks started in, not from / where -D moves. */
	const char *pid_file = o->pid_file ? o->pid_file : cfg->pid_file;
	char pid_path[8192];
	if ((o->users_file &&
	     config_set_string(&cfg->users_file, path_from(o->cwd, o->users_file, users_path,
							   sizeof(users_path))) < 0) ||
	    (pid_file && config_set_string(&cfg->pid_file, path_from(o->cwd, pid_file, pid_path,
								     sizeof(pid_path))) < 0)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (o->chain && config_set_cli_chain(cfg, o->chain, err, errlen) < 0)
		return -1;
	if (o->chain_file &&
	    config_set_cli_chain_file(
		    cfg, path_from(o->cwd, o->chain_file, chain_path, sizeof(chain_path)), err,
		    errlen) < 0)
		return -1;
	if (o->workers > 0)
		cfg->workers = (unsigned)o->workers;
	/* Each -v is one step up from the configured level; -q is errors only. */
	if (o->verbosity > 0) {
		int level = (int)cfg->log_level + o->verbosity;
		cfg->log_level =
			level > CONFIG_LOG_DEBUG ? CONFIG_LOG_DEBUG : (enum config_log_level)level;
	} else if (o->verbosity < 0) {
		cfg->log_level = CONFIG_LOG_ERROR;
	}
	return config_finish(cfg, err, errlen);
}

static unsigned worker_count(const struct config *cfg)
{
	if (cfg->workers)
		return cfg->workers;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* A proxy holds two descriptors per session: use the whole hard limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Classic double fork: the daemon is not a session leader, so it can never
 * acquire a controlling terminal. */
/* The first parent of -D waits on this pipe until the daemon has either
 * started (it writes nothing and closes it) or failed (it writes the
 * error), so `hopsocks -D` exits non-zero, with the message on the
 * terminal, for errors found after detaching. -1 when not daemonized. */
static int startup_fd = -1;

/* In the waiting parent: relay the daemon's verdict and exit with it. */
static void daemon_parent_wait(int fd)
{
	char msg[CONFIG_ERR_MAX];
	ssize_t n, total = 0;
	while ((n = read(fd, msg + total, sizeof(msg) - 1 - (size_t)total)) > 0)
		total += n;
	if (total == 0)
		_exit(0);
	msg[total] = '\0';
	fprintf(stderr, "hopsocks: %s\n", msg);
	_exit(1);
}

/* A start-up failure, for the log and (with -D) for the waiting parent. */
static void startup_failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void startup_failed(const char *fmt, ...)
{
	char msg[CONFIG_ERR_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	if (startup_fd >= 0) {
		ssize_t w = write(startup_fd, msg, strlen(msg));
		(void)w;
		close(startup_fd);
		startup_fd = -1;
	} else if (!log_goes_to_stderr()) {
		/* In the foreground with log-to file or syslog: the terminal
		 * (or the journal) hears why the start failed too. */
		fprintf(stderr, "hopsocks: %s\n", msg);
	}
}

/* Started: let the waiting parent exit 0. */
static void startup_done(void)
{
	if (startup_fd >= 0) {
		close(startup_fd);
		startup_fd = -1;
	}
}

static int daemonize(void)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(pfd[1]);
		daemon_parent_wait(pfd[0]);
	}
	close(pfd[0]);
	startup_fd = pfd[1];
	if (setsid() < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	umask(022);
	if (chdir("/") < 0)
		return -errno;
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return -errno;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	/* Blocked before any thread starts, so every thread inherits the mask
	 * and only the signalfd below sees these signals. */
	if (pthread_sigmask(SIG_BLOCK, set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, set, SFD_CLOEXEC);
}

/* A socket systemd passed that no listen address asks for is a
 * configuration mistake worth saying out loud. */
static void warn_unused_inherited(const struct config *cfg, const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool used = false;
		for (size_t j = 0; j < cfg->nlisten && !used; j++)
			used = service_match_listen_fd(fds[i],
						       (const struct sockaddr *)&cfg->listen[j].ss,
						       cfg->listen[j].len) == 1;
		if (!used)
			log_warn("inherited socket (fd %d) matches no listen address; ignored",
				 fds[i]);
	}
}

struct runtime {
	const struct options *opt;
	struct server srv;
	struct worker *workers;
	unsigned nworkers;
	unsigned generation;
	struct admin *admin;
};

/* What to do about a user file that cannot be opened. */
static const char *users_open_hint(int rc)
{
	if (rc == -ENOENT)
		return " (create it with hopsocks-passwd(1): hopsocks-passwd FILE USER)";
	if (rc == -EACCES)
		return " (it must be readable by the user hopsocks runs as, e.g. chgrp that "
		       "user's group and chmod 640)";
	return "";
}

/* A user file others may read gives every local account the hashes to
 * attack offline, as sshd warns about a private key anyone can read. */
static void warn_users_mode(const struct config *cfg)
{
	struct stat st;
	if (stat(cfg->users_file, &st) < 0 || !(st.st_mode & (S_IROTH | S_IWOTH)))
		return;
	char msg[CONFIG_ERR_MAX];
	config_err_at(cfg, cfg->users_line, msg, sizeof(msg), "%s",
		      cfg->users_line ? "users" : "-U");
	log_warn("%s: %s can be %s by every local user (mode %04o): chmod o-rwx it", msg,
		 cfg->users_file, (st.st_mode & S_IWOTH) ? "changed" : "read",
		 (unsigned)(st.st_mode & 07777));
}

/* The user file, with a message naming where it was configured; or the
 * PAM service, which has nothing to load (PAM reads its stack per login,
 * so an edited /etc/pam.d file counts from the next login on). */
static int load_users(const struct config *cfg, struct userdb **users, char *err, size_t errlen)
{
	char msg[CONFIG_ERR_MAX];
	if (cfg->users_pam) {
		if (userdb_new_pam(cfg->users_pam, users) < 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		/* Not an error: the stack may be installed after hopsocks. */
		if (!auth_pam_has_stack(cfg->users_pam)) {
			config_err_at(cfg, cfg->users_line, msg, sizeof(msg), "users");
			log_warn("%s: PAM has no stack for '%s' (no /etc/pam.d/%s, nor "
				 "/etc/pam.d/other): every login fails until there is one",
				 msg, cfg->users_pam, cfg->users_pam);
		}
		return 0;
	}
	int rc = userdb_load(cfg->users_file, users, msg, sizeof(msg));
	if (rc < 0) {
		config_err_at(cfg, cfg->users_line, err, errlen, "%s: %s%s",
			      cfg->users_line ? "users" : "-U", msg, users_open_hint(rc));
		return -1;
	}
	warn_users_mode(cfg);
	return 0;
}

/* -T: the configuration in force, as a file hopsocks -t accepts. */
static void dump_config(const struct options *o, const struct config *cfg)
{
	printf("# hopsocks %s: the configuration in force, read from %s%s\n", PACKAGE_VERSION,
	       o->config_file ? o->config_file : "the built-in defaults",
	       o->nlisten || o->users_file || o->pid_file || o->chain || o->chain_file ||
			       o->workers > 0 || o->verbosity
		       ? " and the command line"
		       : "");
	config_dump(cfg, stdout);
	fflush(stdout);
}

/* Read the configuration and the user file into a new snapshot. */
static struct snapshot *load_snapshot(const struct options *o, unsigned generation, char *err,
				      size_t errlen)
{
	struct config cfg;
	struct userdb *users = NULL;
	if (build_config(o, &cfg, err, errlen) < 0 ||
	    (config_has_users(&cfg) && load_users(&cfg, &users, err, errlen) < 0)) {
		config_free(&cfg);
		return NULL;
	}
	struct snapshot *snap = snapshot_new(&cfg, users, generation);
	if (!snap) {
		snprintf(err, errlen, "out of memory");
		userdb_free(users);
		config_free(&cfg);
	}
	return snap;
}

static bool same_string(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* ---- the kernel relay ---- */

/* Pairs for as many sessions as the descriptors allow (two sockets each),
 * within reason: each pair's counters take 64 bytes of kernel memory, and
 * each map a slot. */
#define KERNEL_RELAY_PAIRS_MAX 32768u

static uint32_t kernel_relay_pairs(void)
{
	struct rlimit rl;
	uint64_t pairs = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur / 2 : 512;
	if (pairs > KERNEL_RELAY_PAIRS_MAX)
		pairs = KERNEL_RELAY_PAIRS_MAX;
	return pairs < 64 ? 64 : (uint32_t)pairs;
}

/* The relay in force for cfg, as the access line and /metrics name it. */
static const char *relay_in_force(const struct config *cfg, const struct server *srv)
{
	if (cfg->relay == CONFIG_RELAY_KERNEL)
		return srv->krelay ? "kernel" : "splice";
	return config_relay_names[cfg->relay];
}

/* Before privileges are dropped: loading needs CAP_BPF, CAP_PERFMON (the
 * program reads socket fields) and CAP_NET_ADMIN. */
static void kernel_relay_load(struct server *srv, const struct config *cfg, char *why, size_t len)
{
	why[0] = '\0';
	if (cfg->relay == CONFIG_RELAY_KERNEL)
		srv->krelay = krelay_load(kernel_relay_pairs(), why, len);
}

/* After: check that it works for the process as it now is (user, seccomp
 * filter, sandbox), give up the capabilities it needed, and say in one
 * line which relay is in force. */
static void kernel_relay_check(struct server *srv, const struct config *cfg, char *why, size_t len)
{
	if (srv->krelay && krelay_self_test(srv->krelay, why, len) < 0) {
		krelay_free(srv->krelay);
		srv->krelay = NULL;
	}
	if (srv->krelay) {
		int rc = service_drop_bpf_capabilities();
		if (rc < 0)
			log_warn("cannot give up CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN: %s",
				 strerror(-rc));
		log_info("relay: kernel (BPF sockmap, up to %u sessions at once, each after its "
			 "first %u bytes)",
			 srv->krelay->npairs - 1, cfg->relay_after);
	} else if (cfg->relay == CONFIG_RELAY_KERNEL) {
		log_info("relay: splice (the kernel relay is not available: %s)", why);
	} else {
		log_info("relay: %s", config_relay_names[cfg->relay]);
	}
	atomic_store(&srv->stats.relay_mode, relay_in_force(cfg, srv));
}

/* Give each worker an equal share of the pairs; pair 0 was the self-test's. */
static int runtime_start_workers(struct runtime *rt)
{
	uint32_t share = rt->srv.krelay ? (rt->srv.krelay->npairs - 1) / rt->nworkers : 0;
	for (unsigned i = 0; i < rt->nworkers; i++) {
		if (worker_start(&rt->workers[i], 1 + i * share, share) < 0) {
			startup_failed("cannot start worker thread %u", i);
			return -1;
		}
	}
	return 0;
}

/* SIGHUP: new sessions get the new configuration, sessions in flight keep
 * theirs; an invalid configuration changes nothing. */
static void runtime_reload(struct runtime *rt)
{
	char err[CONFIG_ERR_MAX];
	service_notify_reloading();
	struct snapshot *snap = load_snapshot(rt->opt, rt->generation + 1, err, sizeof(err));
	if (!snap) {
		log_error("reload failed, keeping the running configuration: %s", err);
		service_notify("READY=1");
		return;
	}
	struct snapshot *old = server_snapshot(&rt->srv);
	if (worker_count(&snap->cfg) != rt->nworkers)
		log_warn("reload: the number of workers changes only at restart (running %u)",
			 rt->nworkers);
	if (!same_string(old->cfg.pid_file, snap->cfg.pid_file))
		log_warn("reload: the pid file changes only at restart");
	if (old->cfg.admin.len != snap->cfg.admin.len ||
	    memcmp(&old->cfg.admin.ss, &snap->cfg.admin.ss, old->cfg.admin.len) != 0)
		log_warn("reload: the admin listener changes only at restart");
	if (!same_string(old->cfg.run_user, snap->cfg.run_user) ||
	    !same_string(old->cfg.run_group, snap->cfg.run_group))
		log_warn("reload: user and group change only at restart");
	if (old->cfg.log_to != snap->cfg.log_to ||
	    !same_string(old->cfg.log_file, snap->cfg.log_file))
		log_warn("reload: log-to changes only at restart");
	size_t down = chain_health_carry(snap->health, &snap->cfg, old->health, &old->cfg,
					 util_monotonic_ms());
	if (down)
		log_info("reload: %zu upstream hop%s still marked down", down, down == 1 ? "" : "s");
	if (snap->cfg.relay == CONFIG_RELAY_KERNEL && old->cfg.relay != CONFIG_RELAY_KERNEL &&
	    !rt->srv.krelay)
		log_warn("reload: relay kernel is loaded only at start (relaying with splice)");
	atomic_store(&rt->srv.stats.relay_mode, relay_in_force(&snap->cfg, &rt->srv));
	snapshot_unref(old);
	rt->generation++;
	log_set_level((enum log_level)snap->cfg.log_level);
	log_set_access(snap->cfg.access_log);
	log_set_json(snap->cfg.log_json);
	throttle_configure(rt->srv.shared.throttle, snap->cfg.auth_throttle_failures,
			   snap->cfg.auth_throttle_window_ms, snap->cfg.auth_throttle_block_ms);
	server_publish(&rt->srv, snap);
	for (unsigned i = 0; i < rt->nworkers; i++)
		worker_reload(&rt->workers[i]);
	log_info("configuration reloaded (generation %u)", rt->generation);
	service_notify("READY=1");
}

/* Block in the main thread until SIGTERM or SIGINT. */
static void wait_for_stop(int sfd, struct runtime *rt)
{
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si)) {
			log_error("signalfd: %s", strerror(errno));
			return;
		}
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("received %s, shutting down", strsignal((int)si.ssi_signo));
			return;
		case SIGUSR1:
			stats_log(&rt->srv.stats);
			break;
		case SIGUSR2:
			log_reopen(); /* logrotate's postrotate */
			break;
		case SIGHUP:
			runtime_reload(rt);
			break;
		default:
			break;
		}
	}
}

static void log_listening(const struct config *cfg, unsigned nworkers)
{
	char list[512] = "";
	size_t used = 0;
	for (size_t i = 0; i < cfg->nlisten && used < sizeof(list); i++) {
		int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? " " : "",
				 cfg->listen[i].text);
		used += n > 0 ? (size_t)n : 0;
	}
	log_info("hopsocks %s listening on %s (%u worker%s, %s)", PACKAGE_VERSION, list, nworkers,
		 nworkers == 1 ? "" : "s",
		 cfg->users_pam	   ? "username/password checked by PAM"
		 : cfg->users_file ? "username/password required"
				   : "no authentication");
}

static void runtime_stop(struct runtime *rt)
{
	/* The admin pages read the snapshot and stats: stop them first. */
	admin_stop(rt->admin);
	rt->admin = NULL;
	for (unsigned i = 0; i < rt->nworkers; i++)
		worker_stop(&rt->workers[i]);
	for (unsigned i = 0; i < rt->nworkers; i++)
		worker_join(&rt->workers[i]);
	/* The pool hands finished jobs back to worker queues: stop it before
	 * the queues go away. */
	if (rt->srv.shared.auth_pool)
		auth_pool_stop(rt->srv.shared.auth_pool);
	rt->srv.shared.auth_pool = NULL;
	for (unsigned i = 0; i < rt->nworkers; i++)
		worker_destroy(&rt->workers[i]);
	free(rt->workers);
	rt->workers = NULL;
	krelay_free(rt->srv.krelay);
	rt->srv.krelay = NULL;
	pthread_mutex_lock(&rt->srv.snap_lock);
	struct snapshot *snap = rt->srv.snap;
	rt->srv.snap = NULL;
	pthread_mutex_unlock(&rt->srv.snap_lock);
	snapshot_unref(snap);
}

static int runtime_init_workers(struct runtime *rt, char *err, size_t errlen)
{
	unsigned n = worker_count(&rt->srv.snap->cfg);
	rt->workers = calloc(n, sizeof(*rt->workers));
	if (!rt->workers) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		rt->nworkers = i + 1;
		if (worker_init(&rt->workers[i], i, &rt->srv, err, errlen) < 0)
			return -1;
	}
	return 0;
}

/* Where the log goes (log-to, log-format). A file is opened now: before
 * detaching, so one that cannot be opened fails the start on the
 * terminal, and before privileges are dropped, so a daemon started as
 * root can write where only root may create a file. */
static int log_setup(const struct options *o, const struct config *cfg, char *err, size_t errlen)
{
	bool use_syslog = cfg->log_to == CONFIG_LOG_TO_SYSLOG ||
			  (cfg->log_to == CONFIG_LOG_TO_AUTO && o->daemonize);
	char path[8192], why[256];

	log_open((enum log_level)cfg->log_level, use_syslog, cfg->access_log);
	log_set_json(cfg->log_json);
	if (cfg->log_to == CONFIG_LOG_TO_FILE &&
	    log_open_file(path_from(o->cwd, cfg->log_file, path, sizeof(path)), why, sizeof(why)) <
		    0) {
		snprintf(err, errlen, "%s: log-to: %s", cfg->log_file_where, why);
		return -1;
	}
	/* Said on the terminal, before -D detaches from it: afterwards
	 * nobody would ever read a word. */
	if (use_syslog && !log_syslog_available())
		fprintf(stderr,
			"hopsocks: warning: logging to syslog%s, but /dev/log does not exist (no "
			"syslog daemon): every log line will be lost; use 'log-to file PATH' or "
			"start a syslog daemon\n",
			cfg->log_to == CONFIG_LOG_TO_AUTO ? " (log-to auto with -D)" : "");
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct runtime rt = { .opt = &opt, .generation = 1 };
	char err[CONFIG_ERR_MAX];
	int rc = parse_options(argc, argv, &opt);
	if (rc != 0)
		return rc;

	struct snapshot *snap = load_snapshot(&opt, rt.generation, err, sizeof(err));
	if (!snap) {
		fprintf(stderr, "hopsocks: %s\n", err);
		return 1;
	}
	if (opt.check_only) {
		if (opt.dump)
			dump_config(&opt, &snap->cfg);
		fprintf(stderr, "hopsocks: configuration %s is valid\n",
			opt.config_file ? opt.config_file : "(built-in)");
		snapshot_unref(snap);
		return 0;
	}
	/* Socket activation: before any thread exists (it edits the environment). */
	int *inherited = NULL;
	char **inherited_names = NULL;
	size_t ninherited = 0;
	int nfds = service_listen_fds_with_names(&inherited, &inherited_names, &ninherited);
	if (nfds < 0) {
		fprintf(stderr, "hopsocks: LISTEN_FDS: %s\n", strerror(-nfds));
		snapshot_unref(snap);
		return 1;
	}
	rt.srv.listen_fds = inherited;
	rt.srv.nlisten_fds = ninherited;

	const struct config *cfg = &snap->cfg;
	pthread_mutex_init(&rt.srv.snap_lock, NULL);
	rt.srv.snap = snap;
	/* A reload may free this snapshot: keep what the exit path needs. */
	char *pid_file = cfg->pid_file ? strdup(cfg->pid_file) : NULL;

	if (log_setup(&opt, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "hopsocks: %s\n", err);
		snapshot_unref(snap);
		return 1;
	}
	if (sodium_init() < 0 || ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		log_error("cannot initialise libsodium or c-ares");
		return 1;
	}
	raise_fd_limit();

	sigset_t sigs;
	int sfd = block_signals(&sigs);
	if (sfd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}

	rt.srv.shared.throttle =
		throttle_new(THROTTLE_CAPACITY, cfg->auth_throttle_failures,
			     cfg->auth_throttle_window_ms, cfg->auth_throttle_block_ms);
	rt.srv.shared.limits = limits_new();
	rc = 1;
	bool started = false;
	int pid_fd = -1;
	if (!rt.srv.shared.throttle || !rt.srv.shared.limits) {
		log_error("cannot start: out of memory");
		goto out;
	}
	/* The pid file is locked before anything is bound: a second instance
	 * with the same pid file must refuse to start, not share the port
	 * through SO_REUSEPORT and take half the connections. */
	if (pid_file && (pid_fd = lock_pid_file(pid_file)) < 0)
		goto out;
	/* Bind everything before detaching, so a daemon that cannot listen
	 * says so on the terminal and exits non-zero, and before dropping
	 * privileges, which low ports need. No thread exists yet. */
	char krelay_why[256];
	kernel_relay_load(&rt.srv, cfg, krelay_why, sizeof(krelay_why));
	if (runtime_init_workers(&rt, err, sizeof(err)) < 0) {
		fprintf(stderr, "hopsocks: %s\n", err);
		goto out;
	}
	warn_unused_inherited(cfg, inherited, ninherited);
	rt.admin = admin_open(&rt.srv, err, sizeof(err));
	if (!rt.admin && err[0]) {
		fprintf(stderr, "hopsocks: %s\n", err);
		goto out;
	}
	if (opt.daemonize && daemonize() < 0) {
		startup_failed("cannot become a daemon: %s", strerror(errno));
		goto out;
	}
	/* After -D's forks the pid is the daemon's, not the one written. */
	if (pid_fd >= 0 && (rc = service_write_pid_file(pid_fd)) < 0) {
		startup_failed("cannot write pid file %s: %s", pid_file, strerror(-rc));
		rc = 1;
		goto out;
	}
	rc = 1;
	if ((cfg->run_user || cfg->run_group) &&
	    service_drop_privileges(cfg->run_user, cfg->run_group, err, sizeof(err)) < 0) {
		startup_failed("cannot drop privileges: %s", err);
		goto out;
	}
	/* "group" alone changes the group only: say so rather than let an
	 * administrator believe the server runs unprivileged. */
	if (cfg->run_group && !cfg->run_user && geteuid() == 0)
		log_warn("group %s is set but no user: still running as root (add 'user NAME')",
			 cfg->run_group);
	kernel_relay_check(&rt.srv, cfg, krelay_why, sizeof(krelay_why));
	/* Threads from here on, with the final credentials. First the log
	 * writer, so that no worker ever waits for the log's reader. */
	if (!log_start_writer())
		log_warn("cannot start the log writer thread: lines are written directly");
	/* The pool is there even without a user file: a reload may add one. */
	rt.srv.shared.auth_pool = auth_pool_start(AUTH_POOL_THREADS);
	if (!rt.srv.shared.auth_pool) {
		startup_failed("cannot start the password verification threads");
		goto out;
	}
	if (rt.admin && admin_run(rt.admin, err, sizeof(err)) < 0) {
		startup_failed("%s", err);
		goto out;
	}
	if (runtime_start_workers(&rt) < 0)
		goto out;
	log_listening(cfg, rt.nworkers);
	started = true;
	cfg = NULL; /* from here on a reload may free it */
	service_notify("READY=1");
	startup_done();
	wait_for_stop(sfd, &rt);
	service_notify("STOPPING=1");
	rc = 0;
out:
	runtime_stop(&rt);
	/* Removed only if it still holds our pid, so a failed start cannot
	 * take another instance's file with it. */
	if (pid_fd >= 0) {
		service_remove_pid_file(pid_file);
		close(pid_fd);
	}
	for (size_t i = 0; i < ninherited; i++)
		close(inherited[i]);
	service_listen_fds_free(inherited, inherited_names, ninherited);
	free(pid_file);
	/* A server that never served has nothing to count: no all-zero line
	 * under the error that stopped it. */
	if (started)
		stats_log(&rt.srv.stats);
	close(sfd);
	pthread_mutex_destroy(&rt.srv.snap_lock);
	throttle_free(rt.srv.shared.throttle);
	limits_free(rt.srv.shared.limits);
	ares_library_cleanup();
	log_stop_writer();
	log_close();
	return rc;
}
