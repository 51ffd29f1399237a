/*
 * ctl_chan.c: URI parsing, connect, listen and accept for control channels
 * (see ctl_chan.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_chan.h"
#include "ctl_codec.h"

static int
parse_num(const char *s, long min, long max, long *out)
{
	char *end;

	if (*s == '\0')
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out < min || *out > max)
		return -1;
	return 0;
}

int
ctl_chan_parse(const char *uri, struct ctl_chan_uri *out)
{
	const char *arg, *colon;
	long v;

	memset(out, 0, sizeof(*out));
	out->rfd = out->wfd = -1;
	if (uri == NULL)
		return CTL_E_URI;
	if (strcmp(uri, "stdio") == 0) {
		out->kind = CTL_CHAN_STDIO;
		out->rfd = 0;
		out->wfd = 1;
		return CTL_OK;
	}
	if (strncmp(uri, "fd:", 3) == 0) {
		char tmp[32], *comma;

		if (strlen(uri + 3) >= sizeof(tmp))
			return CTL_E_URI;
		strcpy(tmp, uri + 3);
		if ((comma = strchr(tmp, ',')) != NULL)
			*comma++ = '\0';
		if (parse_num(tmp, 0, INT_MAX, &v) < 0)
			return CTL_E_URI;
		out->rfd = out->wfd = (int)v;
		if (comma != NULL) {
			if (parse_num(comma, 0, INT_MAX, &v) < 0)
				return CTL_E_URI;
			out->wfd = (int)v;
		}
		out->kind = CTL_CHAN_FD;
		return CTL_OK;
	}
	if (strncmp(uri, "unix:", 5) == 0 || strncmp(uri, "dev:", 4) == 0) {
		out->kind = uri[0] == 'u' ? CTL_CHAN_UNIX : CTL_CHAN_DEV;
		arg = strchr(uri, ':') + 1;
		if (*arg == '\0' || strlen(arg) >= sizeof(out->path))
			return CTL_E_URI;
		strcpy(out->path, arg);
		return CTL_OK;
	}
	if (strncmp(uri, "tcp:", 4) == 0) {
		size_t hlen;

		arg = uri + 4;
		if ((colon = strrchr(arg, ':')) == NULL)
			return CTL_E_URI;
		hlen = (size_t)(colon - arg);
		if (hlen >= sizeof(out->host) ||
		    strlen(colon + 1) >= sizeof(out->port))
			return CTL_E_URI;
		if (hlen >= 2 && arg[0] == '[' && arg[hlen - 1] == ']') {
			memcpy(out->host, arg + 1, hlen - 2);
			out->host[hlen - 2] = '\0';
		} else {
			memcpy(out->host, arg, hlen);
			out->host[hlen] = '\0';
		}
		strcpy(out->port, colon + 1);
		if (parse_num(out->port, 1, 65535, &v) < 0)
			return CTL_E_URI;
		out->kind = CTL_CHAN_TCP;
		return CTL_OK;
	}
	return CTL_E_URI;
}

int
ctl_chan_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

static int
unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

static int
tcp_socket(const struct ctl_chan_uri *u, int listening)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = listening ? AI_PASSIVE : 0;
	if (getaddrinfo(u->host[0] ? u->host : NULL, u->port, &hints,
	    &res) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (listening) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			    sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
			    listen(fd, 8) == 0)
				break;
		} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
			break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int
ctl_chan_connect(const char *uri, int *wfd_out)
{
	struct ctl_chan_uri u;
	struct sockaddr_un sun;
	int fd = -1;

	if (ctl_chan_parse(uri, &u) != CTL_OK)
		return CTL_E_URI;
	switch (u.kind) {
	case CTL_CHAN_UNIX:
		if (unix_addr(u.path, &sun) < 0)
			return CTL_E_URI;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return CTL_E_SYS;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return CTL_E_SYS;
		}
		break;
	case CTL_CHAN_TCP:
		if ((fd = tcp_socket(&u, 0)) < 0)
			return CTL_E_SYS;
		break;
	case CTL_CHAN_DEV:
		fd = open(u.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return CTL_E_SYS;
		break;
	case CTL_CHAN_FD:
	case CTL_CHAN_STDIO:
		if (ctl_chan_nonblock(u.rfd) < 0 ||
		    (u.wfd != u.rfd && ctl_chan_nonblock(u.wfd) < 0))
			return CTL_E_SYS;
		if (wfd_out != NULL)
			*wfd_out = u.wfd;
		return u.rfd;
	}
	if (ctl_chan_nonblock(fd) < 0) {
		close(fd);
		return CTL_E_SYS;
	}
	if (wfd_out != NULL)
		*wfd_out = fd;
	return fd;
}

int
ctl_chan_listen(const char *uri, unsigned mode)
{
	struct ctl_chan_uri u;
	struct sockaddr_un sun;
	struct stat st;
	mode_t mask;
	int fd, rc;

	if (ctl_chan_parse(uri, &u) != CTL_OK)
		return CTL_E_URI;
	if (u.kind == CTL_CHAN_TCP) {
		if ((fd = tcp_socket(&u, 1)) < 0)
			return CTL_E_SYS;
	} else if (u.kind == CTL_CHAN_UNIX) {
		if (unix_addr(u.path, &sun) < 0)
			return CTL_E_URI;
		/* Replace a stale socket, never another kind of file. */
		if (lstat(u.path, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				errno = EEXIST;
				return CTL_E_SYS;
			}
			unlink(u.path);
		}
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			return CTL_E_SYS;
		/*
		 * bind() creates the file with 0777 less the umask: with the
		 * umask the complement of mode it is born with mode, never
		 * wider, not even until the chmod(). The daemons that listen
		 * are single-threaded; the caller's umask is put back.
		 */
		mask = umask(~(mode_t)mode & 0777);
		rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
		umask(mask);
		if (rc < 0 || chmod(u.path, mode) < 0 || listen(fd, 16) < 0) {
			int e = errno;

			close(fd);
			errno = e;
			return CTL_E_SYS;
		}
	} else
		return CTL_E_URI;
	if (ctl_chan_nonblock(fd) < 0) {
		close(fd);
		return CTL_E_SYS;
	}
	return fd;
}

int
ctl_chan_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	return fd < 0 ? CTL_E_SYS : fd;
}
