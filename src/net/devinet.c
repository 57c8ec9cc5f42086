/* IPv4 addresses of devices (Linux's devinet.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "../core/stack.h"

/* The connected route of an address's prefix (proto kernel), only while
 * its device is up (fib_add_ifaddr). Another device may hold the same
 * prefix already: the first one keeps it. */
static void fib_add_ifaddr(struct us_stack *s, struct netdev *dev, const struct in_ifaddr *ifa)
{
	if (ifa->prefixlen >= 32 || dev->type == NETDEV_LOOPBACK || !netdev_is_up(dev))
		return;
	struct fib_route r = {
		.dst = ifa->local & ifa->mask,
		.prefixlen = ifa->prefixlen,
		.proto = RTPROT_KERNEL,
		.prefsrc = ifa->local,
		.dev = dev,
	};
	(void)fib_insert(&s->fib, &r); /* EEXIST: another address holds it */
}

/* Every address of an up device has its prefix's connected route. */
static void fib_sync_connected(struct us_stack *s)
{
	struct netdev *d;
	list_for_each_entry(d, &s->devs, list) {
		struct in_ifaddr *ifa;
		list_for_each_entry(ifa, &d->ifa_list, list)
			fib_add_ifaddr(s, d, ifa);
	}
}

/* A device went up or down (Linux's fib_netdev_event). Down takes every
 * route through the device with it, connected and static (fib_disable_ip:
 * a static route does not come back by itself, as on Linux); up brings
 * back the connected routes of its addresses. Either way a prefix another
 * up device also has gets that device's connected route if it lacks one. */
void devinet_netdev_event(struct netdev *dev, bool up)
{
	struct us_stack *s = dev->stack;
	if (dev->type == NETDEV_LOOPBACK)
		return;
	if (!up)
		fib_flush_dev(&s->fib, dev);
	fib_sync_connected(s);
}

bool inet_addr_is_local(const struct us_stack *s, uint32_t addr)
{
	const struct netdev *dev;
	list_for_each_entry(dev, &s->devs, list) {
		const struct in_ifaddr *ifa;
		list_for_each_entry(ifa, &dev->ifa_list, list)
			if (ifa->local == addr)
				return true;
	}
	return false;
}

uint32_t inet_select_addr(const struct netdev *dev, uint32_t dst)
{
	const struct in_ifaddr *ifa;
	uint32_t first = 0;
	list_for_each_entry(ifa, &dev->ifa_list, list) {
		if (!first)
			first = ifa->local;
		if (((ifa->local ^ dst) & ifa->mask) == 0)
			return ifa->local;
	}
	return first;
}

bool inet_addr_is_broadcast(const struct netdev *dev, uint32_t addr)
{
	const struct in_ifaddr *ifa;
	list_for_each_entry(ifa, &dev->ifa_list, list)
		if (ifa->prefixlen < 31 && ifa->broadcast == addr)
			return true;
	return false;
}

bool inet_addr_is_bcast_for(const struct us_stack *s, const struct netdev *dev, uint32_t addr)
{
	if (ipv4_is_lbcast(addr))
		return true;
	if (dev && dev->type != NETDEV_LOOPBACK)
		return inet_addr_is_broadcast(dev, addr);
	const struct netdev *d;
	list_for_each_entry(d, &s->devs, list)
		if (inet_addr_is_broadcast(d, addr))
			return true;
	return false;
}

/* The device of an address call, or NULL with errno (EINVAL, ENODEV). */
static struct netdev *addr_dev(us_stack *s, int ifindex, int prefix_len)
{
	if (!s || prefix_len < 0 || prefix_len > 32) {
		errno = EINVAL;
		return NULL;
	}
	struct netdev *dev = netdev_get_by_index(s, ifindex);
	if (!dev)
		errno = ENODEV;
	return dev;
}

int us_addr_add(us_stack *s, int ifindex, struct in_addr addr, int prefix_len)
{
	struct netdev *dev = addr_dev(s, ifindex, prefix_len);
	if (!dev)
		return -1;
	uint32_t a = addr.s_addr;
	if (ipv4_is_zeronet(a) || ipv4_is_multicast(a) || ipv4_is_lbcast(a) ||
	    (ipv4_is_loopback(a) && dev->type != NETDEV_LOOPBACK)) {
		errno = EINVAL;
		return -1;
	}
	struct in_ifaddr *ifa;
	list_for_each_entry(ifa, &dev->ifa_list, list)
		if (ifa->local == a) {
			errno = EEXIST;
			return -1;
		}
	ifa = calloc(1, sizeof(*ifa));
	if (!ifa) {
		errno = ENOMEM;
		return -1;
	}
	ifa->local = a;
	ifa->prefixlen = (uint8_t)prefix_len;
	ifa->mask = inet_make_mask((unsigned)prefix_len);
	ifa->broadcast = a | ~ifa->mask;
	list_add_tail(&ifa->list, &dev->ifa_list);
	fib_add_ifaddr(s, dev, ifa);
	if (netdev_is_up(dev))
		arp_send_gratuitous(dev, a);
	return 0;
}

int us_addr_del(us_stack *s, int ifindex, struct in_addr addr, int prefix_len)
{
	struct netdev *dev = addr_dev(s, ifindex, prefix_len);
	if (!dev)
		return -1;
	struct in_ifaddr *ifa;
	list_for_each_entry(ifa, &dev->ifa_list, list) {
		if (ifa->local == addr.s_addr && ifa->prefixlen == prefix_len) {
			const struct fib_route *r = fib_lookup(&s->fib, ifa->local);
			if (r && r->dev == dev && r->proto == RTPROT_KERNEL &&
			    r->prefixlen == ifa->prefixlen && r->prefsrc == ifa->local)
				fib_delete(&s->fib, r->dst, r->prefixlen);
			list_del(&ifa->list);
			free(ifa);
			/* Another address of the prefix takes its route over. */
			fib_sync_connected(s);
			return 0;
		}
	}
	errno = EADDRNOTAVAIL;
	return -1;
}

int us_parse_prefix(const char *str, struct in_addr *addr, int *prefix_len)
{
	char buf[32];
	if (!str || !addr || !prefix_len || strlen(str) >= sizeof(buf)) {
		errno = EINVAL;
		return -1;
	}
	strcpy(buf, str);
	int plen = 32;
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = 0;
		char *end;
		long v = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || v < 0 || v > 32) {
			errno = EINVAL;
			return -1;
		}
		plen = (int)v;
	}
	if (inet_pton(AF_INET, buf, addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	*prefix_len = plen;
	return 0;
}
