/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullis-control: the control-plane daemon of one instance.
 *
 *   portcullis-control --policy FILE [--instance NAME] [--socket PATH]
 *       [--socket-group GROUP] [--foreground] [--slot-size BYTES]
 *       [--ack-timeout MS] [--metrics ADDR:PORT [--dpdk-prefix PREFIX]]
 *
 * It loads and compiles the policy (Hyperscan databases are compiled here),
 * writes the image into the control segment's idle slot, publishes it and
 * waits (bounded) for the dataplane's acknowledgement. It pushes again on
 * SIGHUP and when the policy file changes (inotify on the file's directory,
 * so an editor's write-and-rename is seen too); a file that does not load
 * leaves the running policy in place and the error is logged. Operators talk
 * to it over a Unix socket (control_proto.h), 0600 or 0660 with
 * --socket-group, whose peers are checked with SO_PEERCRED.
 *
 * One daemon per instance: an flock on <socket dir>/<instance>.lock, held for
 * the process's life. A restarted daemon attaches to the segment it finds
 * and continues its generations, so the dataplane sees no change; if the
 * segment's current image is the one the file compiles to, nothing is
 * pushed at all.
 *
 * Everything runs on one thread around poll(): signals set flags, and a push
 * blocks the loop until acknowledged (at most --ack-timeout).
 *
 * Exit status: 0 on SIGINT/SIGTERM, 1 on a runtime failure at startup
 * (policy, lock, segment, socket), 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "control_metrics.h"
#include "control_proto.h"
#include "control_push.h"
#include "control_quarantine.h"
#include "policy/policy.h"
#include "shm/shm.h"
#include "util/crc32c.h"

#define PROG "portcullis-control"
#define PC_CP_MAX_CLIENTS 32
#define PC_CP_RELOAD_DELAY_NS 200000000ull /* let an editor finish writing */
#define PC_CP_ERR 1024
#define PC_CP_FLOWS_TIMEOUT_MS 3000 /* the dataplane answers within a few housekeepings */
#define PC_CP_SEND_TIMEOUT_MS 2000  /* a large answer (flows) may take a few writes */

struct pc_cp_client {
	int fd;
	size_t len;
	char *buf; /* PC_CP_LINE_MAX */
};

struct pc_cp {
	const char *instance;
	char socket_path[108];      /* sun_path's size */
	char lock_path[192];
	char policy_path[PATH_MAX]; /* the file pushed last, absolute */
	bool has_group;
	gid_t group;
	uint64_t slot_size;
	uint64_t ack_timeout_ms;
	struct pc_shm_map map;
	int lock_fd, listen_fd, inotify_fd, watch_wd;
	uint64_t started_rt_ns;
	uint64_t reload_due_ns;     /* CLOCK_MONOTONIC; 0: none */
	uint32_t pushed_generation; /* last generation this file became */
	uint32_t pushed_rules;
	uint64_t pushed_rt_ns;
	struct pc_cp_client clients[PC_CP_MAX_CLIENTS];
	struct pc_cp_metrics *metrics; /* --metrics; NULL when off */
};

static volatile sig_atomic_t pc_quit, pc_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		pc_hup = 1;
	else
		pc_quit = 1;
}

void pc_cp_log(const char *fmt, ...)
{
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s " PROG ": ", when);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
}

static _Noreturn void usage_error(const char *fmt, const char *what)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\n(try '" PROG " --help')\n");
	exit(2);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " --policy FILE [options]\n"
		"  --policy FILE          JSON policy to compile and push (required)\n"
		"  --instance NAME        dataplane instance (its --control NAME; default "
		PC_SHM_DEFAULT_INSTANCE ")\n"
		"  --socket PATH          operator socket (default " PC_CP_RUN_DIR "/NAME.sock);\n"
		"                         the lock file NAME.lock goes beside it\n"
		"  --socket-group GROUP   make the socket 0660 and let GROUP use it\n"
		"  --foreground           do not detach\n"
		"  --slot-size BYTES      image slot size when the segment is created (default %u)\n"
		"  --ack-timeout MS       how long a push waits for the dataplane (default %u)\n"
		"  --metrics ADDR:PORT    serve Prometheus metrics at http://ADDR:PORT/metrics\n"
		"                         (default off; e.g. 127.0.0.1:9464)\n"
		"  --dpdk-prefix PREFIX   the dataplane's EAL --file-prefix, whose telemetry\n"
		"                         socket the metrics read (default "
		PC_CP_DEFAULT_DPDK_PREFIX ")\n",
		PC_SHM_DEFAULT_SLOT_MAX, PC_CP_DEFAULT_ACK_TIMEOUT_MS);
}

static uint64_t parse_u64(const char *opt, const char *text, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
		fprintf(stderr, PROG ": option '%s': '%s' is not a number from %llu to %llu\n", opt,
			text, (unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return v;
}

/* ---- policy ---- */

/* Load and compile path into a malloc'ed image, checked by building it the
 * way the dataplane will. Returns 0 or -errno with err filled. */
static int compile_file(const char *path, void **image, size_t *len, uint32_t *rules, char *err,
			size_t err_len)
{
	struct pc_policy_src *src = pc_policy_load_file(path, err, err_len);
	if (src == NULL)
		return errno > 0 ? -errno : -EINVAL;
	int rc = pc_policy_compile(src, image, len, err, err_len);
	pc_policy_src_free(src);
	if (rc < 0)
		return rc;
	struct pc_policy *p = pc_policy_from_image(*image, *len, err, err_len);
	if (p == NULL) {
		free(*image);
		*image = NULL;
		return -EINVAL;
	}
	*rules = pc_policy_rule_count(p);
	pc_policy_free(p);
	return 0;
}

static void set_policy_path(struct pc_cp *cp, const char *path)
{
	if (path != cp->policy_path)
		snprintf(cp->policy_path, sizeof(cp->policy_path), "%s", path);
}

static void watch_dir(struct pc_cp *cp)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", cp->policy_path);
	if (cp->watch_wd >= 0)
		inotify_rm_watch(cp->inotify_fd, cp->watch_wd);
	cp->watch_wd = inotify_add_watch(cp->inotify_fd, dirname(dir),
					 IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE);
	if (cp->watch_wd < 0)
		pc_cp_log("cannot watch %s for changes: %s (SIGHUP still reloads)", dir,
			  strerror(errno));
}

/* Push path; fill resp (when not NULL) with the outcome. Returns 0 when the
 * dataplane applied it (or none is attached to say), -errno otherwise. A
 * failure at any step leaves the running policy as it was. */
static int push(struct pc_cp *cp, const char *path, const char *why, json_t *resp,
		bool skip_same)
{
	char err[PC_CP_ERR];
	void *image = NULL;
	size_t len = 0;
	uint32_t rules = 0;
	int rc = compile_file(path, &image, &len, &rules, err, sizeof(err));
	if (rc < 0) {
		pc_cp_log("policy %s (%s) not pushed, the running policy stays: %s", path, why, err);
		if (resp != NULL)
			json_object_set_new(resp, "error", json_string(err));
		return rc;
	}
	struct pc_shm_ctl *c = cp->map.ctl;
	uint64_t word = __atomic_load_n(&c->publish, __ATOMIC_ACQUIRE);
	if (skip_same && word != 0) {
		const struct pc_shm_slot *s = &c->slot[PC_SHM_PUBLISH_SLOT(word) & 1];
		if (s->len == len && s->crc32 == pc_crc32c(image, len) &&
		    memcmp(pc_shm_slot_data(&cp->map, PC_SHM_PUBLISH_SLOT(word) & 1), image,
			   len) == 0) {
			free(image);
			set_policy_path(cp, path);
			cp->pushed_generation = PC_SHM_PUBLISH_GEN(word);
			cp->pushed_rules = rules;
			cp->pushed_rt_ns = c->ack.applied_ns;
			pc_cp_log("policy %s (%s) is already generation %" PRIu32 ": nothing pushed",
				  path, why, cp->pushed_generation);
			return 0;
		}
	}
	uint32_t gen;
	rc = pc_cp_publish(&cp->map, image, len, &gen, cp->ack_timeout_ms, err, sizeof(err));
	free(image);
	if (rc < 0) {
		pc_cp_log("policy %s (%s) not pushed: %s", path, why, err);
		if (resp != NULL)
			json_object_set_new(resp, "error", json_string(err));
		return rc;
	}
	bool attached = pc_cp_dp_attached(c);
	struct pc_cp_ack ack;
	rc = attached ? pc_cp_wait_ack(&cp->map, gen, cp->ack_timeout_ms, &ack) : -ENOTCONN;
	if (resp != NULL) {
		json_object_set_new(resp, "generation", json_integer(gen));
		json_object_set_new(resp, "rules", json_integer(rules));
		json_object_set_new(resp, "file", json_string(path));
		json_object_set_new(resp, "image_bytes", json_integer((json_int_t)len));
	}
	if (rc == -ENOTCONN) {
		pc_cp_log("policy %s (%s) published as generation %" PRIu32 " (%" PRIu32
			  " rules); no dataplane attached: it applies it when it attaches",
			  path, why, gen, rules);
		if (resp != NULL)
			json_object_set_new(resp, "acknowledged", json_false());
		set_policy_path(cp, path);
		cp->pushed_generation = gen;
		cp->pushed_rules = rules;
		cp->pushed_rt_ns = 0;
		return 0;
	}
	if (rc < 0) {
		snprintf(err, sizeof(err),
			 "generation %" PRIu32 " published but not acknowledged within %" PRIu64
			 " ms", gen, cp->ack_timeout_ms);
		pc_cp_log("policy %s (%s): %s", path, why, err);
		if (resp != NULL)
			json_object_set_new(resp, "error", json_string(err));
		return -ETIMEDOUT;
	}
	if (resp != NULL) {
		json_object_set_new(resp, "acknowledged", json_true());
		json_object_set_new(resp, "apply_us", json_integer((json_int_t)(ack.apply_ns / 1000)));
		json_object_set_new(resp, "apply_ns", json_integer((json_int_t)ack.apply_ns));
	}
	if (ack.result != 0) {
		pc_cp_log("policy %s (%s) generation %" PRIu32
			  " refused by the dataplane, it keeps generation %" PRIu32 ": %s",
			  path, why, gen, ack.applied_generation, ack.error);
		if (resp != NULL)
			json_object_set_new(resp, "error", json_string(ack.error));
		return ack.result;
	}
	set_policy_path(cp, path);
	cp->pushed_generation = gen;
	cp->pushed_rules = rules;
	cp->pushed_rt_ns = ack.quiescent_ns;
	pc_cp_log("policy %s (%s) applied as generation %" PRIu32 " (%" PRIu32
		  " rules, %zu-byte image) in %" PRIu64 " us", path, why, gen, rules, len,
		  ack.apply_ns / 1000);
	return 0;
}

/* ---- operator socket ---- */

static void iso_time(uint64_t rt_ns, char *buf, size_t len)
{
	time_t t = (time_t)(rt_ns / 1000000000u);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *cmd_policy_push(struct pc_cp *cp, json_t *req)
{
	json_t *resp = json_object();
	const char *file = json_string_value(json_object_get(req, "file"));
	if (file == NULL || file[0] != '/') {
		json_object_set_new(resp, "error", json_string("policy.push needs an absolute \"file\""));
		return resp;
	}
	int rc = push(cp, file, "pushed by an operator", resp, false);
	json_object_set_new(resp, "ok", json_boolean(rc == 0));
	if (rc == 0)
		watch_dir(cp);
	return resp;
}

static json_t *cmd_policy_show(struct pc_cp *cp, json_t *req)
{
	(void)req;
	const struct pc_shm_ack *a = &cp->map.ctl->ack;
	char when[32] = "";
	uint64_t applied = a->applied_ns;
	if (applied != 0)
		iso_time(applied, when, sizeof(when));
	return json_pack("{s:b, s:i, s:i, s:s, s:i, s:s, s:i, s:b}", "ok", 1, "generation",
			 (json_int_t)a->applied_generation, "rules", (json_int_t)a->applied_rules,
			 "file", cp->policy_path, "pushed_generation",
			 (json_int_t)cp->pushed_generation, "applied", when,
			 "published_generation",
			 (json_int_t)PC_SHM_PUBLISH_GEN(__atomic_load_n(&cp->map.ctl->publish,
									  __ATOMIC_ACQUIRE)),
			 "dataplane_attached", pc_cp_dp_attached(cp->map.ctl));
}

static json_t *cmd_status(struct pc_cp *cp, json_t *req)
{
	(void)req;
	const struct pc_shm_ack *a = &cp->map.ctl->ack;
	uint64_t now_rt = pc_shm_now_ns(CLOCK_REALTIME);
	bool attached = pc_cp_dp_attached(cp->map.ctl);
	json_t *dp = json_pack("{s:b}", "attached", attached);
	if (attached) {
		json_object_set_new(dp, "pid", json_integer(a->pid));
		json_object_set_new(dp, "workers", json_integer(a->workers));
		json_object_set_new(dp, "generation", json_integer(a->applied_generation));
		json_object_set_new(dp, "rules", json_integer(a->applied_rules));
		json_object_set_new(dp, "uptime_s",
				    json_integer((json_int_t)((now_rt - a->started_ns) / 1000000000u)));
		json_object_set_new(dp, "quarantine_seq", json_integer(a->quar_seq_applied));
		json_object_set_new(dp, "quarantine_entries", json_integer(a->quar_entries));
	}
	uint32_t acked = __atomic_load_n(&a->acked_generation, __ATOMIC_ACQUIRE);
	json_t *last = json_pack("{s:i, s:i, s:s, s:i}", "generation", (json_int_t)acked,
				 "result", (json_int_t)a->result, "error", a->error, "apply_us",
				 (json_int_t)(a->apply_ns / 1000));
	return json_pack("{s:b, s:s, s:o, s:o, s:{s:i, s:i, s:i, s:s}}", "ok", 1, "instance",
			 cp->instance, "dataplane", dp, "last_ack", last, "control", "pid",
			 (json_int_t)getpid(), "uptime_s",
			 (json_int_t)((now_rt - cp->started_rt_ns) / 1000000000u), "slot_bytes",
			 (json_int_t)cp->map.ctl->slot_max, "policy", cp->policy_path);
}

static const char *flow_state_name(uint8_t st)
{
	static const char *const n[] = { "free", "inspect", "forward", "denied" };
	return st < 4 ? n[st] : "?";
}

static const char *flow_l7_name(uint8_t l7)
{
	static const char *const n[] = { "head", "body", "sniff", "tls_hello", "tls_pass" };
	return l7 < 5 ? n[l7] : "?";
}

static json_t *flow_json(const struct pc_shm_flow *r)
{
	char cli[INET6_ADDRSTRLEN], srv[INET6_ADDRSTRLEN], fp[2 * PC_SHM_FP_LEN + 1];
	int af = r->family == 4 ? AF_INET : AF_INET6;
	if (inet_ntop(af, r->client_addr, cli, sizeof(cli)) == NULL)
		strcpy(cli, "?");
	if (inet_ntop(af, r->server_addr, srv, sizeof(srv)) == NULL)
		strcpy(srv, "?");
	for (unsigned i = 0; i < PC_SHM_FP_LEN; i++)
		snprintf(fp + 2 * i, 3, "%02x", r->fp[i]);
	/* The names come from the dataplane's memory: cut at their last byte
	 * whatever it wrote. */
	char ident[sizeof(r->identity_name)], rule[sizeof(r->rule_id)];
	memcpy(ident, r->identity_name, sizeof(ident));
	ident[sizeof(ident) - 1] = '\0';
	memcpy(rule, r->rule_id, sizeof(rule));
	rule[sizeof(rule) - 1] = '\0';
	json_t *o = json_object();
	json_object_set_new(o, "proto", r->proto == 6 ? json_string("tcp") : r->proto == 17 ? json_string("udp") : json_integer(r->proto));
	json_object_set_new(o, "client", json_string(cli));
	json_object_set_new(o, "client_port", json_integer(r->client_port));
	json_object_set_new(o, "server", json_string(srv));
	json_object_set_new(o, "server_port", json_integer(r->server_port));
	json_object_set_new(o, "vlan", json_integer(r->vlan));
	json_object_set_new(o, "state", json_string(flow_state_name(r->state)));
	json_object_set_new(o, "l7", r->state == 1 ? json_string(flow_l7_name(r->l7)) : json_null());
	json_object_set_new(o, "action", json_string(r->action == 1 ? "allow" : "deny"));
	json_object_set_new(o, "identity", ident[0] ? json_string(ident) : json_null());
	json_object_set_new(o, "identity_index", json_integer(r->identity));
	json_object_set_new(o, "credential", r->cred_kind != 0 ? json_string(fp) : json_null());
	json_object_set_new(o, "rule", rule[0] ? json_string(rule) : json_null());
	json_object_set_new(o, "rule_index", json_integer(r->rule));
	json_object_set_new(o, "requests", json_integer(r->requests));
	json_object_set_new(o, "packets", json_integer((json_int_t)r->pkts));
	json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
	json_object_set_new(o, "age_ms", json_integer((json_int_t)r->age_ms));
	json_object_set_new(o, "idle_ms", json_integer((json_int_t)r->idle_ms));
	json_object_set_new(o, "generation", json_integer(r->generation));
	json_object_set_new(o, "worker", json_integer(r->worker));
	return o;
}

/* The live flows, through the segment's flows request (shm_abi.h). Blocks
 * the loop until the dataplane answers, at most PC_CP_FLOWS_TIMEOUT_MS. */
static json_t *cmd_flows(struct pc_cp *cp, json_t *req)
{
	struct pc_shm_flows *f = &cp->map.ctl->flows;
	json_t *jl = json_object_get(req, "limit");
	json_t *ji = json_object_get(req, "identity");
	json_int_t limit = jl == NULL ? PC_SHM_FLOWS_DEFAULT : json_integer_value(jl);
	const char *ident = ji == NULL ? "" : json_string_value(ji);
	char msg[256];
	if ((jl != NULL && !json_is_integer(jl)) || limit < 1 || limit > PC_SHM_FLOWS_MAX) {
		snprintf(msg, sizeof(msg), "flows: \"limit\" must be a number from 1 to %u",
			 PC_SHM_FLOWS_MAX);
		return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	}
	if (ident == NULL || strlen(ident) >= sizeof(f->identity))
		return json_pack("{s:b, s:s}", "ok", 0, "error",
				 "flows: \"identity\" must be an identity name");
	if (!pc_cp_dp_attached(cp->map.ctl)) {
		snprintf(msg, sizeof(msg), "no dataplane is attached to instance '%s': no flows to "
			 "list", cp->instance);
		return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	}
	f->limit = (uint32_t)limit;
	memset(f->identity, 0, sizeof(f->identity));
	memcpy(f->identity, ident, strlen(ident));
	/* Control is the only writer of req_seq. Release: the dataplane,
	 * loading it with acquire, sees limit and identity. */
	uint32_t seq = f->req_seq + 1;
	__atomic_store_n(&f->req_seq, seq, __ATOMIC_RELEASE);
	pc_shm_ring(cp->map.ctl);
	uint64_t deadline = pc_shm_now_ns(CLOCK_MONOTONIC) + PC_CP_FLOWS_TIMEOUT_MS * 1000000ull;
	while (__atomic_load_n(&f->done_seq, __ATOMIC_ACQUIRE) != seq) {
		if (pc_shm_now_ns(CLOCK_MONOTONIC) > deadline) {
			snprintf(msg, sizeof(msg),
				 "the dataplane (pid %u) did not answer the flows request within %u "
				 "ms", (unsigned)cp->map.ctl->ack.pid, PC_CP_FLOWS_TIMEOUT_MS);
			return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	if (f->result != 0) {
		snprintf(msg, sizeof(msg), "the dataplane could not list its flows: %s",
			 strerror(-f->result));
		return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
	}
	uint32_t n = (f->count < (uint32_t)limit ? f->count : (uint32_t)limit);
	json_t *arr = json_array();
	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(arr, flow_json(&f->rec[i]));
	return json_pack("{s:b, s:i, s:i, s:i, s:o}", "ok", 1, "count", (json_int_t)n, "matched",
			 (json_int_t)f->matched, "elapsed_us", (json_int_t)(f->elapsed_ns / 1000),
			 "flows", arr);
}

static json_t *dispatch(struct pc_cp *cp, const char *line, size_t len)
{
	json_error_t je;
	json_t *req = json_loadb(line, len, 0, &je);
	json_t *resp;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	if (req == NULL || cmd == NULL) {
		resp = json_pack("{s:b, s:s}", "ok", 0, "error",
				 "a request is one JSON object with a \"cmd\" per line");
	} else if (strcmp(cmd, "policy.push") == 0) {
		resp = cmd_policy_push(cp, req);
	} else if (strcmp(cmd, "policy.show") == 0) {
		resp = cmd_policy_show(cp, req);
	} else if (strcmp(cmd, "status") == 0) {
		resp = cmd_status(cp, req);
	} else if (strcmp(cmd, "flows") == 0) {
		resp = cmd_flows(cp, req);
	} else if (strncmp(cmd, "quarantine.", 11) == 0) {
		resp = pc_cp_quarantine_cmd(&cp->map, cmd + 11, req);
	} else {
		resp = json_pack("{s:b, s:s}", "ok", 0, "error", "unknown command");
	}
	json_decref(req);
	return resp;
}

static void client_close(struct pc_cp_client *cl)
{
	close(cl->fd);
	free(cl->buf);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

static void client_send(struct pc_cp_client *cl, json_t *resp)
{
	char *text = json_dumps(resp, JSON_COMPACT);
	if (text != NULL) {
		size_t n = strlen(text);
		text[n] = '\n';
		/* Most responses fit the socket buffer at once; a large one
		 * (flows) is waited for, boundedly: a client that does not
		 * read is dropped. */
		size_t off = 0;
		uint64_t deadline = pc_shm_now_ns(CLOCK_MONOTONIC) +
				    PC_CP_SEND_TIMEOUT_MS * 1000000ull;
		while (off < n + 1) {
			ssize_t w = send(cl->fd, text + off, n + 1 - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0) {
				off += (size_t)w;
				continue;
			}
			uint64_t now = pc_shm_now_ns(CLOCK_MONOTONIC);
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || now >= deadline)
				break;
			struct pollfd p = { .fd = cl->fd, .events = POLLOUT };
			poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
		}
		if (off < n + 1)
			pc_cp_log("a client did not take its response: dropped");
		free(text);
	}
}

/* Who may talk to us: root, our own user, or a member of --socket-group. */
static bool peer_allowed(const struct pc_cp *cp, const struct ucred *uc)
{
	if (uc->uid == 0 || uc->uid == geteuid())
		return true;
	if (!cp->has_group)
		return false;
	if (uc->gid == cp->group)
		return true;
	struct passwd *pw = getpwuid(uc->uid);
	if (pw == NULL)
		return false;
	gid_t groups[256];
	int n = 256;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (groups[i] == cp->group)
			return true;
	return false;
}

static void accept_client(struct pc_cp *cp)
{
	int fd = accept4(cp->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	struct ucred uc;
	socklen_t ul = sizeof(uc);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) < 0 || !peer_allowed(cp, &uc)) {
		char msg[256];
		snprintf(msg, sizeof(msg),
			 "{\"ok\":false,\"error\":\"permission denied: uid %u is not root%s\"}\n",
			 (unsigned)uc.uid, cp->has_group ? " nor in the socket's group" : "");
		if (send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* nothing more to tell it */
		}
		pc_cp_log("refused a client: uid %u pid %d", (unsigned)uc.uid, (int)uc.pid);
		close(fd);
		return;
	}
	for (unsigned i = 0; i < PC_CP_MAX_CLIENTS; i++) {
		struct pc_cp_client *cl = &cp->clients[i];
		if (cl->fd >= 0)
			continue;
		cl->buf = malloc(PC_CP_LINE_MAX);
		if (cl->buf == NULL)
			break;
		cl->fd = fd;
		cl->len = 0;
		return;
	}
	pc_cp_log("too many clients (%u): one refused", PC_CP_MAX_CLIENTS);
	close(fd);
}

static void client_read(struct pc_cp *cp, struct pc_cp_client *cl)
{
	ssize_t r = recv(cl->fd, cl->buf + cl->len, PC_CP_LINE_MAX - cl->len, 0);
	if (r <= 0) {
		if (r == 0 || (errno != EAGAIN && errno != EINTR))
			client_close(cl);
		return;
	}
	cl->len += (size_t)r;
	char *nl;
	while (cl->fd >= 0 && (nl = memchr(cl->buf, '\n', cl->len)) != NULL) {
		size_t n = (size_t)(nl - cl->buf);
		json_t *resp = dispatch(cp, cl->buf, n);
		client_send(cl, resp);
		json_decref(resp);
		memmove(cl->buf, nl + 1, cl->len - n - 1);
		cl->len -= n + 1;
	}
	if (cl->fd >= 0 && cl->len == PC_CP_LINE_MAX) {
		json_t *resp = json_pack("{s:b, s:s}", "ok", 0, "error", "request line too long");
		client_send(cl, resp);
		json_decref(resp);
		client_close(cl);
	}
}

static int open_socket(struct pc_cp *cp, char *err, size_t err_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(cp->socket_path) >= sizeof(sa.sun_path)) {
		snprintf(err, err_len, "socket path %s is too long", cp->socket_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, cp->socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, err_len, "socket: %s", strerror(errno));
		return -errno;
	}
	/* We hold the instance lock: a socket file there is a dead
	 * daemon's. The umask makes it 0600 from birth, so there is no window
	 * in which others could connect. */
	unlink(cp->socket_path);
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		snprintf(err, err_len, "socket %s: %s", cp->socket_path, strerror(errno));
		close(fd);
		return rc;
	}
	if (cp->has_group && (chown(cp->socket_path, (uid_t)-1, cp->group) < 0 ||
			      chmod(cp->socket_path, 0660) < 0)) {
		rc = -errno;
		snprintf(err, err_len, "socket %s: group access: %s", cp->socket_path,
			 strerror(errno));
		close(fd);
		return rc;
	}
	cp->listen_fd = fd;
	return 0;
}

static int take_lock(struct pc_cp *cp, char *err, size_t err_len)
{
	int fd = open(cp->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, err_len, "lock file %s: %s", cp->lock_path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (e == EWOULDBLOCK)
			snprintf(err, err_len,
				 "instance '%s' is already served by another " PROG
				 " (pid %s holds %s)", cp->instance, pid[0] ? pid : "?", cp->lock_path);
		else
			snprintf(err, err_len, "lock file %s: %s", cp->lock_path, strerror(e));
		close(fd);
		return -e;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		/* the pid is only informational */
	}
	cp->lock_fd = fd;
	return 0;
}

/* ---- main loop ---- */

static void inotify_read(struct pc_cp *cp)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char base[PATH_MAX];
	snprintf(base, sizeof(base), "%s", cp->policy_path);
	const char *name = basename(base);
	ssize_t n;
	while ((n = read(cp->inotify_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->len > 0 && strcmp(ev->name, name) == 0)
				cp->reload_due_ns = pc_shm_now_ns(CLOCK_MONOTONIC) +
						    PC_CP_RELOAD_DELAY_NS;
			p += sizeof(*ev) + ev->len;
		}
	}
}

static void run(struct pc_cp *cp)
{
	struct pollfd pfd[2 + PC_CP_MAX_CLIENTS + PC_CP_METRICS_MAX_FDS];
	while (!pc_quit) {
		if (pc_hup) {
			pc_hup = 0;
			push(cp, cp->policy_path, "SIGHUP", NULL, false);
		}
		if (cp->reload_due_ns != 0 && pc_shm_now_ns(CLOCK_MONOTONIC) >= cp->reload_due_ns) {
			cp->reload_due_ns = 0;
			push(cp, cp->policy_path, "file changed", NULL, true);
		}
		unsigned n = 0;
		pfd[n++] = (struct pollfd){ .fd = cp->listen_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = cp->inotify_fd, .events = POLLIN };
		for (unsigned i = 0; i < PC_CP_MAX_CLIENTS; i++)
			pfd[n++] = (struct pollfd){ .fd = cp->clients[i].fd, .events = POLLIN };
		unsigned mfirst = n;
		n += pc_cp_metrics_pollfds(cp->metrics, pfd + n);
		int rc = poll(pfd, n, 100);
		pc_cp_metrics_serve(cp->metrics, pfd + mfirst, n - mfirst);
		pc_cp_quarantine_expire(&cp->map, (int64_t)time(NULL));
		if (rc <= 0)
			continue;
		if (pfd[0].revents & POLLIN)
			accept_client(cp);
		if (pfd[1].revents & POLLIN)
			inotify_read(cp);
		for (unsigned i = 0; i < PC_CP_MAX_CLIENTS; i++) {
			if (cp->clients[i].fd < 0 || pfd[2 + i].fd != cp->clients[i].fd)
				continue;
			if (pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(cp, &cp->clients[i]);
		}
	}
}

int main(int argc, char **argv)
{
	enum { O_POLICY = 256, O_INSTANCE, O_SOCKET, O_GROUP, O_FOREGROUND, O_SLOT, O_ACK, O_HELP,
	       O_METRICS, O_DPDK_PREFIX };
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, O_POLICY },
		{ "instance", required_argument, NULL, O_INSTANCE },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "socket-group", required_argument, NULL, O_GROUP },
		{ "foreground", no_argument, NULL, O_FOREGROUND },
		{ "slot-size", required_argument, NULL, O_SLOT },
		{ "ack-timeout", required_argument, NULL, O_ACK },
		{ "help", no_argument, NULL, O_HELP },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "dpdk-prefix", required_argument, NULL, O_DPDK_PREFIX },
		{ NULL, 0, NULL, 0 },
	};
	static struct pc_cp cp_store;
	struct pc_cp *cp = &cp_store;
	const char *policy = NULL, *socket_path = NULL;
	const char *metrics = NULL, *dpdk_prefix = PC_CP_DEFAULT_DPDK_PREFIX;
	bool foreground = false;
	char err[PC_CP_ERR], shm_name[PC_SHM_NAME_MAX] = "";

	cp->instance = PC_SHM_DEFAULT_INSTANCE;
	cp->slot_size = PC_SHM_DEFAULT_SLOT_MAX;
	cp->ack_timeout_ms = PC_CP_DEFAULT_ACK_TIMEOUT_MS;
	cp->lock_fd = cp->listen_fd = cp->inotify_fd = cp->watch_wd = -1;
	cp->map.fd = -1;
	for (unsigned i = 0; i < PC_CP_MAX_CLIENTS; i++)
		cp->clients[i].fd = -1;

	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case O_POLICY:
			policy = optarg;
			break;
		case O_INSTANCE:
			if (pc_shm_name(optarg, shm_name, sizeof(shm_name)) < 0)
				usage_error("--instance '%s': use letters, digits, '-', '_', '.'",
					    optarg);
			cp->instance = optarg;
			break;
		case O_SOCKET:
			socket_path = optarg;
			break;
		case O_GROUP: {
			struct group *g = getgrnam(optarg);
			if (g == NULL)
				usage_error("--socket-group: no group '%s'", optarg);
			cp->group = g->gr_gid;
			cp->has_group = true;
			break;
		}
		case O_FOREGROUND:
			foreground = true;
			break;
		case O_SLOT:
			cp->slot_size = parse_u64("--slot-size", optarg, PC_SHM_MIN_SLOT_MAX,
						  PC_SHM_MAX_SLOT_MAX);
			break;
		case O_METRICS:
			metrics = optarg;
			break;
		case O_DPDK_PREFIX:
			dpdk_prefix = optarg;
			break;
		case O_ACK:
			cp->ack_timeout_ms = parse_u64("--ack-timeout", optarg, 1, 600000);
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			return 0;
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (policy == NULL)
		usage_error("%s", "--policy FILE is required");
	if (realpath(policy, cp->policy_path) == NULL) {
		fprintf(stderr, PROG ": --policy %s: %s\n", policy, strerror(errno));
		return 1;
	}
	if (socket_path == NULL) {
		mkdir(PC_CP_RUN_DIR, 0755);
		pc_cp_socket_path(cp->instance, cp->socket_path, sizeof(cp->socket_path));
	} else {
		if (strlen(socket_path) >= sizeof(cp->socket_path))
			usage_error("--socket '%s': longer than a Unix socket path may be",
				    socket_path);
		snprintf(cp->socket_path, sizeof(cp->socket_path), "%s", socket_path);
	}
	char dir[sizeof(cp->socket_path)];
	memcpy(dir, cp->socket_path, sizeof(dir));
	snprintf(cp->lock_path, sizeof(cp->lock_path), "%s/%s.lock", dirname(dir), cp->instance);

	int status = 1;
	pc_shm_name(cp->instance, shm_name, sizeof(shm_name));
	if (take_lock(cp, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	bool created;
	if (pc_shm_create(cp->instance, cp->slot_size, &cp->map, &created, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	cp->map.ctl->cp_pid = (uint32_t)getpid();
	cp->started_rt_ns = pc_shm_now_ns(CLOCK_REALTIME);
	pc_cp_log("instance '%s': %s control segment %s (slots of %llu bytes, published "
		  "generation %u)", cp->instance, created ? "created" : "attached to the existing",
		  shm_name, (unsigned long long)cp->map.ctl->slot_max,
		  PC_SHM_PUBLISH_GEN(cp->map.ctl->publish));
	if (open_socket(cp, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out;
	}
	if (metrics != NULL) {
		cp->metrics = pc_cp_metrics_open(metrics, dpdk_prefix, err, sizeof(err));
		if (cp->metrics == NULL) {
			fprintf(stderr, PROG ": %s\n", err);
			goto out;
		}
		pc_cp_log("metrics: http://%s/metrics (dataplane telemetry %s)", metrics,
			  pc_cp_metrics_socket(cp->metrics));
	}
	cp->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	/* The startup file must be good: failing here tells whoever started
	 * us at once, and a running dataplane keeps what it has. */
	{
		void *img;
		size_t l;
		uint32_t rules;
		if (compile_file(cp->policy_path, &img, &l, &rules, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			goto out;
		}
		free(img);
	}
	push(cp, cp->policy_path, "startup", NULL, true);
	watch_dir(cp);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!foreground && daemon(0, 1) < 0) {
		fprintf(stderr, PROG ": cannot detach: %s\n", strerror(errno));
		goto out;
	}
	if (!foreground) {
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (ftruncate(cp->lock_fd, 0) < 0 || pwrite(cp->lock_fd, pid, (size_t)n, 0) != n) {
			/* informational */
		}
		cp->map.ctl->cp_pid = (uint32_t)getpid();
	}
	pc_cp_log("ready: socket %s", cp->socket_path);
	run(cp);
	pc_cp_log("stopping");
	status = 0;
out:
	for (unsigned i = 0; i < PC_CP_MAX_CLIENTS; i++)
		if (cp->clients[i].fd >= 0)
			client_close(&cp->clients[i]);
	if (cp->listen_fd >= 0) {
		close(cp->listen_fd);
		unlink(cp->socket_path);
	}
	if (cp->inotify_fd >= 0)
		close(cp->inotify_fd);
	/* The segment stays: the dataplane keeps running on it, and the next
	 * daemon attaches to it. */
	pc_cp_metrics_close(cp->metrics);
	pc_shm_close(&cp->map);
	close(cp->lock_fd);
	return status;
}
