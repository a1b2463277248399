/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The dataplane's DPDK telemetry commands (rte_telemetry; the socket is
 * <runtime dir>/<file-prefix>/dpdk_telemetry.v2, /var/run/dpdk/... for
 * root):
 *
 *   /portcullis/stats[,W]     every counter of counters.h but the decisions
 *                             by reason, summed over the workers (or worker
 *                             W's)
 *   /portcullis/workers[,W]   per worker: lcore, queue, packets, decisions,
 *                             flows, holds (columns indexed by worker, or
 *                             worker W as a dict)
 *   /portcullis/policy        generation, rules, identities, origin, last
 *                             swap's times, last error
 *   /portcullis/quarantine    the revocation table the control plane
 *                             publishes, and how many entries the workers use
 *   /portcullis/reasons       decisions by action and reason
 *
 * The callbacks run on the telemetry library's threads (one per client
 * connection), never on a worker or the main lcore. They read only what is
 * published for other threads: each worker's struct pc_counters (relaxed
 * atomic loads), fields of struct pc_dp and struct pc_worker that are
 * read-only after launch, the startup policy (alive as long as the
 * dataplane), and the control segment's acknowledgement area and table,
 * which exist to be read by another process. They never touch a flow table,
 * a hold, or dp->active: a policy behind dp->active may be freed under RCU
 * at any time, and these threads are not RCU readers.
 */
#ifndef PC_DP_TELEMETRY_H
#define PC_DP_TELEMETRY_H

struct pc_dp;
struct pc_policy;

/* Register the commands for dp. instance is the --control instance whose
 * segment says which policy runs; policy_path and startup describe the
 * startup policy (generation 1); all must outlive pc_telemetry_unregister().
 * Registering again (another dp) only changes what the commands read.
 * Returns 0 or -errno. Main lcore, after pc_dp_create(); control path. */
int pc_telemetry_register(struct pc_dp *dp, const char *instance, const char *policy_path,
			  const struct pc_policy *startup);

/* Make the commands answer "not running" and wait until no callback reads
 * dp any more (rte_telemetry cannot unregister a command). Call before
 * pc_dp_free(). Main lcore; control path. */
void pc_telemetry_unregister(void);

#endif
