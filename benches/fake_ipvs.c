/* LD_PRELOAD shim for benches: answers keepalived's IPVS sockopts (IP_VS_SO_*) with success so
 * its checker process runs on a kernel without IPVS. Nothing is programmed anywhere. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define IP_VS_BASE_CTL (64 + 1024 + 64)
#define IP_VS_SO_GET_VERSION IP_VS_BASE_CTL
#define IP_VS_SO_GET_INFO (IP_VS_BASE_CTL + 1)

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	static int (*real)(int, int, int, const void *, socklen_t);
	if (level == IPPROTO_IP && name >= IP_VS_BASE_CTL && name <= IP_VS_BASE_CTL + 15)
		return 0;
	if (!real)
		real = dlsym(RTLD_NEXT, "setsockopt");
	return real(fd, level, name, val, len);
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	static int (*real)(int, int, int, void *, socklen_t *);
	if (level == IPPROTO_IP && name >= IP_VS_BASE_CTL && name <= IP_VS_BASE_CTL + 7) {
		if (val && len) {
			if (name == IP_VS_SO_GET_VERSION) {
				strncpy(val, "IP Virtual Server version 1.2.1 (size=4096)", *len);
			} else {
				memset(val, 0, *len);
				if (name == IP_VS_SO_GET_INFO && *len >= 8) {
					unsigned int *u = val;
					u[0] = 0x010201; /* 1.2.1 */
					u[1] = 4096;
				}
			}
		}
		return 0;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "getsockopt");
	return real(fd, level, name, val, len);
}
