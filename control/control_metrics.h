/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullis-control's Prometheus endpoint (--metrics ADDR:PORT): a minimal
 * HTTP/1.1 server run from the daemon's poll loop. GET /metrics answers the
 * text exposition format 0.0.4; any other path is 404, any other method
 * 405, a request head over PC_CP_METRICS_REQ_MAX bytes 431. One response per
 * connection, then Connection: close.
 *
 * The figures come from the dataplane's DPDK telemetry socket
 * (dataplane/telemetry.h), which the daemon reads as a client at each
 * scrape. See control_metrics.c for why that and not a counters area in the
 * control segment.
 */
#ifndef PC_CONTROL_METRICS_H
#define PC_CONTROL_METRICS_H

#include <poll.h>
#include <stddef.h>

#define PC_CP_METRICS_MAX_CONNS 16
#define PC_CP_METRICS_MAX_FDS (1 + PC_CP_METRICS_MAX_CONNS) /* listener + connections */
#define PC_CP_METRICS_REQ_MAX 4096  /* bytes of one request head */
#define PC_CP_METRICS_CONN_MS 5000  /* a connection's whole life */
#define PC_CP_METRICS_TEL_MS 250    /* one exchange with the telemetry socket */
/* The --file-prefix of the deployed dataplane (config/dataplane.physical.conf),
 * as PC_SHM_DEFAULT_INSTANCE is its --control: a daemon started with no
 * options reads the dataplane that systemd runs. */
#define PC_CP_DEFAULT_DPDK_PREFIX "portcullis"

struct pc_cp_metrics;

/* Listen on addr_port ("127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464"),
 * non-blocking, and read the dataplane started with --file-prefix
 * dpdk_prefix. Returns the endpoint, or NULL with err filled and errno set.
 * Control path. */
struct pc_cp_metrics *pc_cp_metrics_open(const char *addr_port, const char *dpdk_prefix,
					 char *err, size_t err_len);

/* Fill pfd (room for PC_CP_METRICS_MAX_FDS) with what the endpoint waits
 * for. Returns how many entries it used; 0 for m NULL. Daemon thread. */
unsigned pc_cp_metrics_pollfds(const struct pc_cp_metrics *m, struct pollfd *pfd);

/* Serve what poll() reported on the n entries pc_cp_metrics_pollfds() filled
 * (revents zero is fine: it also closes connections past their time).
 * Never blocks on a client; a scrape waits on the telemetry socket at most
 * PC_CP_METRICS_TEL_MS per exchange. Daemon thread; m may be NULL. */
void pc_cp_metrics_serve(struct pc_cp_metrics *m, const struct pollfd *pfd, unsigned n);

/* The telemetry socket path read at scrapes. Any thread. */
const char *pc_cp_metrics_socket(const struct pc_cp_metrics *m);

/* Close every connection and the listener, and free m (NULL is fine). */
void pc_cp_metrics_close(struct pc_cp_metrics *m);

/* The exposition text for the telemetry socket at path, into a malloc'd
 * string (*len bytes), or NULL with errno set (ENOMEM only: a dataplane
 * that does not answer is portcullis_dataplane_up 0). Control path;
 * exposed for tests. */
char *pc_cp_metrics_render(const char *path, size_t *len);

#endif
