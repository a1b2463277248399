/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullisctl's online commands (ctl_control.h). Each builds one request,
 * sends it, and prints the answer for a person: the exit code is 0 when the
 * daemon said ok, 1 when it said why not (or could not be reached), 2 for a
 * wrong command line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "control_proto.h"
#include "ctl_control.h"
#include "shm/shm.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define PC_CTL_TIMEOUT_MS 120000 /* a push compiles, then waits for the dataplane */

struct ctl_opts {
	char socket[108];
	const char *reason;
	long long ttl_s;
	int nargs;
	char **args;
};

static int bad(const char *usage, const char *msg, const char *what)
{
	fprintf(stderr, "portcullisctl: ");
	fprintf(stderr, msg, what);
	fprintf(stderr, "\nusage: portcullisctl %s\n", usage);
	return EXIT_USAGE;
}

/* "90", "90s", "15m", "2h", "7d" in seconds; -1 when not a duration. */
static long long parse_duration(const char *t)
{
	char *end;
	errno = 0;
	long long v = strtoll(t, &end, 10);
	if (t[0] < '0' || t[0] > '9' || errno != 0 || v <= 0)
		return -1;
	long long mul = 1;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mul = 60, end++;
	else if (*end == 'h')
		mul = 3600, end++;
	else if (*end == 'd')
		mul = 86400, end++;
	if (*end != '\0' || v > LLONG_MAX / mul)
		return -1;
	return v * mul;
}

/* Common options; fills o->args with what is left. Returns 0 or an exit
 * code. */
static int parse(int argc, char **argv, const char *usage, bool quarantine, struct ctl_opts *o)
{
	enum { O_SOCKET = 256, O_INSTANCE, O_REASON, O_TTL };
	static const struct option q_opts[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "instance", required_argument, NULL, O_INSTANCE },
		{ "reason", required_argument, NULL, O_REASON },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "instance", required_argument, NULL, O_INSTANCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	pc_cp_socket_path(PC_SHM_DEFAULT_INSTANCE, o->socket, sizeof(o->socket));
	opterr = 0;
	optind = 1;
	int c;
	char name[PC_SHM_NAME_MAX];
	while ((c = getopt_long(argc, argv, ":h", quarantine ? q_opts : opts, NULL)) != -1) {
		switch (c) {
		case O_SOCKET:
			if (strlen(optarg) >= sizeof(o->socket))
				return bad(usage, "--socket %s: path too long", optarg);
			snprintf(o->socket, sizeof(o->socket), "%s", optarg);
			break;
		case O_INSTANCE:
			if (pc_shm_name(optarg, name, sizeof(name)) < 0)
				return bad(usage, "--instance '%s': not an instance name", optarg);
			pc_cp_socket_path(optarg, o->socket, sizeof(o->socket));
			break;
		case O_REASON:
			o->reason = optarg;
			break;
		case O_TTL:
			o->ttl_s = parse_duration(optarg);
			if (o->ttl_s < 0)
				return bad(usage, "--ttl '%s': expected a duration like 90s, 15m, 2h, 7d",
					   optarg);
			break;
		case 'h':
			printf("usage: portcullisctl %s\n", usage);
			return -1;
		case ':':
			return bad(usage, "option %s needs a value", argv[optind - 1]);
		default:
			return bad(usage, "unknown option %s", argv[optind - 1]);
		}
	}
	o->nargs = argc - optind;
	o->args = argv + optind;
	return 0;
}

/* Send req (stolen) and return the ok response, or NULL after printing why
 * not. */
static json_t *exchange(const struct ctl_opts *o, json_t *req)
{
	char err[1024];
	json_t *resp = pc_cp_request(o->socket, req, PC_CTL_TIMEOUT_MS, err, sizeof(err));
	json_decref(req);
	if (resp == NULL) {
		fprintf(stderr, "portcullisctl: %s\n", err);
		return NULL;
	}
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));
		fprintf(stderr, "portcullisctl: %s\n", e ? e : "the daemon refused the request");
		json_decref(resp);
		return NULL;
	}
	return resp;
}

static json_int_t iget(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *sget(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

#define DONE_OR(rc) do { if ((rc) != 0) return (rc) < 0 ? 0 : (rc); } while (0)

int pc_ctl_policy_push(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	static const char usage[] = "policy push FILE [--socket PATH | --instance NAME]";
	struct ctl_opts o;
	DONE_OR(parse(argc, argv, usage, false, &o));
	if (o.nargs != 1)
		return bad(usage, "%s", "policy push takes one FILE");
	char abs[PATH_MAX];
	if (realpath(o.args[0], abs) == NULL) {
		fprintf(stderr, "portcullisctl: %s: %s\n", o.args[0], strerror(errno));
		return EXIT_FAIL;
	}
	json_t *resp = exchange(&o, json_pack("{s:s, s:s}", "cmd", "policy.push", "file", abs));
	if (resp == NULL)
		return EXIT_FAIL;
	if (json_is_true(json_object_get(resp, "acknowledged")))
		printf("generation %" JSON_INTEGER_FORMAT " applied in %" JSON_INTEGER_FORMAT
		       " us (%" JSON_INTEGER_FORMAT " rules)\n", iget(resp, "generation"),
		       iget(resp, "apply_us"), iget(resp, "rules"));
	else
		printf("generation %" JSON_INTEGER_FORMAT " published (%" JSON_INTEGER_FORMAT
		       " rules); no dataplane attached yet\n", iget(resp, "generation"),
		       iget(resp, "rules"));
	json_decref(resp);
	return 0;
}

int pc_ctl_policy_show(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	static const char usage[] = "policy show [--socket PATH | --instance NAME]";
	struct ctl_opts o;
	DONE_OR(parse(argc, argv, usage, false, &o));
	if (o.nargs != 0)
		return bad(usage, "unexpected argument %s", o.args[0]);
	json_t *resp = exchange(&o, json_pack("{s:s}", "cmd", "policy.show"));
	if (resp == NULL)
		return EXIT_FAIL;
	printf("generation %" JSON_INTEGER_FORMAT "\nfile %s\nrules %" JSON_INTEGER_FORMAT
	       "\napplied %s\npublished_generation %" JSON_INTEGER_FORMAT "\n",
	       iget(resp, "generation"), sget(resp, "file"), iget(resp, "rules"),
	       sget(resp, "applied"), iget(resp, "published_generation"));
	json_decref(resp);
	return 0;
}

int pc_ctl_status(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	static const char usage[] = "status [--socket PATH | --instance NAME]";
	struct ctl_opts o;
	DONE_OR(parse(argc, argv, usage, false, &o));
	if (o.nargs != 0)
		return bad(usage, "unexpected argument %s", o.args[0]);
	json_t *resp = exchange(&o, json_pack("{s:s}", "cmd", "status"));
	if (resp == NULL)
		return EXIT_FAIL;
	json_t *dp = json_object_get(resp, "dataplane");
	json_t *cp = json_object_get(resp, "control");
	json_t *last = json_object_get(resp, "last_ack");
	printf("instance %s\n", sget(resp, "instance"));
	if (json_is_true(json_object_get(dp, "attached")))
		printf("dataplane attached\ndataplane_pid %" JSON_INTEGER_FORMAT
		       "\nworkers %" JSON_INTEGER_FORMAT "\ngeneration %" JSON_INTEGER_FORMAT
		       "\nrules %" JSON_INTEGER_FORMAT "\ndataplane_uptime_s %" JSON_INTEGER_FORMAT
		       "\nquarantine_entries %" JSON_INTEGER_FORMAT "\n",
		       iget(dp, "pid"), iget(dp, "workers"), iget(dp, "generation"),
		       iget(dp, "rules"), iget(dp, "uptime_s"), iget(dp, "quarantine_entries"));
	else
		printf("dataplane not attached\n");
	printf("last_ack_generation %" JSON_INTEGER_FORMAT "\nlast_ack_result %" JSON_INTEGER_FORMAT
	       "\n", iget(last, "generation"), iget(last, "result"));
	if (sget(last, "error")[0] != '\0')
		printf("last_ack_error %s\n", sget(last, "error"));
	printf("control_pid %" JSON_INTEGER_FORMAT "\ncontrol_uptime_s %" JSON_INTEGER_FORMAT
	       "\npolicy %s\n", iget(cp, "pid"), iget(cp, "uptime_s"), sget(cp, "policy"));
	json_decref(resp);
	return 0;
}

static int quarantine(const char *sub, const char *usage, int argc, char **argv)
{
	struct ctl_opts o;
	DONE_OR(parse(argc, argv, usage, true, &o));
	if (o.nargs != 2)
		return bad(usage, "%s", "expected identity NAME or credential FINGERPRINT");
	if (strcmp(o.args[0], "identity") != 0 && strcmp(o.args[0], "credential") != 0)
		return bad(usage, "'%s': expected identity or credential", o.args[0]);
	char cmdname[32];
	snprintf(cmdname, sizeof(cmdname), "quarantine.%s", sub);
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:I}", "cmd", cmdname, "kind", o.args[0],
				"value", o.args[1], "reason", o.reason ? o.reason : "", "ttl_s",
				(json_int_t)o.ttl_s);
	json_t *resp = exchange(&o, req);
	if (resp == NULL)
		return EXIT_FAIL;
	printf("%s %s %s\n", o.args[0], o.args[1], strcmp(sub, "add") == 0 ? "quarantined" : "released");
	json_decref(resp);
	return 0;
}

int pc_ctl_quarantine_add(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return quarantine("add",
			  "quarantine add identity NAME|credential FINGERPRINT [--reason TEXT] "
			  "[--ttl DURATION] [--socket PATH | --instance NAME]", argc, argv);
}

int pc_ctl_quarantine_remove(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	return quarantine("remove",
			  "quarantine remove identity NAME|credential FINGERPRINT [--reason TEXT] "
			  "[--socket PATH | --instance NAME]", argc, argv);
}

int pc_ctl_quarantine_list(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	static const char usage[] = "quarantine list [--socket PATH | --instance NAME]";
	struct ctl_opts o;
	DONE_OR(parse(argc, argv, usage, false, &o));
	if (o.nargs != 0)
		return bad(usage, "unexpected argument %s", o.args[0]);
	json_t *resp = exchange(&o, json_pack("{s:s}", "cmd", "quarantine.list"));
	if (resp == NULL)
		return EXIT_FAIL;
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(resp, "entries"), i, e) {
		json_int_t exp = iget(e, "expires");
		char when[32] = "never";
		if (exp > 0) {
			time_t t = (time_t)exp;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		printf("%s %s expires %s reason %s\n", sget(e, "kind"), sget(e, "value"), when,
		       sget(e, "reason"));
	}
	json_decref(resp);
	return 0;
}

/* One flow as a table row; fields the dataplane did not know print "-". */
static void flow_row(json_t *f)
{
	char cli[80], srv[80], l7[16] = "";
	const char *fam6 = strchr(sget(f, "client"), ':');
	snprintf(cli, sizeof(cli), fam6 ? "[%s]:%" JSON_INTEGER_FORMAT : "%s:%" JSON_INTEGER_FORMAT,
		 sget(f, "client"), iget(f, "client_port"));
	snprintf(srv, sizeof(srv), fam6 ? "[%s]:%" JSON_INTEGER_FORMAT : "%s:%" JSON_INTEGER_FORMAT,
		 sget(f, "server"), iget(f, "server_port"));
	json_t *proto = json_object_get(f, "proto");
	char pr[8];
	if (json_is_string(proto))
		snprintf(pr, sizeof(pr), "%s", json_string_value(proto));
	else
		snprintf(pr, sizeof(pr), "%" JSON_INTEGER_FORMAT, json_integer_value(proto));
	if (json_is_string(json_object_get(f, "l7")))
		snprintf(l7, sizeof(l7), "/%s", sget(f, "l7"));
	char state[32];
	snprintf(state, sizeof(state), "%s%s", sget(f, "state"), l7);
	const char *id = sget(f, "identity"), *cred = sget(f, "credential"), *rule = sget(f, "rule");
	printf("%-5s %-27s %-27s %-17s %-16s %-16s %-20s %5" JSON_INTEGER_FORMAT " %8"
	       JSON_INTEGER_FORMAT " %10" JSON_INTEGER_FORMAT " %8.1f %8.1f %4" JSON_INTEGER_FORMAT
	       " %3" JSON_INTEGER_FORMAT "\n",
	       pr, cli, srv, state, id[0] ? id : "-", cred[0] ? cred : "-", rule[0] ? rule : "-",
	       iget(f, "requests"), iget(f, "packets"), iget(f, "bytes"),
	       (double)iget(f, "age_ms") / 1000.0, (double)iget(f, "idle_ms") / 1000.0,
	       iget(f, "generation"), iget(f, "worker"));
}

int pc_ctl_flows(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	(void)cmd;
	static const char usage[] =
		"flows [--identity NAME] [--limit N] [--json] [--socket PATH | --instance NAME]";
	enum { O_SOCKET = 256, O_INSTANCE, O_IDENTITY, O_LIMIT, O_JSON };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "instance", required_argument, NULL, O_INSTANCE },
		{ "identity", required_argument, NULL, O_IDENTITY },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_opts o;
	memset(&o, 0, sizeof(o));
	pc_cp_socket_path(PC_SHM_DEFAULT_INSTANCE, o.socket, sizeof(o.socket));
	const char *identity = "";
	long long limit = PC_SHM_FLOWS_DEFAULT;
	bool as_json = false;
	char name[PC_SHM_NAME_MAX], *end;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_SOCKET:
			if (strlen(optarg) >= sizeof(o.socket))
				return bad(usage, "--socket %s: path too long", optarg);
			snprintf(o.socket, sizeof(o.socket), "%s", optarg);
			break;
		case O_INSTANCE:
			if (pc_shm_name(optarg, name, sizeof(name)) < 0)
				return bad(usage, "--instance '%s': not an instance name", optarg);
			pc_cp_socket_path(optarg, o.socket, sizeof(o.socket));
			break;
		case O_IDENTITY:
			if (optarg[0] == '\0' || strlen(optarg) >= PC_SHM_QUAR_NAME_MAX)
				return bad(usage, "--identity '%s': not an identity name", optarg);
			identity = optarg;
			break;
		case O_LIMIT:
			errno = 0;
			limit = strtoll(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0 ||
			    limit < 1 || limit > PC_SHM_FLOWS_MAX) {
				char what[64];
				snprintf(what, sizeof(what), "%.20s' (1 to %u)", optarg,
					 PC_SHM_FLOWS_MAX);
				return bad(usage, "--limit '%s: expected a number", what);
			}
			break;
		case O_JSON:
			as_json = true;
			break;
		case 'h':
			printf("usage: portcullisctl %s\n", usage);
			return 0;
		case ':':
			return bad(usage, "option %s needs a value", argv[optind - 1]);
		default:
			return bad(usage, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad(usage, "unexpected argument %s", argv[optind]);
	json_t *req = json_pack("{s:s, s:I}", "cmd", "flows", "limit", (json_int_t)limit);
	if (identity[0] != '\0')
		json_object_set_new(req, "identity", json_string(identity));
	json_t *resp = exchange(&o, req);
	if (resp == NULL)
		return EXIT_FAIL;
	json_t *flows = json_object_get(resp, "flows");
	if (as_json) {
		json_object_del(resp, "ok");
		char *text = json_dumps(resp, JSON_COMPACT);
		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(resp);
		return 0;
	}
	printf("%-5s %-27s %-27s %-17s %-16s %-16s %-20s %5s %8s %10s %8s %8s %4s %3s\n", "PROTO",
	       "CLIENT", "SERVER", "STATE", "IDENTITY", "CREDENTIAL", "RULE", "REQS", "PKTS",
	       "BYTES", "AGE_S", "IDLE_S", "GEN", "WK");
	size_t i;
	json_t *f;
	json_array_foreach(flows, i, f)
		flow_row(f);
	printf("%" JSON_INTEGER_FORMAT " flows shown, %" JSON_INTEGER_FORMAT " matching\n",
	       iget(resp, "count"), iget(resp, "matched"));
	json_decref(resp);
	return 0;
}
