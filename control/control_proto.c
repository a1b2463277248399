/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Client side of the operator socket (control_proto.h). Blocking I/O with a
 * receive timeout: the CLI does one exchange and exits.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control_proto.h"

int pc_cp_socket_path(const char *instance, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, PC_CP_RUN_DIR "/%s.sock", instance) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

json_t *pc_cp_request(const char *path, json_t *req, unsigned timeout_ms, char *err,
		      size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, err_len, "socket path %s is too long", path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, err_len, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			snprintf(err, err_len,
				 "permission denied on %s: the control socket is for root (or the "
				 "group given to portcullis-control --socket-group)", path);
		else if (e == ENOENT || e == ECONNREFUSED)
			snprintf(err, err_len, "cannot connect to %s: %s (is portcullis-control "
				 "running for this instance?)", path, strerror(e));
		else
			snprintf(err, err_len, "cannot connect to %s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return NULL;
	}
	char *text = json_dumps(req, JSON_COMPACT);
	if (text == NULL) {
		snprintf(err, err_len, "out of memory");
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	size_t n = strlen(text);
	text[n] = '\n'; /* replaces the NUL; written with its length */
	size_t off = 0;
	while (off < n + 1) {
		ssize_t w = send(fd, text + off, n + 1 - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			break; /* the daemon refused us: its reason is waiting to be read */
		if (w < 0) {
			snprintf(err, err_len, "sending to %s: %s", path, strerror(errno));
			free(text);
			close(fd);
			return NULL;
		}
		off += (size_t)w;
	}
	free(text);

	char *buf = malloc(PC_CP_RESP_MAX);
	size_t len = 0;
	int64_t deadline = now_ms() + timeout_ms;
	json_t *resp = NULL;
	while (buf != NULL) {
		char *nl = memchr(buf, '\n', len);
		if (nl != NULL) {
			json_error_t je;
			resp = json_loadb(buf, (size_t)(nl - buf), 0, &je);
			if (resp == NULL || !json_is_object(resp)) {
				snprintf(err, err_len, "bad response from %s: %s", path,
					 resp == NULL ? je.text : "not an object");
				json_decref(resp);
				resp = NULL;
				errno = EPROTO;
			}
			break;
		}
		int64_t left = deadline - now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (left <= 0 || len == PC_CP_RESP_MAX || poll(&pfd, 1, (int)left) <= 0) {
			snprintf(err, err_len, "no answer from %s within %u ms", path, timeout_ms);
			errno = ETIMEDOUT;
			break;
		}
		ssize_t r = recv(fd, buf + len, PC_CP_RESP_MAX - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, err_len, "%s closed the connection without an answer", path);
			errno = EPIPE;
			break;
		}
		len += (size_t)r;
	}
	if (buf == NULL)
		snprintf(err, err_len, "out of memory");
	free(buf);
	close(fd);
	return resp;
}
