// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * conntrack_cleanup() against a real kernel, as root, in a network namespace
 * of its own: a forked child unshares its network namespace (the test process
 * and the host are never touched), fills the conntrack table there, runs the
 * cleanup and lists the table again to see that exactly the stale UDP entries
 * are gone. Skipped when not root or when namespaces are not available.
 *
 * Entries come two ways: written directly through ctnetlink (any tuple,
 * including DNATed ones, zones and IPv6), and, when iptables-nft is installed,
 * made by real UDP packets over loopback with DNAT rules in the namespace.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "proxy/conntrack.h"

#define EXIT_SKIP   77
#define MAX_ENTRIES 256

/* The child cannot use cmocka's asserts (they would unwind into the child's
 * copy of the runner); it reports on stderr and through its exit status. */
static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static struct k8s_addr addr(const char *s)
{
	struct k8s_addr a;

	memset(&a, 0, sizeof(a));
	if (!k8s_addr_parse(s, &a)) {
		fprintf(stderr, "bad address %s\n", s);
		exit(1);
	}
	return a;
}

/* ------------------------------------------------------------------------ */
/* Netlink helpers of the test */

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		perror("netlink");
		exit(1);
	}
	return nl;
}

/* Sends one request that asks for an ack; returns 0 or a negative errno. */
static int nl_request(struct mnl_socket *nl, const struct nlmsghdr *nlh)
{
	_Alignas(struct nlmsghdr) char buf[8192];
	ssize_t len;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (len < 0)
		return -errno;
	if (mnl_cb_run(buf, (size_t)len, nlh->nlmsg_seq, mnl_socket_get_portid(nl), NULL, NULL) < 0)
		return -errno;
	return 0;
}

static void put_tuple(struct nlmsghdr *nlh, uint16_t type, const struct conntrack_tuple *t,
		      uint8_t proto)
{
	bool v4 = t->src.family == K8S_FAMILY_IPV4;
	struct nlattr *tuple, *ip, *l4;

	tuple = mnl_attr_nest_start(nlh, type);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, v4 ? 4 : 16, t->src.bytes);
	mnl_attr_put(nlh, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, v4 ? 4 : 16, t->dst.bytes);
	mnl_attr_nest_end(nlh, ip);
	l4 = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, proto);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	mnl_attr_nest_end(nlh, l4);
	mnl_attr_nest_end(nlh, tuple);
}

/* Creates an entry as `conntrack -I` would: both tuples, a timeout, a zone. */
static int create_entry(struct mnl_socket *nl, const struct conntrack_entry *e, uint32_t seq)
{
	_Alignas(struct nlmsghdr) char buf[1024];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = e->family == K8S_FAMILY_IPV4 ? AF_INET : AF_INET6;
	nfg->version = NFNETLINK_V0;
	put_tuple(nlh, CTA_TUPLE_ORIG, &e->orig, e->l4proto);
	put_tuple(nlh, CTA_TUPLE_REPLY, &e->reply, e->l4proto);
	mnl_attr_put_u32(nlh, CTA_TIMEOUT, htonl(600));
	if (e->zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, htons(e->zone));
	return nl_request(nl, nlh);
}

struct listing {
	struct conntrack_entry entries[MAX_ENTRIES];
	size_t n;
	size_t unparsed;
};

static int list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct listing *l = data;

	if (l->n == MAX_ENTRIES)
		return MNL_CB_ERROR;
	if (conntrack_parse_entry(nlh, &l->entries[l->n]) < 0)
		l->unparsed++;
	else
		l->n++;
	return MNL_CB_OK;
}

/* Lists the table of the family (l4proto: 0 or one protocol) with the
 * module's own request and parser. */
static void list_entries(enum k8s_family family, uint8_t l4proto, struct listing *l)
{
	static _Alignas(struct nlmsghdr) char buf[32768];
	struct mnl_socket *nl = nl_open();
	uint32_t seq = (uint32_t)time(NULL);
	ssize_t len;
	int r, n;

	memset(l, 0, sizeof(*l));
	n = conntrack_build_dump(buf, sizeof(buf), family, l4proto, seq);
	if (n < 0 || mnl_socket_sendto(nl, buf, (size_t)n) < 0) {
		perror("dump");
		exit(1);
	}
	do {
		len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (len < 0) {
			perror("dump");
			exit(1);
		}
		r = mnl_cb_run(buf, (size_t)len, seq, mnl_socket_get_portid(nl), list_cb, l);
	} while (r > MNL_CB_STOP);
	if (r < 0) {
		perror("dump");
		exit(1);
	}
	mnl_socket_close(nl);
}

/* Finds the entry of the listing whose original source port is sport. */
static const struct conntrack_entry *find(const struct listing *l, uint8_t proto, uint16_t sport)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->entries[i].l4proto == proto && l->entries[i].orig.sport == sport)
			return &l->entries[i];
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* The scene */

/*
 * Entries written through ctnetlink. The original source port names each one;
 * reply_src is where the reply comes from (the endpoint after DNAT, or the
 * service IP itself when nothing DNATed the flow).
 */
static const struct {
	const char *what;
	uint8_t proto;
	const char *src, *dst, *reply_src;
	uint16_t sport, dport, reply_sport;
	uint16_t zone;
	bool stale;
} made[] = {
	{ "cluster IP, serving endpoint", IPPROTO_UDP, "198.18.0.1", "198.19.0.10", "198.18.1.5",
	  50001, 53, 5353, 0, false },
	{ "cluster IP, endpoint gone", IPPROTO_UDP, "198.18.0.1", "198.19.0.10", "198.18.9.9",
	  50002, 53, 5353, 0, true },
	{ "cluster IP, never DNATed", IPPROTO_UDP, "198.18.0.1", "198.19.0.10", "198.19.0.10",
	  50003, 53, 53, 0, true },
	{ "NodePort, endpoint gone", IPPROTO_UDP, "203.0.113.9", "192.0.2.10", "198.18.9.9", 50004,
	  30053, 5353, 0, true },
	{ "tcp to the cluster IP", IPPROTO_TCP, "198.18.0.1", "198.19.0.10", "198.18.9.9", 50005,
	  53, 5353, 0, false },
	{ "service without serving endpoints", IPPROTO_UDP, "198.18.0.1", "198.19.0.20",
	  "198.19.0.20", 50006, 53, 53, 0, false },
	{ "cluster IP, endpoint gone, zone 7", IPPROTO_UDP, "198.18.0.1", "198.19.0.10",
	  "198.18.9.9", 50007, 53, 5353, 7, true },
	{ "ipv6 cluster IP, endpoint gone", IPPROTO_UDP, "2001:db8::1", "fd00::10", "fd00:1::9",
	  50008, 53, 5353, 0, true },
	{ "ipv6 cluster IP, serving endpoint", IPPROTO_UDP, "2001:db8::1", "fd00::10", "fd00:1::5",
	  50009, 53, 5353, 0, false },
	{ "NodePort, serving endpoint", IPPROTO_UDP, "203.0.113.9", "192.0.2.10", "198.18.1.5",
	  50010, 30053, 5353, 0, false },
};

/*
 * Flows sent over loopback. 127.0.0.10 and 127.0.0.11 play service IPs; the
 * nat table DNATs 127.0.0.10:53 to the serving endpoint 127.0.0.20:5353, except
 * from source port 41002, which goes to 127.0.0.21:5353 (no longer serving).
 */
static const struct {
	const char *what;
	uint16_t sport;
	const char *dst;
	uint16_t dport;
	const char *reply_src; /* as conntrack should have recorded it */
	uint16_t reply_sport;
	bool stale;
} sent[] = {
	{ "DNAT to a serving endpoint", 41001, "127.0.0.10", 53, "127.0.0.20", 5353, false },
	{ "DNAT to an endpoint gone", 41002, "127.0.0.10", 53, "127.0.0.21", 5353, true },
	{ "service IP never DNATed", 41003, "127.0.0.11", 53, "127.0.0.11", 53, true },
	{ "NodePort never DNATed", 41004, "127.0.0.1", 30053, "127.0.0.1", 30053, true },
	{ "unrelated", 41005, "127.0.0.1", 9999, "127.0.0.1", 9999, false },
};

static const char *const iptables_rules[] = {
	/* Any rule that uses conntrack turns tracking on in the namespace. */
	"iptables-nft -w -A OUTPUT -m conntrack --ctstate NEW -j ACCEPT",
	"iptables-nft -w -t nat -A OUTPUT -p udp -d 127.0.0.10 --dport 53 --sport 41002 "
	"-j DNAT --to-destination 127.0.0.21:5353",
	"iptables-nft -w -t nat -A OUTPUT -p udp -d 127.0.0.10 --dport 53 "
	"-j DNAT --to-destination 127.0.0.20:5353",
};

static int lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int r = -1;

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return r;
}

static int send_udp(uint16_t sport, const char *dst, uint16_t dport)
{
	struct sockaddr_in from, to;
	int one = 1, r = -1;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	from.sin_port = htons(sport);
	inet_pton(AF_INET, "127.0.0.1", &from.sin_addr);
	to = from;
	to.sin_port = htons(dport);
	inet_pton(AF_INET, dst, &to.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) == 0 &&
	    sendto(fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1)
		r = 0;
	close(fd);
	return r;
}

static bool have_iptables_nft(void)
{
	return system("command -v iptables-nft >/dev/null 2>&1") == 0;
}

static void make_entries(void)
{
	struct mnl_socket *nl = nl_open();
	size_t i;

	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		struct conntrack_entry e;
		int r;

		memset(&e, 0, sizeof(e));
		e.l4proto = made[i].proto;
		e.orig.src = addr(made[i].src);
		e.orig.dst = addr(made[i].dst);
		e.orig.sport = made[i].sport;
		e.orig.dport = made[i].dport;
		e.reply.src = addr(made[i].reply_src);
		e.reply.dst = e.orig.src;
		e.reply.sport = made[i].reply_sport;
		e.reply.dport = made[i].sport;
		e.family = e.orig.src.family;
		e.zone = made[i].zone;
		r = create_entry(nl, &e, (uint32_t)i + 1);
		CHECK(r == 0, "create %s: %s", made[i].what, strerror(-r));
	}
	mnl_socket_close(nl);
}

/* Sends the loopback flows; false when iptables-nft is missing or refuses. */
static bool send_flows(void)
{
	size_t i;

	if (!have_iptables_nft()) {
		fprintf(stderr, "iptables-nft not found: loopback flows skipped\n");
		return false;
	}
	for (i = 0; i < sizeof(iptables_rules) / sizeof(iptables_rules[0]); i++) {
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "%s >/dev/null 2>&1", iptables_rules[i]);
		if (system(cmd) != 0) {
			fprintf(stderr, "%s failed: loopback flows skipped\n", iptables_rules[i]);
			return false;
		}
	}
	for (i = 0; i < sizeof(sent) / sizeof(sent[0]); i++)
		CHECK(send_udp(sent[i].sport, sent[i].dst, sent[i].dport) == 0, "send %s: %s",
		      sent[i].what, strerror(errno));
	return true;
}

static void expect_made(const struct listing *l, enum k8s_family family, bool after_cleanup)
{
	size_t i;

	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		const struct conntrack_entry *e = find(l, made[i].proto, made[i].sport);
		bool want = !(after_cleanup && made[i].stale);

		if (addr(made[i].src).family != family)
			continue;
		CHECK((e != NULL) == want, "%s: %s", made[i].what,
		      want ? "missing" : "still there");
		if (e && !after_cleanup)
			CHECK(e->reply.sport == made[i].reply_sport && e->zone == made[i].zone,
			      "%s: read back reply port %u zone %u", made[i].what, e->reply.sport,
			      e->zone);
	}
}

static void expect_sent(const struct listing *l, bool after_cleanup)
{
	size_t i;

	for (i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
		const struct conntrack_entry *e = find(l, IPPROTO_UDP, sent[i].sport);
		bool want = !(after_cleanup && sent[i].stale);
		struct k8s_addr reply = addr(sent[i].reply_src);

		CHECK((e != NULL) == want, "%s: %s", sent[i].what,
		      want ? "missing" : "still there");
		if (e && !after_cleanup)
			CHECK(k8s_addr_cmp(&e->reply.src, &reply) == 0 &&
				      e->reply.sport == sent[i].reply_sport,
			      "%s: reply source is not %s:%u", sent[i].what, sent[i].reply_src,
			      sent[i].reply_sport);
	}
}

static size_t count_stale_made(enum k8s_family family)
{
	size_t i, n = 0;

	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		n += made[i].stale && addr(made[i].src).family == family;
	return n;
}

static size_t count_stale_sent(void)
{
	size_t i, n = 0;

	for (i = 0; i < sizeof(sent) / sizeof(sent[0]); i++)
		n += sent[i].stale;
	return n;
}

static bool kernel_filters(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 5 || (major == 5 && minor >= 8);
}

/* Runs in the child, inside its own network namespace. */
static int scene(void)
{
	static struct listing l;
	struct k8s_addr dns_ips[] = { addr("198.19.0.10"), addr("127.0.0.10"), addr("127.0.0.11"),
				      addr("fd00::10") };
	struct conntrack_endpoint dns_eps[] = { { addr("198.18.1.5"), 5353 },
						{ addr("127.0.0.20"), 5353 },
						{ addr("fd00:1::5"), 5353 } };
	struct k8s_addr quiet_ips[] = { addr("198.19.0.20") };
	struct conntrack_target targets[] = {
		{ dns_ips, 4, 53, 30053, dns_eps, 3 },
		{ quiet_ips, 1, 53, 30054, NULL, 0 },
	};
	struct errbuf err;
	size_t deleted, expect_v4;
	bool flows;
	int r;

	make_entries();
	flows = send_flows();
	if (failures)
		return 1;

	list_entries(K8S_FAMILY_IPV4, 0, &l);
	CHECK(l.unparsed == 0, "%zu entries could not be parsed", l.unparsed);
	expect_made(&l, K8S_FAMILY_IPV4, false);
	if (flows)
		expect_sent(&l, false);
	if (failures)
		return 1;

	/* The kernel filters by protocol since 5.8; older ones send everything. */
	list_entries(K8S_FAMILY_IPV4, IPPROTO_UDP, &l);
	CHECK(find(&l, IPPROTO_UDP, 50001) != NULL, "udp entry missing from filtered dump");
	if (kernel_filters())
		CHECK(find(&l, IPPROTO_TCP, 50005) == NULL, "tcp entry in a dump filtered to udp");

	/* IPv4: the stale IPv4 entries go, the IPv6 ones stay. */
	expect_v4 = count_stale_made(K8S_FAMILY_IPV4) + (flows ? count_stale_sent() : 0);
	r = conntrack_cleanup(targets, 2, K8S_FAMILY_IPV4, &deleted, &err);
	CHECK(r == 0, "cleanup: %s", err.msg);
	CHECK(deleted == expect_v4, "deleted %zu, want %zu", deleted, expect_v4);
	list_entries(K8S_FAMILY_IPV4, 0, &l);
	expect_made(&l, K8S_FAMILY_IPV4, true);
	if (flows)
		expect_sent(&l, true);
	list_entries(K8S_FAMILY_IPV6, 0, &l);
	expect_made(&l, K8S_FAMILY_IPV6, false);

	/* IPv6 next. */
	r = conntrack_cleanup(targets, 2, K8S_FAMILY_IPV6, &deleted, &err);
	CHECK(r == 0, "cleanup: %s", err.msg);
	CHECK(deleted == count_stale_made(K8S_FAMILY_IPV6), "deleted %zu ipv6", deleted);
	list_entries(K8S_FAMILY_IPV6, 0, &l);
	expect_made(&l, K8S_FAMILY_IPV6, true);

	/* A second pass finds nothing more. */
	r = conntrack_cleanup(targets, 2, K8S_FAMILY_IPV4, &deleted, &err);
	CHECK(r == 0 && deleted == 0, "second pass: %d, deleted %zu", r, deleted);
	return failures ? 1 : 0;
}

/* Runs in the child: without CAP_NET_ADMIN the kernel refuses the dump. */
static int unprivileged(void)
{
	struct k8s_addr ip = addr("198.19.0.10");
	struct conntrack_endpoint ep = { addr("198.18.1.5"), 5353 };
	struct conntrack_target t = { &ip, 1, 53, 0, &ep, 1 };
	struct errbuf err;
	size_t deleted = 99;
	int r;

	if (setgid(65534) < 0 || setuid(65534) < 0) {
		perror("setuid");
		return 1;
	}
	r = conntrack_cleanup(&t, 1, K8S_FAMILY_IPV4, &deleted, &err);
	CHECK(r == -EPERM, "cleanup returned %d", r);
	CHECK(strcmp(err.msg, "conntrack: dump: Operation not permitted") == 0, "message: %s",
	      err.msg);
	CHECK(deleted == 0, "deleted %zu", deleted);
	return failures ? 1 : 0;
}

/* Runs fn in a forked child in a network namespace of its own. */
static void run_in_namespace(int (*fn)(void))
{
	pid_t pid;
	int status;

	if (geteuid() != 0) {
		print_message("not root: skipped\n");
		skip();
	}
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0) {
			fprintf(stderr, "unshare(CLONE_NEWNET): %s\n", strerror(errno));
			_exit(EXIT_SKIP);
		}
		if (lo_up() < 0) {
			fprintf(stderr, "lo up: %s\n", strerror(errno));
			exit(1);
		}
		exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == EXIT_SKIP)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_cleanup_in_namespace(void **state)
{
	(void)state;
	run_in_namespace(scene);
}

static void test_cleanup_unprivileged(void **state)
{
	(void)state;
	run_in_namespace(unprivileged);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cleanup_in_namespace),
		cmocka_unit_test(test_cleanup_unprivileged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
