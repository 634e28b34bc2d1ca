/* Fuzzes the network option parsers (netns/config.c): -p and --expose specs,
 * --network slirp options, --add-host, --dns*, addresses, and the /etc/hosts
 * and /etc/resolv.conf generators fed with a hostile host file.  The first
 * byte chooses the parser; every accepted value is checked for sanity. */
#include "config.h"

#include "lib/error.h"
#include "lib/xalloc.h"
#include "netns/netns.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct hutch_error *err = NULL;
        struct netns_publish p;
        struct netns_slirp_options o;
        enum netns_mode mode;
        char buf[96];

        if (size < 1)
                return 0;
        uint8_t which = data[0];
        char *s = xstrndup((const char *) data + 1, size - 1);

        switch (which % 7) {
        case 0:
                if (netns_publish_parse(s, &p, &err) == 0) {
                        if (p.count < 1 || p.container_port < 1 || (unsigned) p.container_port + p.count - 1 > 65535)
                                abort();
                        if (p.host_port && (unsigned) p.host_port + p.count - 1 > 65535)
                                abort();
                        if (p.protocols == 0 || (p.protocols & ~(unsigned) (NETNS_PROTO_TCP | NETNS_PROTO_UDP)))
                                abort();
                        (void) netns_publish_host_str(&p, p.host_port, buf, sizeof(buf));
                }
                break;
        case 1:
                if (netns_expose_parse(s, &p, &err) == 0 && (p.count < 1 || p.container_port < 1))
                        abort();
                break;
        case 2:
                if (netns_mode_parse(s, &mode, &o, &err) == 0 && mode == NETNS_MODE_SLIRP) {
                        if (o.mtu < NETNS_MTU_MIN || o.mtu > NETNS_MTU_MAX || o.prefix_len < 8 || o.prefix_len > 25)
                                abort();
                }
                break;
        case 3: {
                char *name = NULL, *ip = NULL;
                if (netns_add_host_parse(s, &name, &ip, &err) == 0) {
                        if (!netns_hostname_valid(name) || strpbrk(ip, " \t\n"))
                                abort();
                        free(name);
                        free(ip);
                }
                break;
        }
        case 4: {
                struct sockaddr_storage ss;
                socklen_t len;
                (void) netns_sockaddr_parse(s, 53, &ss, &len);
                (void) netns_dns_server_check(s, &err);
                hutch_error_clear(&err);
                (void) netns_dns_search_check(s, &err);
                hutch_error_clear(&err);
                (void) netns_dns_option_check(s, &err);
                break;
        }
        case 5: {
                char *t = netns_resolv_conf_format(s, NULL, NULL, NULL, "10.0.2.3");
                /* Only our own nameserver line, whatever the host file says. */
                int servers = 0;
                for (char *line = t; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                        if (strncmp(line, "nameserver ", 11) == 0) {
                                if (strncmp(line, "nameserver 10.0.2.3\n", 20) != 0)
                                        abort();
                                servers++;
                        } else if (strncmp(line, "search ", 7) != 0 && strncmp(line, "options ", 8) != 0) {
                                abort(); /* nothing else, and no line break smuggled in a word */
                        }
                }
                if (servers != 1)
                        abort();
                free(t);
                t = netns_resolv_conf_format(s, NULL, NULL, NULL, NULL);
                free(t);
                break;
        }
        case 6: {
                char *add[] = { s, NULL };
                struct netns_hosts_params hp = {
                        .base = s, .container_ip = "10.0.2.100", .hostname = "h", .host_ip = "10.0.2.2", .add_host = add
                };
                free(netns_hosts_format(&hp, &err));
                break;
        }
        }
        hutch_error_clear(&err);
        free(s);
        return 0;
}
