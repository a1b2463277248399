/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Ethernet port setup (design in port.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "port.h"

#define PC_POOL_CACHE 256

struct rte_mempool *pc_port_pool_create(uint16_t n_workers, unsigned extra_mbufs, int socket)
{
	/* Every descriptor of every queue can hold an mbuf, every lcore's
	 * mempool cache can hold some more, and extra_mbufs covers what sits
	 * in rings and burst arrays between queues. */
	unsigned n = (unsigned)n_workers * 2 * (PC_PORT_RX_DESC + PC_PORT_TX_DESC) +
		     (rte_lcore_count() * PC_POOL_CACHE) + extra_mbufs;
	/* A mempool is most compact at 2^q - 1 objects. */
	n = rte_align32pow2(n + 1) - 1;
	return rte_pktmbuf_pool_create("pc_mbufs", n, PC_POOL_CACHE, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, socket);
}

/* The well-known 0x6d5a key makes Toeplitz hashing symmetric: swapping
 * source and destination (addresses and ports) gives the same hash, so both
 * directions of a flow land on the same queue index (Woo and Park, "Scalable
 * TCP Session Monitoring with Symmetric Receive-side Scaling", 2012). */
static void symmetric_rss_key(uint8_t *key, size_t len)
{
	for (size_t i = 0; i < len; i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
}

int pc_port_setup(uint16_t port, uint16_t n_queues, struct rte_mempool *pool, char *err,
		  size_t err_len)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	uint8_t rss_key[64];
	uint16_t nb_rxd = PC_PORT_RX_DESC, nb_txd = PC_PORT_TX_DESC;
	int socket = rte_eth_dev_socket_id(port);
	int rc;

	if (socket < 0)
		socket = (int)rte_socket_id();
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0) {
		snprintf(err, err_len, "port %u: rte_eth_dev_info_get: %s", port, strerror(-rc));
		return rc;
	}
	if (n_queues > info.max_rx_queues || n_queues > info.max_tx_queues) {
		snprintf(err, err_len,
			 "port %u (%s): %u workers need %u RX and TX queues, the device offers %u RX "
			 "and %u TX",
			 port, info.driver_name, n_queues, n_queues, info.max_rx_queues,
			 info.max_tx_queues);
		return -EINVAL;
	}

	uint64_t rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			  info.flow_type_rss_offloads;
	if (n_queues > 1 && rss_hf != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
		if (info.hash_key_size > 0 && info.hash_key_size <= sizeof(rss_key)) {
			symmetric_rss_key(rss_key, info.hash_key_size);
			conf.rx_adv_conf.rss_conf.rss_key = rss_key;
			conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
		}
	}
	/* The decoder verifies IPv4 header checksums itself unless the NIC
	 * marks them good. */
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;

	rc = rte_eth_dev_configure(port, n_queues, n_queues, &conf);
	if (rc != 0) {
		snprintf(err, err_len, "port %u (%s): rte_eth_dev_configure: %s", port,
			 info.driver_name, strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (rc != 0) {
		snprintf(err, err_len, "port %u: rte_eth_dev_adjust_nb_rx_tx_desc: %s", port,
			 strerror(-rc));
		return rc;
	}
	for (uint16_t q = 0; q < n_queues; q++) {
		rc = rte_eth_rx_queue_setup(port, q, nb_rxd, (unsigned)socket, NULL, pool);
		if (rc != 0) {
			snprintf(err, err_len, "port %u: rx queue %u: %s", port, q, strerror(-rc));
			return rc;
		}
		rc = rte_eth_tx_queue_setup(port, q, nb_txd, (unsigned)socket, NULL);
		if (rc != 0) {
			snprintf(err, err_len, "port %u: tx queue %u: %s", port, q, strerror(-rc));
			return rc;
		}
	}
	/* Some virtual PMDs have no promiscuous switch and receive everything
	 * anyway; only a real refusal is an error. */
	rc = rte_eth_promiscuous_enable(port);
	if (rc != 0 && rc != -ENOTSUP) {
		snprintf(err, err_len, "port %u: promiscuous mode: %s", port, strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_start(port);
	if (rc != 0) {
		snprintf(err, err_len, "port %u (%s): rte_eth_dev_start: %s", port,
			 info.driver_name, strerror(-rc));
		return rc;
	}
	rc = rte_eth_dev_set_link_up(port);
	if (rc != 0 && rc != -ENOTSUP) {
		snprintf(err, err_len, "port %u: link up: %s", port, strerror(-rc));
		rte_eth_dev_stop(port);
		return rc;
	}
	return 0;
}

void pc_port_close(uint16_t port)
{
	rte_eth_dev_stop(port);
	rte_eth_dev_close(port);
}
