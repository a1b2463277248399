/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullis-dataplane: the DPDK primary process.
 *
 *   portcullis-dataplane [EAL args] -- --policy FILE [--decision-log FILE]
 *       [--flows N] [--flow-idle-timeout SECONDS[,SECONDS]] [--idle busy|backoff]
 *       [--stats-json FILE] [--deny-response reset|403] [--max-head-bytes N]
 *       [--hold-packets N[,M]] [--hold-timeout SECONDS] [--control NAME]
 *       [--tcp-midstream drop|pickup]
 *       [--hold-body-packets N]
 *
 * The application's options are read and the policy is built before the EAL
 * starts, so a typo or a bad policy fails fast with a plain message and no
 * EAL noise. The main lcore then sets up the two ports and the workers, and
 * until SIGINT or SIGTERM only drains the decision-record rings into the log
 * (about once a millisecond) and watches the control segment of instance
 * --control for new policies and revocations (policy_swap.h). On the signal it stops the workers, writes the
 * last records, prints the counters, closes the ports and exits 0.
 *
 * Exit status: 0 after a clean stop, 1 for a runtime failure (policy, EAL,
 * ports, memory), 2 for a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "dataplane.h"
#include "decision_log.h"
#include "http/http_parse.h"
#include "shm/shm.h"
#include "policy/policy.h"
#include "reasm.h"
#include "policy_swap.h"
#include "port.h"
#include "telemetry.h"

#define PROG "portcullis-dataplane"
#define PC_MAIN_DRAIN_US 1000 /* a main-loop turn at most: the doorbell cuts it short */
#define PC_MAX_FLOWS (1u << 26)
#define PC_MAX_IDLE_S (7u * 24 * 3600)
#define PC_MAX_HOLD_PKTS (1u << 20)

struct pc_opts {
	const char *policy;
	const char *decision_log;
	const char *stats_json;
	const char *control;
	struct pc_dp_config dp;
};

static volatile sig_atomic_t pc_quit;

static void on_signal(int sig)
{
	(void)sig;
	pc_quit = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [EAL args] -- --policy FILE [options]\n"
		"  --policy FILE              JSON policy to enforce (required)\n"
		"  --decision-log FILE        append one JSON object per decision\n"
		"  --flows N                  flow capacity per worker and address family "
		"(default %u)\n"
		"  --flow-idle-timeout S[,O]  idle seconds before a flow is forgotten: S for "
		"established\n"
		"                             TCP (default %u), O for the rest (default %u)\n"
		"  --idle busy|backoff        poll without pause, or sleep when idle (default "
		"backoff)\n"
		"  --stats-json FILE          write the final counters as JSON on exit\n"
		"  --deny-response reset|403  on a denied request, reset both ends, or first "
		"answer\n"
		"                             the client 403 with a JSON body (default reset)\n"
		"  --max-head-bytes N         largest request head held for a decision "
		"(default %u)\n"
		"  --hold-packets N[,M]       client segments held: N per flow (default %u), "
		"M per\n"
		"                             worker (default %u); past a bound a head is "
		"denied\n"
		"  --hold-timeout S           seconds a request head may take to arrive "
		"(default %u)\n"
		"  --hold-body-packets N      client segments one flow may hold while a "
		"decision\n"
		"                             waits for the request body (default: the policy's "
		"body\n"
		"                             window at a 536-byte MSS, at least %u; at most the\n"
		"                             per-worker bound); past it the request is denied\n"
		"  --tcp-midstream drop|pickup  an inspected TCP connection first seen without "
		"its SYN:\n"
		"                             dropped (default), or inspected from its next "
		"client segment\n"
		"                             (after a restart or a migration)\n"
		"  --control NAME             instance whose control segment delivers new "
		"policies\n"
		"                             (default " PC_SHM_DEFAULT_INSTANCE ")\n"
		"Port 0 faces callers, port 1 faces services; give the EAL at least two lcores.\n",
		PC_DP_DEFAULT_FLOWS, PC_DP_DEFAULT_IDLE_EST_S, PC_DP_DEFAULT_IDLE_OTHER_S,
		PC_HTTP_MAX_HEAD, PC_REASM_DEFAULT_FLOW_PKTS, PC_REASM_DEFAULT_WORKER_PKTS,
		PC_DP_DEFAULT_HOLD_TIMEOUT_S, PC_REASM_DEFAULT_BODY_PKTS);
}

static _Noreturn void __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n(try '" PROG " -- --help')\n");
	va_end(ap);
	exit(2);
}

/* A decimal number within [min, max]; anything else is a usage error. */
static uint32_t parse_u32(const char *opt, const char *text, uint32_t min, uint32_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
		char range[64];
		snprintf(range, sizeof(range), "%u to %u", min, max);
		fprintf(stderr, PROG ": option '%s': '%s' is not a number from %s\n", opt, text,
			range);
		exit(2);
	}
	return (uint32_t)v;
}

/* An option that is one of two words: false for the first, true for the
 * second; anything else is a usage error naming both. */
static bool parse_either(const char *opt, const char *arg, const char *first, const char *second)
{
	if (strcmp(arg, first) == 0)
		return false;
	if (strcmp(arg, second) != 0)
		usage_error("option '%s': expected '%s' or '%s', got '%s'", opt, first, second, arg);
	return true;
}

static void parse_idle_timeout(const char *text, struct pc_dp_config *dp)
{
	char buf[64];
	if (strlen(text) >= sizeof(buf))
		usage_error("option '--flow-idle-timeout': '%s' is too long", text);
	strcpy(buf, text);
	char *comma = strchr(buf, ',');
	if (comma != NULL)
		*comma = '\0';
	dp->idle_est_s = parse_u32("--flow-idle-timeout", buf, 1, PC_MAX_IDLE_S);
	if (comma != NULL)
		dp->idle_other_s = parse_u32("--flow-idle-timeout", comma + 1, 1, PC_MAX_IDLE_S);
	else if (dp->idle_other_s > dp->idle_est_s)
		dp->idle_other_s = dp->idle_est_s;
}

static void parse_hold_packets(const char *text, struct pc_dp_config *dp)
{
	char buf[64];
	if (strlen(text) >= sizeof(buf))
		usage_error("option '--hold-packets': '%s' is too long", text);
	strcpy(buf, text);
	char *comma = strchr(buf, ',');
	if (comma != NULL)
		*comma = '\0';
	dp->hold_flow_pkts = parse_u32("--hold-packets", buf, 1, PC_REASM_MAX_FLOW_PKTS);
	if (comma != NULL)
		dp->hold_worker_pkts = parse_u32("--hold-packets", comma + 1, 1, PC_MAX_HOLD_PKTS);
	if (dp->hold_worker_pkts < dp->hold_flow_pkts)
		usage_error("option '--hold-packets': %u per worker is fewer than %u per flow",
			    dp->hold_worker_pkts, dp->hold_flow_pkts);
}

/* Parse the application's arguments (argv[0] is a placeholder). */
static void parse_opts(int argc, char **argv, struct pc_opts *o)
{
	enum { O_POLICY = 256, O_DLOG, O_FLOWS, O_IDLE_TIMEOUT, O_IDLE, O_STATS, O_DENY_RESPONSE,
	       O_MAX_HEAD, O_HOLD_PACKETS, O_HOLD_TIMEOUT, O_CONTROL, O_HELP,
	       O_HOLD_BODY_PACKETS, O_MIDSTREAM };
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, O_POLICY },
		{ "decision-log", required_argument, NULL, O_DLOG },
		{ "flows", required_argument, NULL, O_FLOWS },
		{ "flow-idle-timeout", required_argument, NULL, O_IDLE_TIMEOUT },
		{ "idle", required_argument, NULL, O_IDLE },
		{ "stats-json", required_argument, NULL, O_STATS },
		{ "deny-response", required_argument, NULL, O_DENY_RESPONSE },
		{ "max-head-bytes", required_argument, NULL, O_MAX_HEAD },
		{ "hold-packets", required_argument, NULL, O_HOLD_PACKETS },
		{ "hold-timeout", required_argument, NULL, O_HOLD_TIMEOUT },
		{ "hold-body-packets", required_argument, NULL, O_HOLD_BODY_PACKETS },
		{ "control", required_argument, NULL, O_CONTROL },
		{ "tcp-midstream", required_argument, NULL, O_MIDSTREAM },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};

	memset(o, 0, sizeof(*o));
	o->dp.flows = PC_DP_DEFAULT_FLOWS;
	o->dp.idle_est_s = PC_DP_DEFAULT_IDLE_EST_S;
	o->dp.idle_other_s = PC_DP_DEFAULT_IDLE_OTHER_S;
	o->dp.idle_busy = false;
	o->dp.deny_403 = false;
	o->dp.max_head = PC_HTTP_MAX_HEAD;
	o->dp.hold_flow_pkts = PC_REASM_DEFAULT_FLOW_PKTS;
	o->dp.hold_worker_pkts = PC_REASM_DEFAULT_WORKER_PKTS;
	o->dp.hold_timeout_s = PC_DP_DEFAULT_HOLD_TIMEOUT_S;
	o->control = PC_SHM_DEFAULT_INSTANCE;

	char shm_name[PC_SHM_NAME_MAX];
	opterr = 0; /* our own messages name the option */
	optind = 1;
	int c, li = -1;
	while ((c = getopt_long(argc, argv, ":h", longopts, &li)) != -1) {
		/* getopt_long takes any unambiguous prefix ("--pol"); options
		 * in scripts should say what they mean, so demand full names. */
		if (c >= O_POLICY && li >= 0) {
			const char *given = argv[optind - 1];
			if (optarg != NULL && optarg == given) /* "--opt VALUE" */
				given = argv[optind - 2];
			size_t n = strcspn(given + 2, "=");
			if (strncmp(given, "--", 2) != 0 || n != strlen(longopts[li].name))
				usage_error("unknown option '%.*s' (did you mean '--%s'?)",
					    (int)(n + 2), given, longopts[li].name);
		}
		li = -1;
		switch (c) {
		case O_POLICY:
			o->policy = optarg;
			break;
		case O_DLOG:
			o->decision_log = optarg;
			break;
		case O_FLOWS:
			o->dp.flows = parse_u32("--flows", optarg, 1, PC_MAX_FLOWS);
			break;
		case O_IDLE_TIMEOUT:
			parse_idle_timeout(optarg, &o->dp);
			break;
		case O_IDLE:
			o->dp.idle_busy = !parse_either("--idle", optarg, "backoff", "busy");
			break;
		case O_STATS:
			o->stats_json = optarg;
			break;
		case O_DENY_RESPONSE:
			o->dp.deny_403 = parse_either("--deny-response", optarg, "reset", "403");
			break;
		case O_MAX_HEAD:
			/* The head parser's own bound is the most a head may be. */
			o->dp.max_head = parse_u32("--max-head-bytes", optarg, 64, PC_HTTP_MAX_HEAD);
			break;
		case O_HOLD_PACKETS:
			parse_hold_packets(optarg, &o->dp);
			break;
		case O_HOLD_TIMEOUT:
			o->dp.hold_timeout_s = parse_u32("--hold-timeout", optarg, 1, PC_MAX_IDLE_S);
			break;
		case O_HOLD_BODY_PACKETS:
			/* Checked against the per-flow and per-worker bounds
			 * once all options are read (pc_dp_create caps it). */
			o->dp.hold_body_pkts = parse_u32("--hold-body-packets", optarg, 1,
							 PC_REASM_MAX_FLOW_PKTS);
			break;
		case O_MIDSTREAM:
			o->dp.midstream_pickup = parse_either("--tcp-midstream", optarg, "drop",
							      "pickup");
			break;
		case O_CONTROL:
			if (pc_shm_name(optarg, shm_name, sizeof(shm_name)) < 0)
				usage_error("option '--control': '%s' is not an instance name "
					    "(letters, digits, '-', '_', '.')", optarg);
			o->control = optarg;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			exit(0);
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->policy == NULL)
		usage_error("--policy FILE is required (application options go after '--')");
	optind = 1; /* the EAL parses with getopt too */
}

/* Index of "--" in argv, or argc. */
static int find_separator(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return argc;
}

static int check_ports(void)
{
	uint16_t n = rte_eth_dev_count_avail();
	if (n != 2 || !rte_eth_dev_is_valid_port(0) || !rte_eth_dev_is_valid_port(1)) {
		fprintf(stderr,
			PROG ": exactly two Ethernet ports are required, ports 0 and 1 (port 0 "
			"faces callers, port 1 faces services); the EAL found %u. Give two "
			"devices, e.g. --vdev net_pcap0,... --vdev net_pcap1,...\n",
			n);
		return -ENODEV;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pc_opts o;
	char err[1024];
	int status = 1;

	pc_swap_tune_heap();
	/* Application arguments first (after "--"), with argv[0] kept as the
	 * program name for getopt. */
	int sep = find_separator(argc, argv);
	int app_argc = argc - sep;
	char **app_argv = argv + sep;
	char *none[] = { argv[0], NULL };
	if (app_argc <= 0) {
		app_argc = 1;
		app_argv = none;
	} else {
		app_argv[0] = argv[0];
	}
	parse_opts(app_argc, app_argv, &o);

	struct pc_policy *policy = pc_policy_build_file(o.policy, err, sizeof(err));
	if (policy == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}

	FILE *dlog = NULL;
	if (o.decision_log != NULL) {
		dlog = fopen(o.decision_log, "a");
		if (dlog == NULL) {
			fprintf(stderr, PROG ": --decision-log %s: %s\n", o.decision_log,
				strerror(errno));
			pc_policy_free(policy);
			return 1;
		}
	}

	int eal_argc = sep;
	int rc = rte_eal_init(eal_argc, argv);
	if (rc < 0) {
		/* EINVAL is how the EAL reports arguments it does not accept
		 * (it has printed its usage): a usage error like ours. */
		fprintf(stderr, PROG ": cannot initialise the EAL: %s\n", rte_strerror(rte_errno));
		if (rte_errno == EINVAL)
			status = 2;
		goto out_files;
	}

	struct pc_dp *dp = NULL;
	struct pc_swap *swap = NULL;
	bool ports_up[2] = { false, false };
	if (check_ports() < 0)
		goto out_eal;
	dp = pc_dp_create(&o.dp, policy, err, sizeof(err));
	if (dp == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out_eal;
	}
	for (uint16_t port = 0; port < 2; port++) {
		if (pc_port_setup(port, dp->n_workers, dp->pool, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			goto out_ports;
		}
		ports_up[port] = true;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	swap = pc_swap_create(dp, o.control, policy);
	if (swap == NULL) {
		fprintf(stderr, PROG ": policy watcher: %s\n", strerror(errno));
		goto out_ports;
	}
	pc_swap_set_log(swap, dlog);
	/* DPDK telemetry commands (telemetry.h); a failure costs only them. */
	if (pc_telemetry_register(dp, o.control, o.policy, policy) < 0)
		fprintf(stderr, PROG ": telemetry commands not registered\n");

	if (pc_dp_launch(dp) != 0) {
		fprintf(stderr, PROG ": cannot launch the workers\n");
		goto out_ports;
	}
	printf(PROG ": ready: %u workers, ports 0 and 1\n", dp->n_workers);
	fflush(stdout);

	while (!pc_quit) {
		pc_swap_poll(swap);
		if (pc_swap_drain(swap, dlog) < 0)
			fprintf(stderr, PROG ": --decision-log %s: write failed\n", o.decision_log);
		pc_swap_wait(swap, PC_MAIN_DRAIN_US);
	}

	pc_dp_stop(dp);
	pc_swap_drain(swap, dlog);
	pc_dp_flush(dp);
	status = 0;

out_ports:
	pc_telemetry_unregister(); /* before anything it reads is freed */
	for (uint16_t port = 0; port < 2; port++)
		if (ports_up[port])
			pc_port_close(port);
	if (dp != NULL && status == 0) {
		struct pc_counters total;
		pc_dp_counters(dp, &total);
		pc_counters_print(&total, stdout);
		/* With the ports closed and the rings empty, every mbuf must be
		 * back in the pool: anything else is a leak. */
		printf("mbufs_in_use %u\n", rte_mempool_in_use_count(dp->pool));
		/* Likewise every DLP stream, when the policy has DLP: a body
		 * still being scanned at the stop is the only other owner. */
		if (dp->active != NULL && (dp->active->dlp != NULL || dp->active->dlp_prev != NULL))
			printf("dlp_streams_in_use %u\n", pc_dp_dlp_in_use(dp));
		fflush(stdout);
		if (o.stats_json != NULL) {
			rc = pc_counters_write_json(&total, o.stats_json);
			if (rc < 0) {
				fprintf(stderr, PROG ": --stats-json %s: %s\n", o.stats_json,
					strerror(-rc));
				status = 1;
			}
		}
	}
	pc_dp_free(dp);
	pc_swap_free(swap);
out_eal:
	rte_eal_cleanup();
out_files:
	if (dlog != NULL)
		fclose(dlog);
	pc_policy_free(policy);
	return status;
}
