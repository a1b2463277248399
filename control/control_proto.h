/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The operator socket's protocol, shared by portcullis-control (server) and
 * portcullisctl (client): one JSON object per line each way over a Unix
 * stream socket. A request is {"cmd": "policy.push" | "policy.show" |
 * "status" | "quarantine.add" | "quarantine.remove" | "quarantine.list" |
 * "flows", ...};
 * a response always has "ok" (true or false) and, when false, "error".
 */
#ifndef PC_CONTROL_PROTO_H
#define PC_CONTROL_PROTO_H

#include <stddef.h>

#include <jansson.h>

#define PC_CP_RUN_DIR "/run/portcullis"
#define PC_CP_LINE_MAX (64u << 10) /* bytes of one request line */
#define PC_CP_RESP_MAX (8u << 20)  /* bytes of one response line (a flows listing is the largest) */

/* Default socket path of an instance: PC_CP_RUN_DIR/<instance>.sock. */
int pc_cp_socket_path(const char *instance, char *buf, size_t len);

/* Send req over a new connection to path and read one response line.
 * Returns the parsed response (caller decrefs), or NULL with err filled and
 * errno set (EACCES: not allowed to use the socket). timeout_ms bounds the
 * whole exchange. Control path. */
json_t *pc_cp_request(const char *path, json_t *req, unsigned timeout_ms, char *err,
		      size_t err_len);

#endif
