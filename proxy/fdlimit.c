// SPDX-License-Identifier: GPL-2.0-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "proxy/fdlimit.h"

size_t fdlimit_reserve(size_t limit)
{
	size_t r = limit / 4;

	if (r > 64)
		r = 64;
	return r < 8 ? 8 : r;
}

int fdlimit_allows(size_t limit, size_t in_use, size_t n)
{
	size_t reserve = fdlimit_reserve(limit);

	return in_use < limit && n <= limit - in_use && limit - in_use - n >= reserve;
}

int fdlimit_raise(size_t *limit, struct errbuf *err)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		errbuf_set(err, "cannot read RLIMIT_NOFILE: %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_cur != rl.rlim_max) {
		rlim_t was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			errbuf_set(err, "cannot raise RLIMIT_NOFILE from %llu to %llu: %s",
				   (unsigned long long)was, (unsigned long long)rl.rlim_max,
				   strerror(errno));
			*limit = (size_t)was;
			return -1;
		}
	}
	*limit = rl.rlim_cur == RLIM_INFINITY ? (size_t)-1 : (size_t)rl.rlim_cur;
	return 0;
}

size_t fdlimit_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return (size_t)-1;
	return (size_t)rl.rlim_cur;
}

size_t fdlimit_in_use(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	/* Unknown (most likely no descriptor left to read it with): as if all were used. */
	if (!d)
		return SIZE_MAX;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	/* Less the one opendir() itself holds. */
	return n ? n - 1 : 0;
}

size_t fdlimit_lowest_free(int any_fd)
{
	int fd = fcntl(any_fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return errno == EMFILE ? fdlimit_limit() : 0;
	close(fd);
	return (size_t)fd;
}
