/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullisctl's policy test and policy diff (ctl_policy_test.c), and the
 * two helpers of portcullisctl.c they share with explain.
 */
#ifndef PC_CTL_POLICY_TEST_H
#define PC_CTL_POLICY_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/decide.h"
#include "http/http_parse.h"
#include "policy/policy.h"
#include "util/addr.h"

struct pc_ctl_cmd;

/* Parses "IP", "IP:PORT", "[IPv6]:PORT", "IPv6" into addr and, when the text
 * has one, port (then *has_port is true). Returns 0 or -EINVAL. */
int pc_ctl_parse_endpoint(const char *text, struct pc_addr *addr, uint16_t *port, bool *has_port);

/* Decides one raw HTTP request buf[0..n) exactly as explain does: a head
 * that does not parse is a malformed-request verdict, else pc_decide() with
 * req->http set to http and the body that follows the head in buf (by its
 * Content-Length, or de-chunked; at most the policy's body window, copied
 * into body_buf, which holds PC_POLICY_MAX_BODY_WINDOW bytes) as a whole
 * body, or a truncated one past the window. No body is a whole body of
 * length 0. Returns true when the engine decided (its last path, token and
 * model or tool can be asked of s while body_buf is kept), false for a
 * malformed head. */
bool pc_ctl_decide_http(const struct pc_policy *p, struct pc_engine_scratch *s,
			struct pc_request *req, const char *buf, size_t n, struct pc_http_req *http,
			uint8_t *body_buf, struct pc_verdict *v);

/* "reset", "403", "429", or NULL for PC_DENY_RESPONSE_UNSET. */
const char *pc_ctl_deny_response_name(enum pc_deny_response r);

/* Command handlers: exit code 0 all passed / equal, 1 failed / different
 * or an error, 2 a wrong command line. Main thread. */
int pc_ctl_policy_test(const struct pc_ctl_cmd *cmd, int argc, char **argv);
int pc_ctl_policy_diff(const struct pc_ctl_cmd *cmd, int argc, char **argv);

#endif
