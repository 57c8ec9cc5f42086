/*
 * TAP (Ethernet frames) and TUN (IP packets) through /dev/net/tun. The
 * kernel's side of the device is an ordinary Linux interface; ustack is
 * the wire behind it. A persistent device of that name is attached to, or
 * a new one created. We do not use the virtio-net header, so the offloads
 * a previous user may have left on are reset (TUNSETOFFLOAD 0): otherwise
 * Linux would hand us GSO frames and partial checksums.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../../core/stack.h"
#include "../../wire/eth.h"
#include "../netdev.h"

struct tuntap {
	int fd;
	struct skb *spare;   /* buffer kept across empty reads */
};

/* Room for one frame of the device's MTU (and a VLAN tag). */
static uint32_t rx_buf_size(const struct netdev *dev)
{
	unsigned mtu = dev->mtu > ETH_DATA_LEN ? dev->mtu : ETH_DATA_LEN;
	return mtu + dev->hard_header_len + 4 + 64;
}

static int tuntap_poll(struct netdev *dev, int budget)
{
	struct tuntap *t = netdev_priv(dev);
	struct us_stack *s = dev->stack;
	int n = 0;
	while (n < budget) {
		struct skb *skb = t->spare;
		uint32_t want = rx_buf_size(dev);
		if (skb && skb->end - skb->head < (long)want) {
			skb_free(skb);
			skb = NULL;
		}
		t->spare = NULL;
		if (!skb) {
			skb = skb_alloc(s->pool, want);
			if (!skb) {
				/* Out of buffers: leave the frames in the kernel. */
				dev->stats.rx_dropped++;
				break;
			}
			skb_reserve(skb, 64);
		}
		ssize_t r = read(t->fd, skb->data, skb_tailroom(skb));
		if (r <= 0) {
			t->spare = skb;
			if (r < 0 && errno != EAGAIN && errno != EINTR)
				dev->stats.rx_errors++;
			break;
		}
		skb_put(skb, (uint32_t)r);
		skb->dev = dev;
		netif_receive_skb(skb);
		n++;
	}
	return n;
}

static int tuntap_xmit(struct netdev *dev, struct skb *skb)
{
	struct tuntap *t = netdev_priv(dev);
	ssize_t r = write(t->fd, skb->data, skb->len);
	int err = r < 0 ? -errno : 0;
	skb_free(skb);
	/* EIO: the Linux side is down or being moved; count and carry on. */
	return err;
}

static int tuntap_get_fd(struct netdev *dev)
{
	return ((struct tuntap *)netdev_priv(dev))->fd;
}

static void tuntap_destroy(struct netdev *dev)
{
	struct tuntap *t = netdev_priv(dev);
	if (t->spare)
		skb_free(t->spare);
	if (t->fd >= 0)
		close(t->fd);
}

static const struct netdev_ops tuntap_ops = {
	.poll = tuntap_poll,
	.xmit = tuntap_xmit,
	.get_fd = tuntap_get_fd,
	.destroy = tuntap_destroy,
};

struct netdev *tuntap_create(struct us_stack *s, const char *name, bool tap)
{
	if (!name || !*name || strlen(name) >= IFNAMSIZ) {
		errno = EINVAL;
		return NULL;
	}
	if (netdev_get_by_name(s, name)) {
		errno = EEXIST;
		return NULL;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL; /* ENOENT: no tun module; EACCES/EPERM: not root */
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI);
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		errno = e;  /* EPERM: needs CAP_NET_ADMIN; EBUSY: attached elsewhere */
		return NULL;
	}
	/* A persistent device keeps the offloads its last user set. */
	if (ioctl(fd, TUNSETOFFLOAD, 0) < 0 && tap) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	struct netdev *dev = netdev_alloc(s, name, tap ? NETDEV_ETHER : NETDEV_RAWIP,
					  &tuntap_ops, sizeof(struct tuntap));
	if (!dev) {
		close(fd);
		return NULL;
	}
	struct tuntap *t = netdev_priv(dev);
	t->fd = fd;
	if (tap)
		eth_random_addr(s, dev->addr);
	int err = netdev_register(dev);
	if (err) {
		close(fd);
		free(dev);
		errno = -err;
		return NULL;
	}
	return dev;
}

int us_dev_tap(us_stack *s, const char *name)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	struct netdev *dev = tuntap_create(s, name, true);
	return dev ? dev->ifindex : -1;
}

int us_dev_tun(us_stack *s, const char *name)
{
	if (!s) {
		errno = EINVAL;
		return -1;
	}
	struct netdev *dev = tuntap_create(s, name, false);
	return dev ? dev->ifindex : -1;
}
