// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests test/unit/lib/tracer.c: a hand-made kproxy payload and the packets
 * kube-proxy's packet-flow tests would send through it, small payloads for
 * single walking rules, and payloads iptables-restore would refuse.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proxy/errbuf.h"
#include "proxy/strbuf.h"
#include "test/unit/lib/tracer.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * One node (192.168.0.2), pods in 10.0.0.0/8 (the local-traffic detector),
 * seven services:
 *   ns1/svc1:p80  cluster IP 172.30.0.41, ClientIP affinity, endpoints
 *                 10.180.0.1 and 10.180.0.2;
 *   ns2/svc2:p80  no endpoints: cluster IP 172.30.0.42, external IP
 *                 192.168.99.22 and NodePort 3001 reject;
 *   ns3/svc3:p80  NodePort 3003 (also on localhost) and external IP
 *                 192.168.99.33, eTP=Cluster, endpoint 10.180.0.3;
 *   ns4/svc4:p80  LoadBalancer 1.2.3.4, eTP=Local, NodePort 3004, health check
 *                 30004, local endpoint 10.180.0.4 and remote 10.180.1.4;
 *   ns5/svc5:p80  LoadBalancer 5.6.7.8 open to 203.0.113.0/25 only,
 *                 NodePort 3005, endpoint 10.180.0.5;
 *   ns6/svc6:p80  LoadBalancer 1.2.3.6, eTP=Local, NodePort 3006, health check
 *                 30006, only a remote endpoint 10.180.1.6;
 *   ns7/svc7:p53  UDP cluster IP 172.30.0.47, endpoint 10.180.0.7.
 * A stale endpoint chain is deleted on the way.
 */
static const char payload[] =
	"*filter\n"
	":KPROXY-SERVICES - [0:0]\n"
	":KPROXY-EXTERNAL-SERVICES - [0:0]\n"
	":KPROXY-NODEPORTS - [0:0]\n"
	":KPROXY-FORWARD - [0:0]\n"
	":KPROXY-FIREWALL - [0:0]\n"
	"-I INPUT 1 -m conntrack --ctstate NEW -m comment --comment \"kproxy externally-visible"
	" service portals\" -j KPROXY-EXTERNAL-SERVICES\n"
	"-I FORWARD 1 -m conntrack --ctstate NEW -m comment --comment \"kproxy externally-visible"
	" service portals\" -j KPROXY-EXTERNAL-SERVICES\n"
	"-I INPUT 2 -m comment --comment \"kproxy health check service ports\" -j"
	" KPROXY-NODEPORTS\n"
	"-I FORWARD 2 -m conntrack --ctstate NEW -m comment --comment \"kproxy service portals\""
	" -j KPROXY-SERVICES\n"
	"-I OUTPUT 1 -m conntrack --ctstate NEW -m comment --comment \"kproxy service portals\""
	" -j KPROXY-SERVICES\n"
	"-I FORWARD 3 -m comment --comment \"kproxy forwarding rules\" -j KPROXY-FORWARD\n"
	"-I INPUT 3 -m conntrack --ctstate NEW -m comment --comment \"kproxy load balancer"
	" firewall\" -j KPROXY-FIREWALL\n"
	"-I OUTPUT 2 -m conntrack --ctstate NEW -m comment --comment \"kproxy load balancer"
	" firewall\" -j KPROXY-FIREWALL\n"
	"-I FORWARD 4 -m conntrack --ctstate NEW -m comment --comment \"kproxy load balancer"
	" firewall\" -j KPROXY-FIREWALL\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns2/svc2:p80 has no endpoints\" -m tcp -p tcp"
	" -d 172.30.0.42 --dport 80 -j REJECT\n"
	"-A KPROXY-EXTERNAL-SERVICES -m comment --comment \"ns2/svc2:p80 has no endpoints\" -m"
	" tcp -p tcp -d 192.168.99.22 --dport 80 -j REJECT\n"
	"-A KPROXY-EXTERNAL-SERVICES -m comment --comment \"ns2/svc2:p80 has no endpoints\" -m"
	" addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j REJECT\n"
	"-A KPROXY-EXTERNAL-SERVICES -m comment --comment \"ns6/svc6:p80 has no local endpoints\""
	" -m tcp -p tcp -d 1.2.3.6 --dport 80 -j DROP\n"
	"-A KPROXY-EXTERNAL-SERVICES -m comment --comment \"ns6/svc6:p80 has no local endpoints\""
	" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3006 -j DROP\n"
	"-A KPROXY-NODEPORTS -m comment --comment \"ns4/svc4:p80 health check node port\" -m tcp"
	" -p tcp --dport 30004 -j ACCEPT\n"
	"-A KPROXY-NODEPORTS -m comment --comment \"ns6/svc6:p80 health check node port\" -m tcp"
	" -p tcp --dport 30006 -j ACCEPT\n"
	"-A KPROXY-FIREWALL -m comment --comment \"ns5/svc5:p80 traffic not accepted by"
	" KPROXY-FW-NUKIZ6OKUXPJNT4C\" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP\n"
	"-A KPROXY-FORWARD -m conntrack --ctstate INVALID -j DROP\n"
	"-A KPROXY-FORWARD -m comment --comment \"kproxy forwarding rules\" -m mark --mark"
	" 0x4000/0x4000 -j ACCEPT\n"
	"-A KPROXY-FORWARD -m comment --comment \"kproxy forwarding conntrack rule\" -m conntrack"
	" --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
	"COMMIT\n"
	"*nat\n"
	":KPROXY-SERVICES - [0:0]\n"
	":KPROXY-NODEPORTS - [0:0]\n"
	":KPROXY-POSTROUTING - [0:0]\n"
	":KPROXY-MARK-MASQ - [0:0]\n"
	":KPROXY-SVC-XPGD46QRK7WJZT7O - [0:0]\n"
	":KPROXY-SEP-SXIVWICOYRO3J4NJ - [0:0]\n"
	":KPROXY-SEP-LXVODXWDISEETFEF - [0:0]\n"
	":KPROXY-SVC-X27LE4BHSL4DOUIK - [0:0]\n"
	":KPROXY-EXT-X27LE4BHSL4DOUIK - [0:0]\n"
	":KPROXY-SEP-OYPFS5VJICHGATKP - [0:0]\n"
	":KPROXY-SVC-4SW47YFZTEDKD3PK - [0:0]\n"
	":KPROXY-SVL-4SW47YFZTEDKD3PK - [0:0]\n"
	":KPROXY-EXT-4SW47YFZTEDKD3PK - [0:0]\n"
	":KPROXY-SEP-UKSFD7AGPMPPLUHC - [0:0]\n"
	":KPROXY-SEP-64PFTDP7EAH32GBG - [0:0]\n"
	":KPROXY-SVC-NUKIZ6OKUXPJNT4C - [0:0]\n"
	":KPROXY-EXT-NUKIZ6OKUXPJNT4C - [0:0]\n"
	":KPROXY-FW-NUKIZ6OKUXPJNT4C - [0:0]\n"
	":KPROXY-SEP-TGTSLJDSI6KB7NCB - [0:0]\n"
	":KPROXY-SVC-NDY5GL2HU4YWCI7Q - [0:0]\n"
	":KPROXY-EXT-NDY5GL2HU4YWCI7Q - [0:0]\n"
	":KPROXY-SEP-MOR6T46JLTSEJBBR - [0:0]\n"
	":KPROXY-SVC-WIAVBDJFSBFKTY5M - [0:0]\n"
	":KPROXY-SEP-PDAQ23TCH675NZYQ - [0:0]\n"
	":KPROXY-SEP-OLDENDPOINT2GONE - [0:0]\n"
	"-I PREROUTING 1 -m comment --comment \"kproxy service portals\" -j KPROXY-SERVICES\n"
	"-I OUTPUT 1 -m comment --comment \"kproxy service portals\" -j KPROXY-SERVICES\n"
	"-I POSTROUTING 1 -m comment --comment \"kproxy postrouting rules\" -j KPROXY-POSTROUTING\n"
	"-A KPROXY-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n"
	"-A KPROXY-POSTROUTING -j MARK --xor-mark 0x4000\n"
	"-A KPROXY-POSTROUTING -m comment --comment \"kproxy service traffic requiring SNAT\" -j"
	" MASQUERADE --random-fully\n"
	"-A KPROXY-MARK-MASQ -j MARK --or-mark 0x4000\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp -p tcp -d"
	" 172.30.0.41 --dport 80 -j KPROXY-SVC-XPGD46QRK7WJZT7O\n"
	"-A KPROXY-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 cluster IP\" -m tcp"
	" -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KPROXY-MARK-MASQ\n"
	"-A KPROXY-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.1:80\" -m"
	" recent --name KPROXY-SEP-SXIVWICOYRO3J4NJ --rcheck --seconds 10800 --reap -j"
	" KPROXY-SEP-SXIVWICOYRO3J4NJ\n"
	"-A KPROXY-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.2:80\" -m"
	" recent --name KPROXY-SEP-LXVODXWDISEETFEF --rcheck --seconds 10800 --reap -j"
	" KPROXY-SEP-LXVODXWDISEETFEF\n"
	"-A KPROXY-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.1:80\" -m"
	" statistic --mode random --probability 0.5000000000 -j KPROXY-SEP-SXIVWICOYRO3J4NJ\n"
	"-A KPROXY-SVC-XPGD46QRK7WJZT7O -m comment --comment \"ns1/svc1:p80 -> 10.180.0.2:80\" -j"
	" KPROXY-SEP-LXVODXWDISEETFEF\n"
	"-A KPROXY-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j"
	" KPROXY-MARK-MASQ\n"
	"-A KPROXY-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m recent --name"
	" KPROXY-SEP-SXIVWICOYRO3J4NJ --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80\n"
	"-A KPROXY-SEP-LXVODXWDISEETFEF -m comment --comment ns1/svc1:p80 -s 10.180.0.2 -j"
	" KPROXY-MARK-MASQ\n"
	"-A KPROXY-SEP-LXVODXWDISEETFEF -m comment --comment ns1/svc1:p80 -m recent --name"
	" KPROXY-SEP-LXVODXWDISEETFEF --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns3/svc3:p80 cluster IP\" -m tcp -p tcp -d"
	" 172.30.0.43 --dport 80 -j KPROXY-SVC-X27LE4BHSL4DOUIK\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns3/svc3:p80 external IP\" -m tcp -p tcp -d"
	" 192.168.99.33 --dport 80 -j KPROXY-EXT-X27LE4BHSL4DOUIK\n"
	"-A KPROXY-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp -d 127.0.0.0/8"
	" --dport 3003 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j"
	" KPROXY-EXT-X27LE4BHSL4DOUIK\n"
	"-A KPROXY-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp --dport 3003 -j"
	" KPROXY-EXT-X27LE4BHSL4DOUIK\n"
	"-A KPROXY-SVC-X27LE4BHSL4DOUIK -m comment --comment \"ns3/svc3:p80 cluster IP\" -m tcp"
	" -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KPROXY-MARK-MASQ\n"
	"-A KPROXY-SVC-X27LE4BHSL4DOUIK -m comment --comment \"ns3/svc3:p80 -> 10.180.0.3:80\" -j"
	" KPROXY-SEP-OYPFS5VJICHGATKP\n"
	"-A KPROXY-EXT-X27LE4BHSL4DOUIK -m comment --comment \"masquerade traffic for"
	" ns3/svc3:p80 external destinations\" -j KPROXY-MARK-MASQ\n"
	"-A KPROXY-EXT-X27LE4BHSL4DOUIK -j KPROXY-SVC-X27LE4BHSL4DOUIK\n"
	"-A KPROXY-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -s 10.180.0.3 -j"
	" KPROXY-MARK-MASQ\n"
	"-A KPROXY-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT"
	" --to-destination 10.180.0.3:80\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns4/svc4:p80 cluster IP\" -m tcp -p tcp -d"
	" 172.30.0.44 --dport 80 -j KPROXY-SVC-4SW47YFZTEDKD3PK\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns4/svc4:p80 loadbalancer IP\" -m tcp -p tcp"
	" -d 1.2.3.4 --dport 80 -j KPROXY-EXT-4SW47YFZTEDKD3PK\n"
	"-A KPROXY-NODEPORTS -m comment --comment ns4/svc4:p80 -m tcp -p tcp --dport 3004 -j"
	" KPROXY-EXT-4SW47YFZTEDKD3PK\n"
	"-A KPROXY-SVC-4SW47YFZTEDKD3PK -m comment --comment \"ns4/svc4:p80 cluster IP\" -m tcp"
	" -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KPROXY-MARK-MASQ\n"
	"-A KPROXY-SVC-4SW47YFZTEDKD3PK -m comment --comment \"ns4/svc4:p80 -> 10.180.0.4:80\" -m"
	" statistic --mode random --probability 0.5000000000 -j KPROXY-SEP-UKSFD7AGPMPPLUHC\n"
	"-A KPROXY-SVC-4SW47YFZTEDKD3PK -m comment --comment \"ns4/svc4:p80 -> 10.180.1.4:80\" -j"
	" KPROXY-SEP-64PFTDP7EAH32GBG\n"
	"-A KPROXY-SVL-4SW47YFZTEDKD3PK -m comment --comment \"ns4/svc4:p80 -> 10.180.0.4:80\" -j"
	" KPROXY-SEP-UKSFD7AGPMPPLUHC\n"
	"-A KPROXY-EXT-4SW47YFZTEDKD3PK -m comment --comment \"pod traffic for ns4/svc4:p80"
	" external destinations\" -s 10.0.0.0/8 -j KPROXY-SVC-4SW47YFZTEDKD3PK\n"
	"-A KPROXY-EXT-4SW47YFZTEDKD3PK -m comment --comment \"masquerade LOCAL traffic for"
	" ns4/svc4:p80 external destinations\" -m addrtype --src-type LOCAL -j KPROXY-MARK-MASQ\n"
	"-A KPROXY-EXT-4SW47YFZTEDKD3PK -m comment --comment \"route LOCAL traffic for"
	" ns4/svc4:p80 external destinations\" -m addrtype --src-type LOCAL -j"
	" KPROXY-SVC-4SW47YFZTEDKD3PK\n"
	"-A KPROXY-EXT-4SW47YFZTEDKD3PK -j KPROXY-SVL-4SW47YFZTEDKD3PK\n"
	"-A KPROXY-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -s 10.180.0.4 -j"
	" KPROXY-MARK-MASQ\n"
	"-A KPROXY-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT"
	" --to-destination 10.180.0.4:80\n"
	"-A KPROXY-SEP-64PFTDP7EAH32GBG -m comment --comment ns4/svc4:p80 -s 10.180.1.4 -j"
	" KPROXY-MARK-MASQ\n"
	"-A KPROXY-SEP-64PFTDP7EAH32GBG -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT"
	" --to-destination 10.180.1.4:80\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns5/svc5:p80 cluster IP\" -m tcp -p tcp -d"
	" 172.30.0.45 --dport 80 -j KPROXY-SVC-NUKIZ6OKUXPJNT4C\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns5/svc5:p80 loadbalancer IP\" -m tcp -p tcp"
	" -d 5.6.7.8 --dport 80 -j KPROXY-FW-NUKIZ6OKUXPJNT4C\n"
	"-A KPROXY-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp --dport 3005 -j"
	" KPROXY-EXT-NUKIZ6OKUXPJNT4C\n"
	"-A KPROXY-SVC-NUKIZ6OKUXPJNT4C -m comment --comment \"ns5/svc5:p80 cluster IP\" -m tcp"
	" -p tcp -d 172.30.0.45 --dport 80 ! -s 10.0.0.0/8 -j KPROXY-MARK-MASQ\n"
	"-A KPROXY-SVC-NUKIZ6OKUXPJNT4C -m comment --comment \"ns5/svc5:p80 -> 10.180.0.5:80\" -j"
	" KPROXY-SEP-TGTSLJDSI6KB7NCB\n"
	"-A KPROXY-EXT-NUKIZ6OKUXPJNT4C -m comment --comment \"masquerade traffic for"
	" ns5/svc5:p80 external destinations\" -j KPROXY-MARK-MASQ\n"
	"-A KPROXY-EXT-NUKIZ6OKUXPJNT4C -j KPROXY-SVC-NUKIZ6OKUXPJNT4C\n"
	"-A KPROXY-FW-NUKIZ6OKUXPJNT4C -m comment --comment \"ns5/svc5:p80 loadbalancer IP\" -s"
	" 203.0.113.0/25 -j KPROXY-EXT-NUKIZ6OKUXPJNT4C\n"
	"-A KPROXY-FW-NUKIZ6OKUXPJNT4C -m comment --comment \"other traffic to ns5/svc5:p80 will"
	" be dropped by KPROXY-FIREWALL\"\n"
	"-A KPROXY-SEP-TGTSLJDSI6KB7NCB -m comment --comment ns5/svc5:p80 -s 10.180.0.5 -j"
	" KPROXY-MARK-MASQ\n"
	"-A KPROXY-SEP-TGTSLJDSI6KB7NCB -m comment --comment ns5/svc5:p80 -m tcp -p tcp -j DNAT"
	" --to-destination 10.180.0.5:80\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns6/svc6:p80 cluster IP\" -m tcp -p tcp -d"
	" 172.30.0.46 --dport 80 -j KPROXY-SVC-NDY5GL2HU4YWCI7Q\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns6/svc6:p80 loadbalancer IP\" -m tcp -p tcp"
	" -d 1.2.3.6 --dport 80 -j KPROXY-EXT-NDY5GL2HU4YWCI7Q\n"
	"-A KPROXY-NODEPORTS -m comment --comment ns6/svc6:p80 -m tcp -p tcp --dport 3006 -j"
	" KPROXY-EXT-NDY5GL2HU4YWCI7Q\n"
	"-A KPROXY-SVC-NDY5GL2HU4YWCI7Q -m comment --comment \"ns6/svc6:p80 cluster IP\" -m tcp"
	" -p tcp -d 172.30.0.46 --dport 80 ! -s 10.0.0.0/8 -j KPROXY-MARK-MASQ\n"
	"-A KPROXY-SVC-NDY5GL2HU4YWCI7Q -m comment --comment \"ns6/svc6:p80 -> 10.180.1.6:80\" -j"
	" KPROXY-SEP-MOR6T46JLTSEJBBR\n"
	"-A KPROXY-EXT-NDY5GL2HU4YWCI7Q -m comment --comment \"pod traffic for ns6/svc6:p80"
	" external destinations\" -s 10.0.0.0/8 -j KPROXY-SVC-NDY5GL2HU4YWCI7Q\n"
	"-A KPROXY-EXT-NDY5GL2HU4YWCI7Q -m comment --comment \"masquerade LOCAL traffic for"
	" ns6/svc6:p80 external destinations\" -m addrtype --src-type LOCAL -j KPROXY-MARK-MASQ\n"
	"-A KPROXY-EXT-NDY5GL2HU4YWCI7Q -m comment --comment \"route LOCAL traffic for"
	" ns6/svc6:p80 external destinations\" -m addrtype --src-type LOCAL -j"
	" KPROXY-SVC-NDY5GL2HU4YWCI7Q\n"
	"-A KPROXY-SEP-MOR6T46JLTSEJBBR -m comment --comment ns6/svc6:p80 -s 10.180.1.6 -j"
	" KPROXY-MARK-MASQ\n"
	"-A KPROXY-SEP-MOR6T46JLTSEJBBR -m comment --comment ns6/svc6:p80 -m tcp -p tcp -j DNAT"
	" --to-destination 10.180.1.6:80\n"
	"-A KPROXY-SERVICES -m comment --comment \"ns7/svc7:p53 cluster IP\" -m udp -p udp -d"
	" 172.30.0.47 --dport 53 -j KPROXY-SVC-WIAVBDJFSBFKTY5M\n"
	"-A KPROXY-SVC-WIAVBDJFSBFKTY5M -m comment --comment \"ns7/svc7:p53 cluster IP\" -m udp"
	" -p udp -d 172.30.0.47 --dport 53 ! -s 10.0.0.0/8 -j KPROXY-MARK-MASQ\n"
	"-A KPROXY-SVC-WIAVBDJFSBFKTY5M -m comment --comment \"ns7/svc7:p53 -> 10.180.0.7:53\" -j"
	" KPROXY-SEP-PDAQ23TCH675NZYQ\n"
	"-A KPROXY-SEP-PDAQ23TCH675NZYQ -m comment --comment ns7/svc7:p53 -s 10.180.0.7 -j"
	" KPROXY-MARK-MASQ\n"
	"-A KPROXY-SEP-PDAQ23TCH675NZYQ -m comment --comment ns7/svc7:p53 -m udp -p udp -j DNAT"
	" --to-destination 10.180.0.7:53\n"
	"-X KPROXY-SEP-OLDENDPOINT2GONE\n"
	"-A KPROXY-SERVICES -m comment --comment \"kproxy service nodeports; NOTE: this must be"
	" the last rule in this chain\" -m addrtype --dst-type LOCAL -j KPROXY-NODEPORTS\n"
	"COMMIT\n";

struct flow {
	const char *name;
	const char *src;
	const char *dst;
	const char *proto;
	unsigned dport;
	const char *want;
};

static const struct flow flows[] = {
	/* Cluster IP with two endpoints: every endpoint, masquerade from outside the pods. */
	{ "pod to cluster IP", "10.0.0.2", "172.30.0.41", "tcp", 80,
	  "10.180.0.1:80, 10.180.0.2:80" },
	{ "node to cluster IP", "192.168.0.2", "172.30.0.41", "tcp", 80,
	  "10.180.0.1:80, 10.180.0.2:80 masq" },
	{ "external to cluster IP", "203.0.113.9", "172.30.0.41", "tcp", 80,
	  "10.180.0.1:80, 10.180.0.2:80 masq" },
	{ "hairpin from the first endpoint", "10.180.0.1", "172.30.0.41", "tcp", 80,
	  "10.180.0.1:80, 10.180.0.2:80 masq" },
	{ "hairpin from the second endpoint", "10.180.0.2", "172.30.0.41", "tcp", 80,
	  "10.180.0.1:80, 10.180.0.2:80 masq" },
	{ "cluster IP, wrong port", "10.0.0.2", "172.30.0.41", "tcp", 443, "NONE" },
	{ "cluster IP, wrong protocol", "10.0.0.2", "172.30.0.41", "udp", 80, "NONE" },
	{ "pod straight to an endpoint", "10.0.0.2", "10.180.0.1", "tcp", 80, "NONE" },
	{ "nothing on that node port", "203.0.113.9", "192.168.0.2", "tcp", 22, "NONE" },

	/* No endpoints: every entry point rejects. */
	{ "cluster IP without endpoints", "10.0.0.2", "172.30.0.42", "tcp", 80, "REJECT" },
	{ "external IP without endpoints", "203.0.113.9", "192.168.99.22", "tcp", 80, "REJECT" },
	{ "node port without endpoints", "203.0.113.9", "192.168.0.2", "tcp", 3001, "REJECT" },

	/* eTP=Cluster NodePort and external IP: always masqueraded. */
	{ "external to node port", "203.0.113.9", "192.168.0.2", "tcp", 3003,
	  "10.180.0.3:80 masq" },
	{ "localhost node port", "127.0.0.1", "127.0.0.1", "tcp", 3003, "10.180.0.3:80 masq" },
	{ "pod to node port", "10.0.0.2", "192.168.0.2", "tcp", 3003, "10.180.0.3:80 masq" },
	{ "node port on a foreign address", "203.0.113.9", "192.168.0.9", "tcp", 3003, "NONE" },
	{ "external to external IP", "203.0.113.9", "192.168.99.33", "tcp", 80,
	  "10.180.0.3:80 masq" },
	{ "pod to cluster IP of a node port service", "10.0.0.2", "172.30.0.43", "tcp", 80,
	  "10.180.0.3:80" },

	/* eTP=Local with a local endpoint. */
	{ "external to LB IP gets the local endpoint", "203.0.113.9", "1.2.3.4", "tcp", 80,
	  "10.180.0.4:80" },
	{ "pod to LB IP short-circuits to every endpoint", "10.0.0.2", "1.2.3.4", "tcp", 80,
	  "10.180.0.4:80, 10.180.1.4:80" },
	{ "node to LB IP is masqueraded to every endpoint", "192.168.0.2", "1.2.3.4", "tcp", 80,
	  "10.180.0.4:80, 10.180.1.4:80 masq" },
	{ "external to local node port", "203.0.113.9", "192.168.0.2", "tcp", 3004,
	  "10.180.0.4:80" },
	{ "localhost to local node port", "127.0.0.1", "127.0.0.1", "tcp", 3004,
	  "10.180.0.4:80, 10.180.1.4:80 masq" },
	{ "pod to cluster IP of a local service", "10.0.0.2", "172.30.0.44", "tcp", 80,
	  "10.180.0.4:80, 10.180.1.4:80" },
	{ "health check node port", "203.0.113.9", "192.168.0.2", "tcp", 30004, "ACCEPT" },

	/* loadBalancerSourceRanges. */
	{ "LB IP from an allowed source", "203.0.113.7", "5.6.7.8", "tcp", 80,
	  "10.180.0.5:80 masq" },
	{ "LB IP from a blocked source", "203.0.113.200", "5.6.7.8", "tcp", 80, "DROP" },
	{ "node port ignores source ranges", "203.0.113.200", "192.168.0.2", "tcp", 3005,
	  "10.180.0.5:80 masq" },

	/* eTP=Local without a local endpoint. */
	{ "external to LB IP without local endpoints", "203.0.113.9", "1.2.3.6", "tcp", 80,
	  "DROP" },
	{ "external to node port without local endpoints", "203.0.113.9", "192.168.0.2", "tcp",
	  3006, "DROP" },
	{ "pod to LB IP without local endpoints", "10.0.0.2", "1.2.3.6", "tcp", 80,
	  "10.180.1.6:80" },
	{ "node to LB IP without local endpoints", "192.168.0.2", "1.2.3.6", "tcp", 80,
	  "10.180.1.6:80 masq" },
	{ "health check without local endpoints", "203.0.113.9", "192.168.0.2", "tcp", 30006,
	  "ACCEPT" },

	/* UDP. */
	{ "pod to UDP cluster IP", "10.0.0.2", "172.30.0.47", "udp", 53, "10.180.0.7:53" },
	{ "TCP to a UDP service", "10.0.0.2", "172.30.0.47", "tcp", 53, "NONE" },
	{ "SCTP to a UDP service", "10.0.0.2", "172.30.0.47", "sctp", 53, "NONE" },

	/* Bad packets. */
	{ "bad source", "10.0.0", "172.30.0.41", "tcp", 80,
	  "ERROR: bad source address \"10.0.0\"" },
	{ "bad destination", "10.0.0.2", "cluster", "tcp", 80,
	  "ERROR: bad destination address \"cluster\"" },
	{ "bad port", "10.0.0.2", "172.30.0.41", "tcp", 65536, "ERROR: bad port 65536" },
};

static const char *const node_ips[] = { "192.168.0.2" };

/* Runs cases[] against t and reports every mismatch before failing. */
static void check_flows(struct tracer *t, const struct flow *cases, size_t n)
{
	size_t i, failed = 0;

	for (i = 0; i < n; i++) {
		const struct flow *c = &cases[i];
		char *got = tracer_trace(t, c->src, c->dst, c->proto, c->dport);

		if (strcmp(got, c->want) != 0) {
			print_error("%s (%s -> %s %s/%u): got \"%s\", want \"%s\"; matched:\n%s",
				    c->name, c->src, c->dst, c->proto, c->dport, got, c->want,
				    tracer_matches(t));
			failed++;
		}
		free(got);
	}
	assert_int_equal(failed, 0);
}

static void test_flows(void **state)
{
	struct errbuf err = { "" };
	struct tracer *t;

	(void)state;
	t = tracer_new(payload, &err);
	if (!t)
		fail_msg("%s", err.msg);
	assert_int_equal(tracer_set_local_ips(t, node_ips, ARRAY_SIZE(node_ips)), 0);
	check_flows(t, flows, ARRAY_SIZE(flows));
	tracer_free(t);
}

static void test_local_ips(void **state)
{
	static const char *const more[] = { "192.168.0.2", "192.168.0.9" };
	static const char *const bad[] = { "192.168.0.2", "node" };
	struct tracer *t;
	char *got;

	(void)state;
	t = tracer_new(payload, NULL);
	assert_non_null(t);

	/* Without node addresses only loopback is LOCAL. */
	got = tracer_trace(t, "203.0.113.9", "192.168.0.2", "tcp", 3003);
	assert_string_equal(got, "NONE");
	free(got);
	got = tracer_trace(t, "127.0.0.1", "127.0.0.1", "tcp", 3003);
	assert_string_equal(got, "10.180.0.3:80 masq");
	free(got);

	assert_int_equal(tracer_set_local_ips(t, more, ARRAY_SIZE(more)), 0);
	got = tracer_trace(t, "203.0.113.9", "192.168.0.9", "tcp", 3003);
	assert_string_equal(got, "10.180.0.3:80 masq");
	free(got);

	/* A bad address changes nothing. */
	assert_int_equal(tracer_set_local_ips(t, bad, ARRAY_SIZE(bad)), -EINVAL);
	got = tracer_trace(t, "203.0.113.9", "192.168.0.9", "tcp", 3003);
	assert_string_equal(got, "10.180.0.3:80 masq");
	free(got);

	assert_int_equal(tracer_set_local_ips(t, NULL, 0), 0);
	got = tracer_trace(t, "203.0.113.9", "192.168.0.9", "tcp", 3003);
	assert_string_equal(got, "NONE");
	free(got);
	tracer_free(t);
}

/*
 * ClientIP affinity: a client an endpoint's recent list holds goes to that
 * endpoint only; any other client (or one held by a list no rule checks)
 * may go to either. A negated --rcheck matches the clients a list lacks.
 */
static void test_recent(void **state)
{
	static const char negated[] =
		"*nat\n:KPROXY-SERVICES - [0:0]\n"
		"-A KPROXY-SERVICES -m recent ! --rcheck -j DNAT --to-destination 2.2.2.2:2\n"
		"-A KPROXY-SERVICES -j DNAT --to-destination 3.3.3.3:3\n"
		"COMMIT\n";
	struct tracer *t;
	char *got;

	(void)state;
	t = tracer_new(payload, NULL);
	assert_non_null(t);
	assert_int_equal(tracer_recent_add(t, "KPROXY-SEP-LXVODXWDISEETFEF", "10.0.0.2"), 0);
	assert_int_equal(tracer_recent_add(t, "KPROXY-SEP-NOSUCHLIST000000", "10.0.0.3"), 0);
	assert_int_equal(tracer_recent_add(t, "KPROXY-SEP-SXIVWICOYRO3J4NJ", "cluster"), -EINVAL);
	got = tracer_trace(t, "10.0.0.2", "172.30.0.41", "tcp", 80);
	assert_string_equal(got, "10.180.0.2:80");
	free(got);
	got = tracer_trace(t, "10.0.0.3", "172.30.0.41", "tcp", 80);
	assert_string_equal(got, "10.180.0.1:80, 10.180.0.2:80");
	free(got);
	got = tracer_trace(t, "10.0.0.4", "172.30.0.41", "tcp", 80);
	assert_string_equal(got, "10.180.0.1:80, 10.180.0.2:80");
	free(got);
	tracer_free(t);

	/* Without --name the list is xt_recent's DEFAULT. */
	t = tracer_new(negated, NULL);
	assert_non_null(t);
	assert_int_equal(tracer_recent_add(t, "DEFAULT", "10.0.0.2"), 0);
	got = tracer_trace(t, "10.0.0.2", "1.1.1.1", "tcp", 80);
	assert_string_equal(got, "3.3.3.3:3");
	free(got);
	got = tracer_trace(t, "10.0.0.3", "1.1.1.1", "tcp", 80);
	assert_string_equal(got, "2.2.2.2:2");
	free(got);
	tracer_free(t);
}

static void test_matches(void **state)
{
	struct tracer *t;
	char *got;

	(void)state;
	t = tracer_new(payload, NULL);
	assert_non_null(t);
	got = tracer_trace(t, "127.0.0.1", "127.0.0.1", "tcp", 3003);
	assert_string_equal(got, "10.180.0.3:80 masq");
	free(got);
	/* The localhost rule (with its nfacct counter) is the one that matched. */
	assert_string_equal(
		tracer_matches(t),
		"nat: -A KPROXY-SERVICES -m comment --comment \"kproxy service nodeports; NOTE: "
		"this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j "
		"KPROXY-NODEPORTS\n"
		"nat: -A KPROXY-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp -d "
		"127.0.0.0/8 --dport 3003 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j "
		"KPROXY-EXT-X27LE4BHSL4DOUIK\n"
		"nat: -A KPROXY-EXT-X27LE4BHSL4DOUIK -m comment --comment \"masquerade traffic for "
		"ns3/svc3:p80 external destinations\" -j KPROXY-MARK-MASQ\n"
		"nat: -A KPROXY-EXT-X27LE4BHSL4DOUIK -j KPROXY-SVC-X27LE4BHSL4DOUIK\n"
		"nat: -A KPROXY-SVC-X27LE4BHSL4DOUIK -m comment --comment \"ns3/svc3:p80 -> "
		"10.180.0.3:80\" -j KPROXY-SEP-OYPFS5VJICHGATKP\n"
		"nat: -A KPROXY-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -m tcp -p "
		"tcp -j DNAT --to-destination 10.180.0.3:80\n");

	/* Each trace starts a new list. */
	got = tracer_trace(t, "10.0.0.2", "172.30.0.42", "tcp", 80);
	assert_string_equal(got, "REJECT");
	free(got);
	assert_string_equal(tracer_matches(t),
			    "filter: -A KPROXY-SERVICES -m comment --comment \"ns2/svc2:p80 has "
			    "no endpoints\" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j REJECT\n");
	tracer_free(t);
}

/* A payload of its own and one packet through it. */
struct walk {
	const char *name;
	const char *payload;
	const char *src;
	const char *dst;
	const char *proto;
	unsigned dport;
	const char *want;
};

#define NAT(chains, rules) "*nat\n:KPROXY-SERVICES - [0:0]\n" chains rules "COMMIT\n"
#define FILTER(chains, rules)                                                                      \
	"*filter\n:KPROXY-SERVICES - [0:0]\n:KPROXY-EXTERNAL-SERVICES - [0:0]\n"                   \
	":KPROXY-NODEPORTS - [0:0]\n:KPROXY-FIREWALL - [0:0]\n" chains rules "COMMIT\n"
#define TO_VIP "-A KPROXY-SERVICES -m tcp -p tcp -d 1.1.1.1 --dport 80 "

static const struct walk walks[] = {
	{ "empty payload", "", "10.0.0.2", "1.1.1.1", "tcp", 80, "NONE" },
	{ "jump loop",
	  NAT(":KPROXY-A - [0:0]\n:KPROXY-B - [0:0]\n",
	      "-A KPROXY-SERVICES -j KPROXY-A\n-A KPROXY-A -j KPROXY-B\n"
	      "-A KPROXY-B -j KPROXY-A\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "LOOP" },
	{ "self jump behind a probability",
	  NAT(":KPROXY-A - [0:0]\n",
	      "-A KPROXY-SERVICES -j KPROXY-A\n"
	      "-A KPROXY-A -m statistic --mode random --probability 0.5 -j KPROXY-A\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "LOOP" },
	{ "RETURN goes back to the caller",
	  NAT(":KPROXY-A - [0:0]\n", "-A KPROXY-SERVICES -j KPROXY-A\n-A KPROXY-A -j RETURN\n"
				     "-A KPROXY-A -j DNAT --to-destination 9.9.9.9:1\n"
				     "-A KPROXY-SERVICES -j DNAT --to-destination 2.2.2.2:2\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "2.2.2.2:2" },
	{ "a plain jump that DNATs ends the caller",
	  NAT(":KPROXY-A - [0:0]\n", "-A KPROXY-SERVICES -j KPROXY-A\n"
				     "-A KPROXY-A -j DNAT --to-destination 2.2.2.2:2\n"
				     "-A KPROXY-SERVICES -j DNAT --to-destination 3.3.3.3:3\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "2.2.2.2:2" },
	{ "-I goes before -A",
	  NAT("", TO_VIP "-j DNAT --to-destination 2.2.2.2:2\n"
			 "-I KPROXY-SERVICES 1 -j DNAT --to-destination 3.3.3.3:3\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "3.3.3.3:3" },
	{ "-I without a number goes first",
	  NAT("", TO_VIP "-j DNAT --to-destination 2.2.2.2:2\n"
			 "-I KPROXY-SERVICES -j DNAT --to-destination 3.3.3.3:3\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "3.3.3.3:3" },
	{ "-I past the end appends",
	  NAT("", TO_VIP "-j DNAT --to-destination 2.2.2.2:2\n"
			 "-I KPROXY-SERVICES 9 -j DNAT --to-destination 3.3.3.3:3\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "2.2.2.2:2" },
	{ "-F empties a chain",
	  NAT("", TO_VIP "-j DNAT --to-destination 2.2.2.2:2\n-F KPROXY-SERVICES\n"
			 "-F KPROXY-ONLY-IN-THE-KERNEL\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "NONE" },
	{ "-X of a declared and of an unknown chain",
	  NAT(":KPROXY-SVC-STALE - [0:0]\n", "-X KPROXY-SVC-STALE\n-X KPROXY-SVC-GONE\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "NONE" },
	{ "quoted comment with escapes and a comment-only rule",
	  NAT("", "-A KPROXY-SERVICES -m comment --comment \"say \\\"hi\\\" \\\\ -j DROP\"\n" TO_VIP
		  "-m comment --comment \"a \\\"b\\\"\" -j DNAT --to-destination "
		  "2.2.2.2:2\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "2.2.2.2:2" },
	{ "comments, blank lines, CRLF, another table",
	  "# Generated by hand\n\n*mangle\n:KPROXY-CANARY - [0:0]\r\nCOMMIT\n"
	  "  \n" NAT("", TO_VIP "-j DNAT --to-destination 2.2.2.2:2\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "2.2.2.2:2" },
	{ "ACCEPT after a DNAT reports the endpoint",
	  NAT("", "-A KPROXY-SERVICES -m tcp -p tcp -d 1.1.1.1 --dport 8080 -j DNAT "
		  "--to-destination 10.1.1.1:8080\n")
		  FILTER("", "-A KPROXY-NODEPORTS -m tcp -p tcp --dport 8080 -j ACCEPT\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 8080, "10.1.1.1:8080" },
	{ "filter sees the endpoint address and a DROP beats the DNAT",
	  NAT("", TO_VIP "-j DNAT --to-destination 10.1.1.1:8080\n")
		  FILTER("", "-A KPROXY-FIREWALL -d 1.1.1.1 -j ACCEPT\n"
			     "-A KPROXY-FIREWALL -m tcp -p tcp -d 10.1.1.1 --dport 80 -j DROP\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "DROP" },
	{ "filter chains run in order",
	  FILTER("", "-A KPROXY-FIREWALL -j DROP\n-A KPROXY-NODEPORTS -j ACCEPT\n"
		     "-A KPROXY-EXTERNAL-SERVICES -j REJECT\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "REJECT" },
	{ "verdict inside a subchain of a filter chain",
	  FILTER(":KPROXY-SUB - [0:0]\n", "-A KPROXY-SERVICES -j KPROXY-SUB\n"
					  "-A KPROXY-SUB -s 10.0.0.0/8 -j RETURN\n"
					  "-A KPROXY-SUB -j DROP\n"
					  "-A KPROXY-SERVICES ! -s 10.0.0.0/8 -j REJECT\n"
					  "-A KPROXY-SERVICES -j ACCEPT\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "ACCEPT" },
	{ "a verdict behind a probability still ends the walk",
	  FILTER(":KPROXY-SUB - [0:0]\n",
		 "-A KPROXY-SERVICES -m statistic --mode random --probability 0.5 -j KPROXY-SUB\n"
		 "-A KPROXY-SERVICES -j ACCEPT\n-A KPROXY-SUB -j REJECT\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "REJECT" },
	{ "mark and conntrack never match, nor recent lists no source was put in",
	  NAT(":KPROXY-A - [0:0]\n",
	      "-A KPROXY-SERVICES -m mark --mark 0x4000/0x4000 -j KPROXY-A\n"
	      "-A KPROXY-SERVICES -m mark ! --mark 0x4000/0x4000 -j KPROXY-A\n"
	      "-A KPROXY-SERVICES -m conntrack ! --ctstate NEW -j KPROXY-A\n"
	      "-A KPROXY-SERVICES -m recent --name KPROXY-A --rcheck --seconds 10 --reap"
	      " -j KPROXY-A\n"
	      "-A KPROXY-SERVICES -m recent --name KPROXY-A --update -j KPROXY-A\n"
	      "-A KPROXY-A -j DNAT --to-destination 2.2.2.2:2\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "NONE" },
	{ "negated matches",
	  NAT("", "-A KPROXY-SERVICES -m tcp -p tcp ! --dport 80 -j DNAT "
		  "--to-destination 2.2.2.2:2\n"
		  "-A KPROXY-SERVICES ! -p udp ! -d 1.1.1.0/24 -j DNAT "
		  "--to-destination 3.3.3.3:3\n"
		  "-A KPROXY-SERVICES -m addrtype ! --dst-type LOCAL ! -s "
		  "10.0.0.2 -j DNAT --to-destination 4.4.4.4:4\n"
		  "-A KPROXY-SERVICES ! -p udp -d 1.1.1.1 ! -i cni0 -j DNAT "
		  "--to-destination 5.5.5.5:5\n"),
	  "10.0.0.2", "1.1.1.1", "tcp", 80, "5.5.5.5:5" },
	{ "localhost node ports can be excluded",
	  NAT(":KPROXY-NODEPORTS - [0:0]\n",
	      "-A KPROXY-SERVICES -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j "
	      "KPROXY-NODEPORTS\n"
	      "-A KPROXY-NODEPORTS -m tcp -p tcp --dport 3001 -j DNAT --to-destination "
	      "10.1.1.1:80\n"),
	  "127.0.0.1", "127.0.0.1", "tcp", 3001, "NONE" },
	{ "all of 127.0.0.0/8 is LOCAL",
	  NAT(":KPROXY-NODEPORTS - [0:0]\n",
	      "-A KPROXY-SERVICES -m addrtype --dst-type LOCAL -j KPROXY-NODEPORTS\n"
	      "-A KPROXY-NODEPORTS -m tcp -p tcp --dport 3001 -j DNAT --to-destination "
	      "10.1.1.1:80\n"),
	  "10.0.0.2", "127.0.0.53", "tcp", 3001, "10.1.1.1:80" },
	{ "IPv6 with a hairpin and ::1 as LOCAL",
	  NAT(":KPROXY-MARK-MASQ - [0:0]\n:KPROXY-SEP-A - [0:0]\n",
	      "-A KPROXY-MARK-MASQ -j MARK --or-mark 0x4000\n"
	      "-A KPROXY-SERVICES -m sctp -p sctp -d fd00:30::1 --dport 80 -j KPROXY-SEP-A\n"
	      "-A KPROXY-SEP-A -m addrtype --src-type LOCAL -j KPROXY-MARK-MASQ\n"
	      "-A KPROXY-SEP-A -m sctp -p sctp -j DNAT --to-destination [fd00:180::1]:80\n")
		  FILTER("", "-A KPROXY-SERVICES -d fd00:180::/64 -j ACCEPT\n"),
	  "::1", "fd00:30::1", "sctp", 80, "[fd00:180::1]:80 masq" },
};

static void test_walks(void **state)
{
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(walks); i++) {
		const struct walk *c = &walks[i];
		struct errbuf err = { "" };
		struct tracer *t = tracer_new(c->payload, &err);
		char *got;

		if (!t) {
			print_error("%s: %s\n", c->name, err.msg);
			failed++;
			continue;
		}
		got = tracer_trace(t, c->src, c->dst, c->proto, c->dport);
		if (strcmp(got, c->want) != 0) {
			print_error("%s: got \"%s\", want \"%s\"; matched:\n%s", c->name, got,
				    c->want, tracer_matches(t));
			failed++;
		}
		free(got);
		tracer_free(t);
	}
	assert_int_equal(failed, 0);
}

struct bad_payload {
	const char *payload;
	const char *error;
};

#define RULE(r)	 "*nat\n:KPROXY-SERVICES - [0:0]\n-A KPROXY-SERVICES " r "\nCOMMIT\n"
#define FRULE(r) "*filter\n:KPROXY-SERVICES - [0:0]\n-A KPROXY-SERVICES " r "\nCOMMIT\n"

static const struct bad_payload bad_payloads[] = {
	/* Lines and tables. */
	{ "-A KPROXY-SERVICES -j ACCEPT\n", "line 1: rule outside a table" },
	{ ":KPROXY-SERVICES - [0:0]\n", "line 1: chain line outside a table" },
	{ "COMMIT\n", "line 1: COMMIT outside a table" },
	{ "*nope\nCOMMIT\n", "line 1: unknown table \"nope\"" },
	{ "*nat\nCOMMIT\n*nat\nCOMMIT\n", "line 3: table \"nat\" given twice" },
	{ "*filter\n:KPROXY-SERVICES - [0:0]\n*nat\nCOMMIT\n",
	  "line 3: table \"filter\" has no COMMIT" },
	{ "*filter\nCOMMIT\n*nat\n:KPROXY-SERVICES - [0:0]\n",
	  "end of input: table \"nat\" has no COMMIT" },
	{ "*nat\nKPROXY-SERVICES -j ACCEPT\nCOMMIT\n",
	  "line 2: unexpected line \"KPROXY-SERVICES\"" },
	{ "*nat\n-Z KPROXY-SERVICES\nCOMMIT\n", "line 2: unknown command \"-Z\"" },
	{ "*nat\n-A\nCOMMIT\n", "line 2: -A needs a chain name" },
	{ "*nat\n:KPROXY-A - [0:0]\n-X KPROXY-A extra\nCOMMIT\n",
	  "line 3: unexpected argument \"extra\"" },

	/* Chains. */
	{ "*nat\n:KPROXY-SERVICES\nCOMMIT\n", "line 2: bad chain line" },
	{ "*nat\n:KPROXY-SERVICES ACCEPTED [0:0]\nCOMMIT\n", "line 2: bad chain line" },
	{ "*nat\n: - [0:0]\nCOMMIT\n", "line 2: bad chain line" },
	{ "*nat\n:KPROXY-SERVICES - [0:0]\n:KPROXY-SERVICES - [0:0]\nCOMMIT\n",
	  "line 3: chain \"KPROXY-SERVICES\" declared twice" },
	{ "*nat\n:KPROXY-SVC-ABCDEFGHIJKLMNOPQR - [0:0]\nCOMMIT\n",
	  "line 2: chain name \"KPROXY-SVC-ABCDEFGHIJKLMNOPQR\" longer than 28 characters" },
	{ "*nat\n:KPROXY-SERVICES - [0:0]\n-A KPROXY-NOPE -j KPROXY-SERVICES\nCOMMIT\n",
	  "line 3: rule in undeclared chain \"KPROXY-NOPE\"" },
	{ "*nat\n:KPROXY-SERVICES - [0:0]\n-A KPROXY-SERVICES -j KPROXY-SVC-NOPE\nCOMMIT\n",
	  "line 3: jump to undeclared chain \"KPROXY-SVC-NOPE\"" },
	{ "*nat\n:KPROXY-SERVICES - [0:0]\n:KPROXY-SVC-OLD - [0:0]\n"
	  "-A KPROXY-SERVICES -j KPROXY-SVC-OLD\n-X KPROXY-SVC-OLD\nCOMMIT\n",
	  "line 4: jump to deleted chain \"KPROXY-SVC-OLD\"" },
	{ RULE("-j PREROUTING"), "line 3: jump to built-in chain \"PREROUTING\"" },
	{ "*nat\n-X OUTPUT\nCOMMIT\n", "line 2: cannot delete built-in chain \"OUTPUT\"" },
	{ "*nat\n:KPROXY-A - [0:0]\n-A KPROXY-A -j RETURN\n-X KPROXY-A\nCOMMIT\n",
	  "line 4: cannot delete non-empty chain \"KPROXY-A\"" },
	{ "*nat\n:KPROXY-SERVICES - [0:0]\n:KPROXY-A - [0:0]\n-A KPROXY-SERVICES -j KPROXY-B\n"
	  "COMMIT\n*filter\n:KPROXY-B - [0:0]\nCOMMIT\n",
	  "line 4: jump to undeclared chain \"KPROXY-B\"" },

	/* Words. */
	{ RULE("-m comment --comment \"unbalanced -j ACCEPT"), "line 3: unterminated quote" },
	{ RULE("-m comment --comment \"escaped end\\\" -j ACCEPT"), "line 3: unterminated quote" },
	{ RULE("--foo 1 -j ACCEPT"), "line 3: unknown option \"--foo\"" },
	{ RULE("-j ACCEPT extra"), "line 3: unexpected argument \"extra\"" },
	{ RULE("-m multiport --dports 80,443 -j ACCEPT"),
	  "line 3: unknown match module \"multiport\"" },
	{ RULE("-j"), "line 3: option \"-j\" needs an argument" },
	{ RULE("-j ACCEPT !"), "line 3: \"!\" at end of rule" },
	{ RULE("! -m comment --comment x -j ACCEPT"), "line 3: option \"-m\" cannot be negated" },
	{ RULE("-d 1.1.1.1 -d 2.2.2.2 -j ACCEPT"), "line 3: option \"-d\" given twice" },
	{ RULE("-j ACCEPT -j RETURN"), "line 3: option \"-j\" given twice" },

	/* Matches. */
	{ RULE("-s 10.0.0.300 -j ACCEPT"), "line 3: bad address \"10.0.0.300\"" },
	{ RULE("-d 10.0.0.0/33 -j ACCEPT"), "line 3: bad address \"10.0.0.0/33\"" },
	{ RULE("-p gre -j ACCEPT"), "line 3: unknown protocol \"gre\"" },
	{ RULE("--dport 80 -j ACCEPT"), "line 3: option \"--dport\" needs -p tcp, udp or sctp" },
	{ RULE("! -p tcp --dport 80 -j ACCEPT"),
	  "line 3: option \"--dport\" needs -p tcp, udp or sctp" },
	{ RULE("-m tcp -p tcp --dport 0 -j ACCEPT"), "line 3: bad port \"0\"" },
	{ RULE("-m tcp -p tcp --dport 65536 -j ACCEPT"), "line 3: bad port \"65536\"" },
	{ RULE("-m tcp -p tcp --dport http -j ACCEPT"), "line 3: bad port \"http\"" },
	{ RULE("-m tcp --dport 80 -j ACCEPT"), "line 3: -m tcp needs -p tcp" },
	{ RULE("-m udp -p tcp --dport 80 -j ACCEPT"), "line 3: -m udp needs -p udp" },
	{ RULE("--comment x -j ACCEPT"), "line 3: option \"--comment\" needs -m comment" },
	{ RULE("-m comment --comment "
	       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	       "xxxxxxxxxxxxx -j ACCEPT"),
	  "line 3: comment longer than 255 bytes" },
	{ RULE("-m addrtype --dst-type UNICAST -j ACCEPT"),
	  "line 3: unsupported address type \"UNICAST\"" },
	{ RULE("--src-type LOCAL -j ACCEPT"), "line 3: option \"--src-type\" needs -m addrtype" },
	{ RULE("--ctstate NEW -j ACCEPT"), "line 3: option \"--ctstate\" needs -m conntrack" },
	{ RULE("--name KPROXY-SEP-A --rcheck -j ACCEPT"),
	  "line 3: option \"--name\" needs -m recent" },
	{ RULE("-m statistic --mode nth --every 2 -j ACCEPT"),
	  "line 3: unsupported statistic mode \"nth\"" },
	{ RULE("-m statistic --mode random -j ACCEPT"),
	  "line 3: -m statistic needs --probability" },
	{ RULE("-m statistic --mode random --probability 1.5 -j ACCEPT"),
	  "line 3: bad probability \"1.5\"" },
	{ RULE("-m statistic --mode random --probability half -j ACCEPT"),
	  "line 3: bad probability \"half\"" },

	/* Targets. */
	{ RULE("-j DROP"), "line 3: target DROP is not valid in table nat" },
	{ FRULE("-j DNAT --to-destination 10.0.0.1:80"),
	  "line 3: target DNAT is not valid in table filter" },
	{ FRULE("-j MASQUERADE"), "line 3: target MASQUERADE is not valid in table filter" },
	{ RULE("-j DNAT"), "line 3: -j DNAT needs --to-destination" },
	{ RULE("--to-destination 10.0.0.1:80 -j DNAT"),
	  "line 3: option \"--to-destination\" needs -j DNAT" },
	{ RULE("-j DNAT --to-destination 10.0.0.1"), "line 3: bad DNAT destination \"10.0.0.1\"" },
	{ RULE("-j DNAT --to-destination fd00::1:80"),
	  "line 3: bad DNAT destination \"fd00::1:80\"" },
	{ RULE("-j DNAT --to-destination [10.0.0.1]:80"),
	  "line 3: bad DNAT destination \"[10.0.0.1]:80\"" },
	{ RULE("-j MASQUERADE --or-mark 0x4000"), "line 3: option \"--or-mark\" needs -j MARK" },
	{ FRULE("-j ACCEPT --reject-with icmp-port-unreachable"),
	  "line 3: option \"--reject-with\" needs -j REJECT" },
};

static void test_bad_payloads(void **state)
{
	size_t i, failed = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad_payloads); i++) {
		const struct bad_payload *c = &bad_payloads[i];
		struct errbuf err = { "" };
		struct tracer *t = tracer_new(c->payload, &err);

		if (t) {
			print_error("case %zu: parsed, want \"%s\"\n", i, c->error);
			tracer_free(t);
			failed++;
		} else if (strcmp(err.msg, c->error) != 0) {
			print_error("case %zu: got \"%s\", want \"%s\"\n", i, err.msg, c->error);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
	/* A caller may not want the message. */
	assert_null(tracer_new("COMMIT\n", NULL));
	tracer_free(NULL);
}

/* The cap on words per line is enforced, and a line just under it parses. */
static void test_word_cap(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct errbuf err = { "" };
	struct tracer *t;
	int i;

	(void)state;
	strbuf_adds(&sb, "*filter\n:KPROXY-SERVICES - [0:0]\n-A KPROXY-SERVICES");
	for (i = 0; i < 127; i++)
		strbuf_adds(&sb, " -m comment");
	strbuf_adds(&sb, " -j\nCOMMIT\n");
	/* 2 + 127 * 2 + 1 = 257 words. */
	assert_null(tracer_new(strbuf_str(&sb), &err));
	assert_string_equal(err.msg, "line 3: more than 256 words");

	strbuf_reset(&sb);
	strbuf_adds(&sb, "*filter\n:KPROXY-SERVICES - [0:0]\n-A KPROXY-SERVICES");
	for (i = 0; i < 126; i++)
		strbuf_adds(&sb, " -m comment");
	strbuf_adds(&sb, " -j ACCEPT\nCOMMIT\n");
	t = tracer_new(strbuf_str(&sb), &err);
	assert_non_null(t);
	tracer_free(t);
	strbuf_fini(&sb);
}

/*
 * Levels of chains each jumping twice at random to the next level make
 * 2^levels paths: the walk stops at TRACER_MAX_MATCHES rather than run for
 * ever, while TRACER_MAX_DEPTH nested plain jumps are still followed.
 */
static void test_walk_caps(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct tracer *t;
	char *got;
	int i;

	(void)state;
	strbuf_adds(&sb, "*nat\n:KPROXY-SERVICES - [0:0]\n");
	for (i = 1; i <= 20; i++)
		strbuf_addf(&sb, ":KPROXY-L%d - [0:0]\n", i);
	strbuf_adds(&sb, "-A KPROXY-SERVICES -j KPROXY-L1\n");
	for (i = 1; i < 20; i++)
		strbuf_addf(
			&sb,
			"-A KPROXY-L%d -m statistic --mode random --probability 0.5 -j KPROXY-L%d\n"
			"-A KPROXY-L%d -j KPROXY-L%d\n",
			i, i + 1, i, i + 1);
	strbuf_adds(&sb, "-A KPROXY-L20 -j DNAT --to-destination 10.1.1.1:80\nCOMMIT\n");
	t = tracer_new(strbuf_str(&sb), NULL);
	assert_non_null(t);
	got = tracer_trace(t, "10.0.0.2", "1.1.1.1", "tcp", 80);
	assert_string_equal(got, "LOOP");
	free(got);
	tracer_free(t);

	/* A chain of TRACER_MAX_DEPTH plain jumps below KPROXY-SERVICES ends in its DNAT. */
	strbuf_reset(&sb);
	strbuf_adds(&sb, "*nat\n:KPROXY-SERVICES - [0:0]\n");
	for (i = 1; i <= TRACER_MAX_DEPTH + 1; i++)
		strbuf_addf(&sb, ":KPROXY-D%d - [0:0]\n", i);
	strbuf_adds(&sb, "-A KPROXY-SERVICES -j KPROXY-D1\n");
	for (i = 1; i < TRACER_MAX_DEPTH; i++)
		strbuf_addf(&sb, "-A KPROXY-D%d -j KPROXY-D%d\n", i, i + 1);
	strbuf_addf(&sb, "-A KPROXY-D%d -j DNAT --to-destination 10.1.1.1:80\n", TRACER_MAX_DEPTH);
	strbuf_adds(&sb, "COMMIT\n");
	t = tracer_new(strbuf_str(&sb), NULL);
	assert_non_null(t);
	got = tracer_trace(t, "10.0.0.2", "1.1.1.1", "tcp", 80);
	assert_string_equal(got, "10.1.1.1:80");
	free(got);
	tracer_free(t);

	/* One more level is a loop. */
	strbuf_reset(&sb);
	strbuf_adds(&sb, "*nat\n:KPROXY-SERVICES - [0:0]\n");
	for (i = 1; i <= TRACER_MAX_DEPTH + 1; i++)
		strbuf_addf(&sb, ":KPROXY-D%d - [0:0]\n", i);
	strbuf_adds(&sb, "-A KPROXY-SERVICES -j KPROXY-D1\n");
	for (i = 1; i <= TRACER_MAX_DEPTH; i++)
		strbuf_addf(&sb, "-A KPROXY-D%d -j KPROXY-D%d\n", i, i + 1);
	strbuf_addf(&sb, "-A KPROXY-D%d -j DNAT --to-destination 10.1.1.1:80\n",
		    TRACER_MAX_DEPTH + 1);
	strbuf_adds(&sb, "COMMIT\n");
	t = tracer_new(strbuf_str(&sb), NULL);
	assert_non_null(t);
	got = tracer_trace(t, "10.0.0.2", "1.1.1.1", "tcp", 80);
	assert_string_equal(got, "LOOP");
	free(got);
	tracer_free(t);
	strbuf_fini(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flows),	     cmocka_unit_test(test_local_ips),
		cmocka_unit_test(test_matches),	     cmocka_unit_test(test_walks),
		cmocka_unit_test(test_bad_payloads), cmocka_unit_test(test_word_cap),
		cmocka_unit_test(test_walk_caps),    cmocka_unit_test(test_recent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
