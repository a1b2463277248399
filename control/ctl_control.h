/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullisctl's online commands: they talk to portcullis-control over its
 * socket (control_proto.h). Each has the signature of a row of
 * portcullisctl's command table and parses its own options:
 * --socket PATH, or --instance NAME for the default path of an instance.
 */
#ifndef PC_CTL_CONTROL_H
#define PC_CTL_CONTROL_H

struct pc_ctl_cmd;

int pc_ctl_policy_push(const struct pc_ctl_cmd *cmd, int argc, char **argv);
int pc_ctl_policy_show(const struct pc_ctl_cmd *cmd, int argc, char **argv);
int pc_ctl_status(const struct pc_ctl_cmd *cmd, int argc, char **argv);
int pc_ctl_quarantine_add(const struct pc_ctl_cmd *cmd, int argc, char **argv);
int pc_ctl_quarantine_remove(const struct pc_ctl_cmd *cmd, int argc, char **argv);
int pc_ctl_quarantine_list(const struct pc_ctl_cmd *cmd, int argc, char **argv);
int pc_ctl_flows(const struct pc_ctl_cmd *cmd, int argc, char **argv);

#endif
