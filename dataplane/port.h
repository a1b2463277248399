/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Ethernet port setup for the bridge: one RX and one TX queue per worker on
 * each port (worker i polls queue i of both ports and sends on queue i, so no
 * queue is shared between threads), one mbuf pool for everything, promiscuous
 * mode (the gateway has no address of its own: every frame on the wire is
 * ours to forward), and symmetric RSS where the PMD offers RSS, so that most
 * flows arrive whole at one worker and the hand-off ring is the exception.
 */
#ifndef PC_DP_PORT_H
#define PC_DP_PORT_H

#include <stddef.h>
#include <stdint.h>

struct rte_mempool;

#define PC_PORT_RX_DESC 1024
#define PC_PORT_TX_DESC 1024

/* Create the packet mbuf pool sized for n_workers workers on two ports.
 * NULL with rte_errno set. Main lcore; control path. */
struct rte_mempool *pc_port_pool_create(uint16_t n_workers, unsigned extra_mbufs, int socket);

/* Configure and start port with n_queues RX and TX queues fed from pool.
 * Returns 0, or -errno with err filled ("port 1: rte_eth_dev_configure:
 * Invalid argument (the PMD offers at most 1 RX queue; ...)").
 * Main lcore; control path. */
int pc_port_setup(uint16_t port, uint16_t n_queues, struct rte_mempool *pool, char *err,
		  size_t err_len);

/* Stop and close a port started by pc_port_setup (frees its queues' mbufs).
 * Main lcore, after the workers stopped; control path. */
void pc_port_close(uint16_t port);

#endif
