// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Measuring helper of test/bench/bench.sh. Runs inside the bench's network
 * namespaces (ip netns exec), never in the root namespace.
 *
 *   kpbench wait [options] [-- CMD ARGS...]
 *	Starts the clock, does one action, then polls the kernel's nat table
 *	until every --exists chain is there and every --gone chain is not, and
 *	prints "ok MS T0" (milliseconds from the action to the rules being in the
 *	kernel, and the action's CLOCK_REALTIME in ns) or "timeout MS T0" (exit 3).
 *	Actions:
 *	  --rename SRC DST   rename(2) a prepared state file over the watched one
 *	  --input FILE CMD.. run CMD (an iptables-restore) with FILE on stdin and
 *			     wait for it too; exit 4 if it fails; prints "child MS"
 *	  --daemon LOG PIDFILE CMD..  start CMD (kproxy) with stdout and stderr
 *			     to LOG, write its pid, leave it running
 *	  (none)	     just poll
 *	--exit-log LOG TAG: take the time when an iptables-*-restore run with
 *	this TAG exits (the line "kpbench rusage" appends to LOG), provided the
 *	conditions hold right after it; the kernel is read only then. For
 *	x_tables, where a read copies the whole table under the table's mutex
 *	(0.5 s at 10k Services) and would both blur and slow what it measures.
 *	Conditions: --exists NAME, --gone NAME, --exists-file F, --gone-file F
 *	(one chain name per line). --legacy reads x_tables (getsockopt: the
 *	whole nat blob, walked for its chain heads), otherwise nf_tables
 *	(NFT_MSG_GETCHAIN per chain: one lookup each). --timeout SEC (default
 *	60), --interval MS (default 2; on legacy the pause is at least as long
 *	as the last read, so the poller takes at most half a CPU).
 *
 *   kpbench rusage LOG TAG NAME CMD ARGS...
 *	Runs CMD (with stdin, stdout and stderr as they are), then appends
 *	"TAG NAME PEAK_RSS_KB WALL_S EXIT" to LOG and exits as CMD did. The child
 *	dies with this process (PR_SET_PDEATHSIG), so that a caller that kills
 *	the wrapper on a timeout does not leave a restore running.
 *
 *   kpbench serve PORT
 *	TCP accept loop on 0.0.0.0:PORT: accept, close. Runs until killed.
 *
 *   kpbench connect IP PORT SECONDS
 *	New TCP connections in a loop (connect, then close with a reset so that
 *	no TIME_WAIT piles up) for SECONDS; prints "rate R conns N failures F
 *	secs S". Exit 1 if nothing connected or more than 1% failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAMES 4096

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long long real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
	nanosleep(&ts, NULL);
}

static void die(const char *what)
{
	fprintf(stderr, "kpbench: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* ---- chain names to wait for ---------------------------------------------- */

struct names {
	char *v[MAX_NAMES];
	size_t n;
};

static void names_add(struct names *ns, const char *s)
{
	if (ns->n == MAX_NAMES) {
		fprintf(stderr, "kpbench: more than %d chain names\n", MAX_NAMES);
		exit(2);
	}
	if (strlen(s) >= XT_EXTENSION_MAXNAMELEN + 2) {
		fprintf(stderr, "kpbench: chain name too long: %s\n", s);
		exit(2);
	}
	ns->v[ns->n] = strdup(s);
	if (!ns->v[ns->n])
		die("strdup");
	ns->n++;
}

static void names_load(struct names *ns, const char *path)
{
	char line[256];
	FILE *f = fopen(path, "r");

	if (!f)
		die(path);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n \t")] = '\0';
		if (line[0])
			names_add(ns, line);
	}
	fclose(f);
}

/* ---- nf_tables: NFT_MSG_GETCHAIN ------------------------------------------ */

static int nl_fd = -1;
static uint32_t nl_seq;

static void nla_put_str(char *buf, size_t *off, uint16_t type, const char *s)
{
	struct nlattr *a = (struct nlattr *)(void *)(buf + *off);
	size_t len = strlen(s) + 1;

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy(buf + *off + NLA_HDRLEN, s, len);
	*off += NLA_ALIGN(a->nla_len);
}

/* 1: the chain exists in ip nat, 0: it does not, -1: error. */
static int nft_chain_exists(const char *chain)
{
	char buf[8192] __attribute__((aligned(4)));
	struct nlmsghdr *nlh = (struct nlmsghdr *)(void *)buf;
	struct nfgenmsg *nfg;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	size_t off;
	ssize_t n;

	memset(buf, 0, 256);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++nl_seq;
	nfg = (struct nfgenmsg *)NLMSG_DATA(nlh);
	nfg->nfgen_family = NFPROTO_IPV4;
	nfg->version = NFNETLINK_V0;
	off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*nfg));
	nla_put_str(buf, &off, NFTA_CHAIN_TABLE, "nat");
	nla_put_str(buf, &off, NFTA_CHAIN_NAME, chain);
	nlh->nlmsg_len = (uint32_t)off;
	if (sendto(nl_fd, buf, off, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	for (;;) {
		n = recv(nl_fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (nlh = (struct nlmsghdr *)(void *)buf; NLMSG_OK(nlh, (size_t)n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_seq != nl_seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				int err = ((struct nlmsgerr *)NLMSG_DATA(nlh))->error;

				if (err == -ENOENT)
					return 0;
				if (err == 0)
					continue;
				errno = -err;
				return -1;
			}
			return 1;
		}
	}
}

/* ---- x_tables: the nat blob ----------------------------------------------- */

static int raw_fd = -1;
static struct ipt_get_entries *blob;
static size_t blob_cap;

/* Reads the nat table; 0 with *size 0 when there is none yet. */
static int legacy_read(size_t *size)
{
	struct ipt_getinfo info;
	socklen_t len;
	int tries;

	for (tries = 0; tries < 20; tries++) {
		memset(&info, 0, sizeof(info));
		strcpy(info.name, "nat");
		len = sizeof(info);
		if (getsockopt(raw_fd, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len) < 0) {
			if (errno == ENOENT) {
				*size = 0;
				return 0;
			}
			return -1;
		}
		if (sizeof(*blob) + info.size > blob_cap) {
			blob_cap = sizeof(*blob) + info.size + info.size / 4;
			free(blob);
			blob = malloc(blob_cap);
			if (!blob)
				die("malloc");
		}
		memset(blob, 0, sizeof(*blob));
		strcpy(blob->name, "nat");
		blob->size = info.size;
		len = (socklen_t)(sizeof(*blob) + info.size);
		if (getsockopt(raw_fd, IPPROTO_IP, IPT_SO_GET_ENTRIES, blob, &len) == 0) {
			*size = info.size;
			return 0;
		}
		if (errno != EAGAIN)
			return -1;
		/* The table changed between the two calls: read it again. */
	}
	return -1;
}

static bool legacy_has(const char *const *found, size_t n_found, const char *name)
{
	size_t i;

	for (i = 0; i < n_found; i++)
		if (strcmp(found[i], name) == 0)
			return true;
	return false;
}

/* ---- the wrappers' exit log ---------------------------------------------- */

static int xlog_fd = -1;
static const char *xlog_tag;
static char xlog_buf[65536];
static size_t xlog_len;

/* True when a restore tagged xlog_tag exited with status 0 since the last call. */
static bool xlog_restore_exited(void)
{
	bool seen = false;
	ssize_t n;
	char *line, *nl;

	for (;;) {
		n = read(xlog_fd, xlog_buf + xlog_len, sizeof(xlog_buf) - 1 - xlog_len);
		if (n <= 0)
			break;
		xlog_len += (size_t)n;
		xlog_buf[xlog_len] = '\0';
		line = xlog_buf;
		while ((nl = strchr(line, '\n')) != NULL) {
			char tag[64], name[64];
			long rss;
			double wall;
			int code;

			*nl = '\0';
			if (sscanf(line, "%63s %63s %ld %lf %d", tag, name, &rss, &wall, &code) ==
				    5 &&
			    strcmp(tag, xlog_tag) == 0 && strlen(name) > 8 &&
			    strcmp(name + strlen(name) - 8, "-restore") == 0 && code == 0)
				seen = true;
			line = nl + 1;
		}
		xlog_len -= (size_t)(line - xlog_buf);
		memmove(xlog_buf, line, xlog_len);
		if (xlog_len == sizeof(xlog_buf) - 1)
			xlog_len = 0; /* a line that long is not ours */
	}
	return seen;
}

/* ---- wait ------------------------------------------------------------------ */

static bool use_legacy;
static struct names want_exist, want_gone;
static double poll_cost_total;
static unsigned long polls;

/* 1: every condition holds, 0: not yet, -1: error. */
static int conditions_hold(void)
{
	static const char **found;
	static size_t found_cap;
	size_t i, size, off, n_found = 0;
	int r;

	if (!use_legacy) {
		for (i = 0; i < want_exist.n; i++) {
			r = nft_chain_exists(want_exist.v[i]);
			if (r <= 0)
				return r;
		}
		for (i = 0; i < want_gone.n; i++) {
			r = nft_chain_exists(want_gone.v[i]);
			if (r != 0)
				return r < 0 ? -1 : 0;
		}
		return 1;
	}
	if (legacy_read(&size) < 0)
		return -1;
	/* Collect the names of the chain heads (ERROR targets) we look for. */
	for (off = 0; off + sizeof(struct ipt_entry) <= size;) {
		struct ipt_entry *e = (struct ipt_entry *)(void *)((char *)blob->entrytable + off);
		struct xt_entry_target *t =
			(struct xt_entry_target *)(void *)((char *)e + e->target_offset);

		if (e->next_offset == 0)
			break;
		if (strcmp(t->u.user.name, XT_ERROR_TARGET) == 0) {
			const char *name = (const char *)t->data;

			for (i = 0; i < want_exist.n + want_gone.n; i++) {
				const char *w = i < want_exist.n ? want_exist.v[i]
								 : want_gone.v[i - want_exist.n];

				if (strcmp(name, w) == 0) {
					if (n_found == found_cap) {
						found_cap = found_cap ? 2 * found_cap : 64;
						found = realloc(found, found_cap * sizeof(*found));
						if (!found)
							die("realloc");
					}
					found[n_found++] = w;
					break;
				}
			}
		}
		off += e->next_offset;
	}
	for (i = 0; i < want_exist.n; i++)
		if (!legacy_has(found, n_found, want_exist.v[i]))
			return 0;
	for (i = 0; i < want_gone.n; i++)
		if (legacy_has(found, n_found, want_gone.v[i]))
			return 0;
	return 1;
}

static pid_t spawn(char **argv, const char *in, const char *out, bool detach)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		die("fork");
	if (pid > 0)
		return pid;
	if (detach)
		setsid();
	else
		setpgid(0, 0); /* killed as a group on a timeout */
	if (in) {
		fd = open(in, O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0)
			_exit(126);
		close(fd);
	}
	fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0 || dup2(fd, 1) < 0 || (out && dup2(fd, 2) < 0))
		_exit(126);
	close(fd);
	execvp(argv[0], argv);
	fprintf(stderr, "kpbench: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int cmd_wait(int argc, char **argv)
{
	const char *rename_src = NULL, *rename_dst = NULL, *input = NULL, *log = NULL,
		   *pidfile = NULL;
	double timeout_s = 60, interval = 2, t0, t_ok = -1, t_child = -1, t_poll;
	char **cmd = NULL;
	long long t0_real;
	pid_t child = -1;
	int i, r, status = 0;
	bool child_done = false;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--legacy") == 0)
			use_legacy = true;
		else if (strcmp(a, "--exists") == 0 && i + 1 < argc)
			names_add(&want_exist, argv[++i]);
		else if (strcmp(a, "--gone") == 0 && i + 1 < argc)
			names_add(&want_gone, argv[++i]);
		else if (strcmp(a, "--exists-file") == 0 && i + 1 < argc)
			names_load(&want_exist, argv[++i]);
		else if (strcmp(a, "--gone-file") == 0 && i + 1 < argc)
			names_load(&want_gone, argv[++i]);
		else if (strcmp(a, "--timeout") == 0 && i + 1 < argc)
			timeout_s = atof(argv[++i]);
		else if (strcmp(a, "--interval") == 0 && i + 1 < argc)
			interval = atof(argv[++i]);
		else if (strcmp(a, "--exit-log") == 0 && i + 2 < argc) {
			xlog_fd = open(argv[++i], O_RDONLY | O_CLOEXEC);
			xlog_tag = argv[++i];
			if (xlog_fd < 0 || lseek(xlog_fd, 0, SEEK_END) < 0)
				die(argv[i - 1]);
		} else if (strcmp(a, "--rename") == 0 && i + 2 < argc) {
			rename_src = argv[++i];
			rename_dst = argv[++i];
		} else if (strcmp(a, "--input") == 0 && i + 1 < argc)
			input = argv[++i];
		else if (strcmp(a, "--daemon") == 0 && i + 2 < argc) {
			log = argv[++i];
			pidfile = argv[++i];
		} else if (strcmp(a, "--") == 0) {
			cmd = argv + i + 1;
			break;
		} else {
			fprintf(stderr, "kpbench wait: bad argument %s\n", a);
			return 2;
		}
	}
	if ((input || log) && (!cmd || !cmd[0])) {
		fprintf(stderr, "kpbench wait: --input and --daemon need -- CMD\n");
		return 2;
	}
	if (want_exist.n + want_gone.n == 0) {
		fprintf(stderr, "kpbench wait: nothing to wait for\n");
		return 2;
	}
	if (use_legacy) {
		raw_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
		if (raw_fd < 0)
			die("socket(AF_INET, SOCK_RAW)");
	} else {
		nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
		if (nl_fd < 0)
			die("socket(NETLINK_NETFILTER)");
	}
	t0_real = real_ns();
	t0 = mono_ms();
	if (rename_src && rename(rename_src, rename_dst) < 0)
		die("rename");
	if (input)
		child = spawn(cmd, input, NULL, false);
	if (log) {
		FILE *f;

		child = spawn(cmd, NULL, log, true);
		f = fopen(pidfile, "w");
		if (!f)
			die(pidfile);
		fprintf(f, "%d\n", (int)child);
		fclose(f);
	}
	for (;;) {
		double now, cost = 0, t_exit = 0;

		if (xlog_fd < 0 || xlog_restore_exited()) {
			t_exit = mono_ms();
			t_poll = mono_ms();
			r = conditions_hold();
			now = mono_ms();
			cost = now - t_poll;
			poll_cost_total += cost;
			polls++;
			if (r < 0)
				die("reading the nat table");
			if (r > 0) {
				t_ok = xlog_fd < 0 ? now : t_exit;
				break;
			}
		}
		now = mono_ms();
		if (input && !child_done && waitpid(child, &status, WNOHANG) == child) {
			child_done = true;
			t_child = mono_ms();
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "kpbench: %s failed (status %d)\n", cmd[0], status);
				printf("failed %.1f %lld\n", t_child - t0, t0_real);
				return 4;
			}
		}
		if (log && waitpid(child, &status, WNOHANG) == child) {
			fprintf(stderr, "kpbench: %s exited (status %d)\n", cmd[0], status);
			printf("failed %.1f %lld\n", mono_ms() - t0, t0_real);
			return 4;
		}
		if (now - t0 > timeout_s * 1000) {
			printf("timeout %.1f %lld\n", now - t0, t0_real);
			fprintf(stderr, "kpbench: %lu polls, %.2f ms each\n", polls,
				polls ? poll_cost_total / (double)polls : 0.0);
			if (input && !child_done) {
				kill(-child, SIGKILL);
				kill(child, SIGKILL);
				waitpid(child, &status, 0);
			}
			return 3;
		}
		if (xlog_fd >= 0)
			sleep_ms(1);
		else
			sleep_ms(use_legacy && cost > interval ? cost : interval);
	}
	printf("ok %.1f %lld\n", t_ok - t0, t0_real);
	if (input) {
		if (!child_done) {
			/* The rules are in; the child may still be freeing its memory. */
			if (waitpid(child, &status, 0) != child)
				die("waitpid");
			t_child = mono_ms();
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "kpbench: %s failed (status %d)\n", cmd[0], status);
			return 4;
		}
		printf("child %.1f\n", t_child - t0);
	}
	fprintf(stderr, "kpbench: %lu polls, %.2f ms each\n", polls,
		polls ? poll_cost_total / (double)polls : 0.0);
	return 0;
}

/* ---- rusage wrapper ------------------------------------------------------ */

static volatile pid_t rusage_child;

static void forward_signal(int sig)
{
	if (rusage_child > 0)
		kill(rusage_child, sig);
}

static int cmd_rusage(int argc, char **argv)
{
	struct rusage ru;
	pid_t parent = getpid(), pid;
	double t0;
	int status, code;
	FILE *f;

	if (argc < 6)
		return 2;
	t0 = mono_ms();
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(137);
		execvp(argv[5], argv + 5);
		fprintf(stderr, "kpbench: %s: %s\n", argv[5], strerror(errno));
		_exit(127);
	}
	rusage_child = pid;
	signal(SIGTERM, forward_signal);
	signal(SIGINT, forward_signal);
	signal(SIGPIPE, SIG_IGN);
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			die("wait4");
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	f = fopen(argv[2], "a");
	if (f) {
		fprintf(f, "%s %s %ld %.3f %d\n", argv[3], argv[4], ru.ru_maxrss,
			(mono_ms() - t0) / 1000, code);
		fclose(f);
	}
	return code;
}

/* ---- data path ------------------------------------------------------------- */

static int cmd_serve(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, c, one = 1;

	if (argc != 3)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0)
		die("listen");
	for (;;) {
		c = accept(fd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

static int cmd_connect(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	unsigned long ok = 0, failed = 0;
	double secs, t0, t;

	if (argc != 5)
		return 2;
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		fprintf(stderr, "kpbench connect: bad address %s\n", argv[2]);
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[3]));
	secs = atof(argv[4]);
	t0 = mono_ms();
	do {
		struct pollfd p;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), err = 0;
		socklen_t len = sizeof(err);

		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
			err = errno;
		} else {
			p.fd = fd;
			p.events = POLLOUT;
			if (poll(&p, 1, 1000) != 1)
				err = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
		}
		if (err) {
			failed++;
			if (failed <= 3)
				fprintf(stderr, "kpbench connect %s:%s: %s\n", argv[2], argv[3],
					strerror(err));
		} else {
			ok++;
		}
		/* A reset instead of a FIN: no TIME_WAIT, the port can be reused at once. */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		t = mono_ms();
	} while (t - t0 < secs * 1000);
	printf("rate %.0f conns %lu failures %lu secs %.3f\n", (double)ok * 1000 / (t - t0), ok,
	       failed, (t - t0) / 1000);
	return ok == 0 || failed * 100 > ok + failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "wait") == 0)
		return cmd_wait(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "rusage") == 0)
		return cmd_rusage(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "connect") == 0)
		return cmd_connect(argc, argv);
	fprintf(stderr,
		"usage: kpbench wait [--legacy] [--exists C] [--gone C] [--exists-file F]\n"
		"         [--gone-file F] [--timeout S] [--interval MS] [--exit-log LOG TAG]\n"
		"         [--rename SRC DST | --input FILE -- CMD.. | --daemon LOG PIDFILE -- "
		"CMD..]\n"
		"       kpbench rusage LOG TAG NAME CMD..\n"
		"       kpbench serve PORT\n"
		"       kpbench connect IP PORT SECONDS\n");
	return 2;
}
