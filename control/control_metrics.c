/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The Prometheus endpoint of portcullis-control (control_metrics.h).
 *
 * Where the figures come from: the dataplane's DPDK telemetry socket, read
 * as a client at each scrape (SOCK_SEQPACKET, one JSON answer per command).
 * Not a counters area in the control segment, because
 *   - the telemetry commands exist anyway (operators query them with
 *     dpdk-telemetry.py), so the metrics and what an operator sees by hand
 *     are the same figures, computed in one place;
 *   - a counters area would be new ABI in shm_abi.h (a version bump both
 *     processes must agree on) and a new writer on the main lcore, for data
 *     that is only read every few seconds;
 *   - the socket also tells whether the dataplane answers at all
 *     (portcullis_dataplane_up).
 * The cost is a connection and a handful of small exchanges per scrape,
 * each bounded by PC_CP_METRICS_TEL_MS, on the daemon's thread: a scrape
 * takes about a millisecond, and a dataplane that does not answer stalls the
 * loop for at most that bound per exchange, not indefinitely.
 *
 * The HTTP side is deliberately small: it reads one request head (bounded),
 * answers it from a buffer written without blocking, and closes. Clients
 * that stall are closed after PC_CP_METRICS_CONN_MS; past
 * PC_CP_METRICS_MAX_CONNS connections a new one is closed at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "control_metrics.h"

#define PC_CP_TEL_BUF (64u << 10)  /* one telemetry answer (the library sends <= 16 KiB) */
#define PC_CP_TEL_MAX_WORKERS 64   /* == PC_DP_MAX_WORKERS */
#define PC_CP_METRICS_CT "text/plain; version=0.0.4; charset=utf-8"

struct pc_cp_mconn {
	int fd;
	bool writing;
	size_t req_len;
	char req[PC_CP_METRICS_REQ_MAX];
	char *out;
	size_t out_len, out_off;
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
};

struct pc_cp_metrics {
	int listen_fd;
	char tel_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct pc_cp_mconn conns[PC_CP_METRICS_MAX_CONNS];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- telemetry client ---- */

struct pc_cp_tel {
	int fd;
	char *buf; /* PC_CP_TEL_BUF */
};

static void tel_close(struct pc_cp_tel *t)
{
	if (t->fd >= 0)
		close(t->fd);
	free(t->buf);
	t->fd = -1;
	t->buf = NULL;
}

/* Connect and read the greeting the library sends first. 0 or -errno. */
static int tel_open(const char *path, struct pc_cp_tel *t)
{
	t->buf = malloc(PC_CP_TEL_BUF);
	t->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (t->buf == NULL || t->fd < 0) {
		int rc = t->buf == NULL ? -ENOMEM : -errno;
		tel_close(t);
		return rc;
	}
	struct timeval tv = { .tv_sec = 0, .tv_usec = PC_CP_METRICS_TEL_MS * 1000 };
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    recv(t->fd, t->buf, PC_CP_TEL_BUF, 0) <= 0) {
		int rc = -errno;
		tel_close(t);
		return rc;
	}
	return 0;
}

/* Send "cmd[,param]" and return the object the answer holds under cmd (a
 * new reference), or NULL when the command failed or did not answer. */
static json_t *tel_cmd(struct pc_cp_tel *t, const char *cmd, const char *param)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s%s%s", cmd, param != NULL ? "," : "",
			 param != NULL ? param : "");
	if (n < 0 || (size_t)n >= sizeof(line) || send(t->fd, line, (size_t)n, MSG_NOSIGNAL) != n)
		return NULL;
	ssize_t r = recv(t->fd, t->buf, PC_CP_TEL_BUF, 0);
	if (r <= 0)
		return NULL;
	json_t *root = json_loadb(t->buf, (size_t)r, 0, NULL);
	json_t *v = json_object_get(root, cmd);
	if (!json_is_object(v))
		v = NULL;
	json_incref(v);
	json_decref(root);
	return v;
}

/* ---- exposition ---- */

/* Counter names come from the other process: only [a-z0-9_] go into a
 * metric name (the format allows more, but these are all ours ever are). */
static bool name_ok(const char *s)
{
	if (*s == '\0' || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static uint64_t u64_of(const json_t *v)
{
	json_int_t i = json_integer_value(v);
	return i > 0 ? (uint64_t)i : 0;
}

/* The figures of one scrape; NULL members are missing. */
struct pc_cp_scrape {
	unsigned n_workers;
	json_t *workers, *policy, *quarantine, *reasons;
	json_t *stats[PC_CP_TEL_MAX_WORKERS];
};

static bool scrape(const char *path, struct pc_cp_scrape *s)
{
	struct pc_cp_tel t;
	memset(s, 0, sizeof(*s));
	if (tel_open(path, &t) < 0)
		return false;
	bool ok = false;
	s->workers = tel_cmd(&t, "/portcullis/workers", NULL);
	json_int_t n = json_integer_value(json_object_get(s->workers, "workers"));
	if (n < 1 || n > PC_CP_TEL_MAX_WORKERS)
		goto out;
	s->n_workers = (unsigned)n;
	for (unsigned i = 0; i < s->n_workers; i++) {
		char w[16];
		snprintf(w, sizeof(w), "%u", i);
		s->stats[i] = tel_cmd(&t, "/portcullis/stats", w);
		if (s->stats[i] == NULL)
			goto out;
	}
	s->policy = tel_cmd(&t, "/portcullis/policy", NULL);
	s->quarantine = tel_cmd(&t, "/portcullis/quarantine", NULL);
	s->reasons = tel_cmd(&t, "/portcullis/reasons", NULL);
	ok = s->policy != NULL && s->quarantine != NULL && s->reasons != NULL;
out:
	tel_close(&t);
	return ok;
}

static void scrape_free(struct pc_cp_scrape *s)
{
	json_decref(s->workers);
	json_decref(s->policy);
	json_decref(s->quarantine);
	json_decref(s->reasons);
	for (unsigned i = 0; i < PC_CP_TEL_MAX_WORKERS; i++)
		json_decref(s->stats[i]);
}

static void render_counters(FILE *f, const struct pc_cp_scrape *s)
{
	const char *key;
	json_t *v;
	/* Families in the order the dataplane lists its counters; every
	 * worker's sample under its family, as the format requires. */
	json_object_foreach(s->stats[0], key, v) {
		if (!name_ok(key))
			continue;
		char name[96], help[160];
		snprintf(name, sizeof(name), "portcullis_%s_total", key);
		snprintf(help, sizeof(help), "Dataplane counter '%s' of each worker.", key);
		family(f, name, "counter", help);
		for (unsigned i = 0; i < s->n_workers; i++)
			fprintf(f, "%s{worker=\"%u\"} %" PRIu64 "\n", name, i,
				u64_of(json_object_get(s->stats[i], key)));
	}
	family(f, "portcullis_decisions_total", "counter",
	       "Decisions by action (allow, deny) and reason, all workers.");
	json_object_foreach(s->reasons, key, v) {
		const char *slash = strchr(key, '/');
		if (slash == NULL || !name_ok(slash + 1))
			continue;
		size_t alen = (size_t)(slash - key);
		if (!((alen == 5 && strncmp(key, "allow", 5) == 0) ||
		      (alen == 4 && strncmp(key, "deny", 4) == 0)))
			continue;
		fprintf(f, "portcullis_decisions_total{action=\"%.*s\",reason=\"%s\"} %" PRIu64 "\n",
			(int)alen, key, slash + 1, u64_of(v));
	}
}

static void render_gauges(FILE *f, const struct pc_cp_scrape *s)
{
	family(f, "portcullis_policy_generation", "gauge",
	       "Policy generation the workers run (1: the startup policy).");
	fprintf(f, "portcullis_policy_generation %" PRIu64 "\n",
		u64_of(json_object_get(s->policy, "generation")));
	family(f, "portcullis_policy_rules", "gauge", "Rules of the running policy.");
	fprintf(f, "portcullis_policy_rules %" PRIu64 "\n",
		u64_of(json_object_get(s->policy, "rules")));
	family(f, "portcullis_policy_apply_seconds", "gauge",
	       "Seconds the last policy swap took, publish seen to acknowledged.");
	fprintf(f, "portcullis_policy_apply_seconds %.9f\n",
		(double)u64_of(json_object_get(s->policy, "apply_ns")) / 1e9);
	family(f, "portcullis_flows", "gauge", "Flows in each worker's table.");
	json_t *flows = json_object_get(s->workers, "flows");
	for (unsigned i = 0; i < s->n_workers; i++)
		fprintf(f, "portcullis_flows{worker=\"%u\"} %" PRIu64 "\n", i,
			u64_of(json_array_get(flows, i)));
	family(f, "portcullis_quarantine_entries", "gauge",
	       "Revoked callers in the control plane's table, expired ones excluded.");
	fprintf(f, "portcullis_quarantine_entries %" PRIu64 "\n",
		u64_of(json_object_get(s->quarantine, "entries")));
}

char *pc_cp_metrics_render(const char *path, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (f == NULL)
		return NULL;
	struct pc_cp_scrape s;
	bool up = scrape(path, &s);
	family(f, "portcullis_dataplane_up", "gauge",
	       "1 when the dataplane answered its telemetry socket at this scrape.");
	fprintf(f, "portcullis_dataplane_up %d\n", up ? 1 : 0);
	if (up) {
		render_counters(f, &s);
		render_gauges(f, &s);
	}
	scrape_free(&s);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	fclose(f);
	return buf;
}

/* ---- HTTP ---- */

static void conn_close(struct pc_cp_mconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->writing = false;
	c->req_len = c->out_len = c->out_off = 0;
}

static void conn_respond(struct pc_cp_mconn *c, int status, const char *reason,
			 const char *ctype, const char *extra, const char *body, size_t body_len,
			 bool head_only)
{
	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	if (f == NULL) {
		conn_close(c);
		return;
	}
	fprintf(f,
		"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		"Connection: close\r\n\r\n",
		status, reason, ctype, body_len, extra);
	if (!head_only)
		fwrite(body, 1, body_len, f);
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(out);
		conn_close(c);
		return;
	}
	c->out = out;
	c->out_len = out_len;
	c->out_off = 0;
	c->writing = true;
}

static void conn_error(struct pc_cp_mconn *c, int status, const char *reason, const char *extra)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);
	conn_respond(c, status, reason, "text/plain; charset=utf-8", extra, body, (size_t)n,
		     false);
}

/* The request head is whole (req[0..head_len) ends in an empty line):
 * answer it. Only the request line matters (RFC 9112 section 3); headers
 * are ignored, and so is any body. */
static void conn_request(struct pc_cp_metrics *m, struct pc_cp_mconn *c, size_t head_len)
{
	char *line = c->req;
	char *eol = memchr(line, '\n', head_len);
	size_t len = (size_t)(eol - line);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	char *sp1 = strchr(line, ' ');
	char *sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
	if (sp1 == NULL || sp2 == NULL || strchr(sp2 + 1, ' ') != NULL ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		conn_error(c, 400, "Bad Request", "");
		return;
	}
	*sp1 = *sp2 = '\0';
	const char *method = line, *target = sp1 + 1;
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		conn_error(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
		return;
	}
	size_t tl = strcspn(target, "?");
	if (tl != strlen("/metrics") || strncmp(target, "/metrics", tl) != 0) {
		conn_error(c, 404, "Not Found", "");
		return;
	}
	size_t body_len;
	char *body = pc_cp_metrics_render(m->tel_path, &body_len);
	if (body == NULL) {
		conn_error(c, 500, "Internal Server Error", "");
		return;
	}
	conn_respond(c, 200, "OK", PC_CP_METRICS_CT, "", body, body_len, head);
	free(body);
}

static void conn_read(struct pc_cp_metrics *m, struct pc_cp_mconn *c)
{
	ssize_t r = recv(c->fd, c->req + c->req_len, sizeof(c->req) - c->req_len, MSG_DONTWAIT);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c);
		return;
	}
	if (r < 0)
		return;
	size_t old = c->req_len;
	c->req_len += (size_t)r;
	/* Look for the empty line from a little before the new bytes, in
	 * case the terminator straddles two reads. Bare LF lines are taken
	 * too (RFC 9112 section 2.2 lets a recipient accept them). */
	size_t from = old > 3 ? old - 3 : 0;
	for (size_t i = from; i < c->req_len; i++) {
		if (c->req[i] != '\n')
			continue;
		bool end = (i >= 1 && c->req[i - 1] == '\n') ||
			   (i >= 2 && c->req[i - 1] == '\r' && c->req[i - 2] == '\n');
		if (end) {
			conn_request(m, c, i + 1);
			return;
		}
	}
	if (c->req_len == sizeof(c->req))
		conn_error(c, 431, "Request Header Fields Too Large", "");
}

static void conn_write(struct pc_cp_mconn *c)
{
	ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(c);
		return;
	}
	c->out_off += (size_t)w;
	if (c->out_off == c->out_len) {
		/* All sent: half-close so the client sees the end, and take
		 * what it sent past the head (e.g. an oversized one): closing
		 * with unread bytes would reset the connection, and the
		 * client could lose the answer. */
		shutdown(c->fd, SHUT_WR);
		char sink[4096];
		for (int i = 0; i < 16 && recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
			;
		conn_close(c);
	}
}

static void accept_all(struct pc_cp_metrics *m)
{
	for (;;) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct pc_cp_mconn *c = NULL;
		for (unsigned i = 0; i < PC_CP_METRICS_MAX_CONNS && c == NULL; i++)
			if (m->conns[i].fd < 0)
				c = &m->conns[i];
		if (c == NULL) {
			close(fd); /* a scraper retries; this keeps us bounded */
			continue;
		}
		c->fd = fd;
		c->req_len = 0;
		c->writing = false;
		c->deadline_ns = now_ns() + (uint64_t)PC_CP_METRICS_CONN_MS * 1000000u;
	}
}

unsigned pc_cp_metrics_pollfds(const struct pc_cp_metrics *m, struct pollfd *pfd)
{
	if (m == NULL)
		return 0;
	unsigned n = 0;
	pfd[n++] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
	for (unsigned i = 0; i < PC_CP_METRICS_MAX_CONNS; i++) {
		const struct pc_cp_mconn *c = &m->conns[i];
		if (c->fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = c->fd,
						    .events = c->writing ? POLLOUT : POLLIN };
	}
	return n;
}

void pc_cp_metrics_serve(struct pc_cp_metrics *m, const struct pollfd *pfd, unsigned n)
{
	if (m == NULL)
		return;
	for (unsigned k = 1; k < n; k++) {
		if (pfd[k].revents == 0)
			continue;
		for (unsigned i = 0; i < PC_CP_METRICS_MAX_CONNS; i++) {
			struct pc_cp_mconn *c = &m->conns[i];
			if (c->fd != pfd[k].fd)
				continue;
			if (c->writing)
				conn_write(c);
			else
				conn_read(m, c);
			/* A response ready at once usually fits the socket
			 * buffer: send it now, not a poll round later. */
			if (c->fd >= 0 && c->writing)
				conn_write(c);
			break;
		}
	}
	if (n > 0 && (pfd[0].revents & POLLIN))
		accept_all(m);
	uint64_t now = now_ns();
	for (unsigned i = 0; i < PC_CP_METRICS_MAX_CONNS; i++)
		if (m->conns[i].fd >= 0 && now >= m->conns[i].deadline_ns)
			conn_close(&m->conns[i]);
}

/* Split "host:port" / "[v6]:port" into its parts. 0 or -EINVAL. */
static int split_addr(const char *addr_port, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon = strrchr(addr_port, ':');
	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= plen)
		return -EINVAL;
	const char *h = addr_port;
	size_t n = (size_t)(colon - addr_port);
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n == 0 || n >= hlen)
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

struct pc_cp_metrics *pc_cp_metrics_open(const char *addr_port, const char *dpdk_prefix,
					 char *err, size_t err_len)
{
	char host[64], port[16];
	if (split_addr(addr_port, host, sizeof(host), port, sizeof(port)) < 0) {
		snprintf(err, err_len, "--metrics '%s': expected ADDR:PORT (e.g. 127.0.0.1:9464)",
			 addr_port);
		errno = EINVAL;
		return NULL;
	}
	if (dpdk_prefix[0] == '\0' || strchr(dpdk_prefix, '/') != NULL) {
		snprintf(err, err_len, "--dpdk-prefix '%s': not a file prefix", dpdk_prefix);
		errno = EINVAL;
		return NULL;
	}
	struct pc_cp_metrics *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	m->listen_fd = -1;
	for (unsigned i = 0; i < PC_CP_METRICS_MAX_CONNS; i++)
		m->conns[i].fd = -1;
	/* Where the EAL puts its runtime directory (eal_get_runtime_dir()):
	 * /var/run for root, else $XDG_RUNTIME_DIR or /tmp. */
	const char *base = "/var/run";
	if (getuid() != 0) {
		base = getenv("XDG_RUNTIME_DIR");
		if (base == NULL)
			base = "/tmp";
	}
	int pn = snprintf(m->tel_path, sizeof(m->tel_path), "%s/dpdk/%s/dpdk_telemetry.v2", base,
			  dpdk_prefix);
	if (pn < 0 || (size_t)pn >= sizeof(m->tel_path)) {
		snprintf(err, err_len, "--dpdk-prefix '%s': telemetry socket path too long",
			 dpdk_prefix);
		free(m);
		errno = ENAMETOOLONG;
		return NULL;
	}

	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai = NULL;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(err, err_len, "--metrics '%s': %s (give a numeric address and port)",
			 addr_port, gai_strerror(gai));
		free(m);
		errno = EINVAL;
		return NULL;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		int e = errno;
		snprintf(err, err_len, "--metrics %s: %s", addr_port, strerror(e));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		free(m);
		errno = e;
		return NULL;
	}
	freeaddrinfo(ai);
	m->listen_fd = fd;
	return m;
}

const char *pc_cp_metrics_socket(const struct pc_cp_metrics *m)
{
	return m->tel_path;
}

void pc_cp_metrics_close(struct pc_cp_metrics *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < PC_CP_METRICS_MAX_CONNS; i++)
		conn_close(&m->conns[i]);
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	free(m);
}
