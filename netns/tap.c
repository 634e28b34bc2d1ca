/* The tap device, made in the container's child (inside its new user and
 * network namespaces, before pivot_root, so the host's /dev/net/tun is still
 * reachable).  The fd goes back to the monitor, which feeds it to libslirp.
 * Leaf code between clone and exec: ioctls only, -errno, no allocation. */
#include "config.h"

#include "netns/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void ifr_init(struct ifreq *ifr)
{
        memset(ifr, 0, sizeof(*ifr));
        memcpy(ifr->ifr_name, NETNS_TAP_NAME, sizeof(NETNS_TAP_NAME));
}

static void set_sin(struct sockaddr *sa, struct in_addr a)
{
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };
        memcpy(sa, &sin, sizeof(sin));
}

static int write_sysctl(const char *path, const char *value)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, value, strlen(value));
        int r = n < 0 ? -errno : 0;
        (void) close(fd);
        return r;
}

static int configure(int sk, const struct netns_tap_config *c, const char **ret_step)
{
        struct ifreq ifr;
        struct rtentry rt;
        uint32_t mask = c->prefix_len == 0 ? 0 : htonl(0xffffffffu << (32 - c->prefix_len));

        *ret_step = "set the MTU of " NETNS_TAP_NAME;
        ifr_init(&ifr);
        ifr.ifr_mtu = (int) c->mtu;
        if (ioctl(sk, SIOCSIFMTU, &ifr) < 0)
                return -errno;

        *ret_step = "set the address of " NETNS_TAP_NAME;
        ifr_init(&ifr);
        set_sin(&ifr.ifr_addr, c->address);
        if (ioctl(sk, SIOCSIFADDR, &ifr) < 0)
                return -errno;
        ifr_init(&ifr);
        set_sin(&ifr.ifr_netmask, (struct in_addr){ .s_addr = mask });
        if (ioctl(sk, SIOCSIFNETMASK, &ifr) < 0)
                return -errno;

        /* IPv6 comes from slirp's router advertisements (SLAAC on fd00::/64);
         * turn it off on the link when not wanted.  Best effort: /proc/sys/net
         * shows the namespace of whoever opens it, which is us. */
        if (!c->enable_ipv6)
                (void) write_sysctl("/proc/sys/net/ipv6/conf/" NETNS_TAP_NAME "/disable_ipv6", "1");

        /* The container's TCP only ever talks to libslirp over the tap, or to
         * itself over lo: links with no queue and no loss, where congestion
         * control has nothing to do (slirp's own sockets carry the traffic on
         * the real network with the host's choice).  The default inherited
         * from the host may be BBR, which paces every segment with a timer;
         * with the tap driven by the monitor that timer work lands on the
         * monitor, and was most of its CPU time per byte sent by the
         * container.  Reno is always allowed in a network namespace of an
         * unprivileged user.  Best effort, as above. */
        (void) write_sysctl("/proc/sys/net/ipv4/tcp_congestion_control", "reno");

        *ret_step = "bring up " NETNS_TAP_NAME;
        ifr_init(&ifr);
        if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        if (ioctl(sk, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;

        *ret_step = "add the default route";
        memset(&rt, 0, sizeof(rt));
        set_sin(&rt.rt_dst, (struct in_addr){ .s_addr = 0 });
        set_sin(&rt.rt_genmask, (struct in_addr){ .s_addr = 0 });
        set_sin(&rt.rt_gateway, c->gateway);
        rt.rt_flags = RTF_UP | RTF_GATEWAY;
        rt.rt_dev = (char *) NETNS_TAP_NAME;
        if (ioctl(sk, SIOCADDRT, &rt) < 0)
                return -errno;
        return 0;
}

int netns_tap_setup(const struct netns_tap_config *c, const char **ret_step)
{
        struct ifreq ifr;
        int fd, sk, r;

        *ret_step = "open /dev/net/tun";
        fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;

        *ret_step = "create the tap device " NETNS_TAP_NAME;
        ifr_init(&ifr);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                r = -errno;
                (void) close(fd);
                return r;
        }

        /* Persistent: closing our fd when the container is gone must not
         * unregister the device synchronously (an RCU grace period, tens of
         * milliseconds on the monitor's way out); the kernel deletes it with
         * the network namespace, in the background. */
        *ret_step = "make " NETNS_TAP_NAME " persistent";
        if (ioctl(fd, TUNSETPERSIST, 1) < 0) {
                r = -errno;
                (void) close(fd);
                return r;
        }

        *ret_step = "open a configuration socket";
        sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sk < 0) {
                r = -errno;
                (void) close(fd);
                return r;
        }
        r = configure(sk, c, ret_step);
        (void) close(sk);
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        return fd;
}
