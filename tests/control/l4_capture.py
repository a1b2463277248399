# SPDX-License-Identifier: BSD-3-Clause
"""The capture the control-suite dataplanes replay, under the sample policy:
three connections from monitoring to ssh (allowed at L4), two from another
source (denied), and a last frame that is not a TCP flow: a UDP datagram
("udp": one more flow) or an ARP request ("arp": bridged, no flow).

    l4_capture.py IN_PCAP EMPTY_PCAP udp|arp
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pcap"))
import pcap_frames as pf  # noqa: E402

C, S = "02:00:00:00:00:01", "02:00:00:00:00:02"


def main(path, empty, last):
    frames = []
    for sport in (40001, 40002, 40003):  # monitoring -> ssh: allowed at L4
        frames.append(pf.eth(S, C, pf.ETH_IPV4, pf.ipv4("198.18.1.200", "198.18.0.2", 6,
            pf.tcp("198.18.1.200", "198.18.0.2", sport, 22, 1000 + sport, 0, pf.TCP_SYN))))
    for sport in (41001, 41002):  # another source -> ssh: denied
        frames.append(pf.eth(S, C, pf.ETH_IPV4, pf.ipv4("198.18.1.5", "198.18.0.2", 6,
            pf.tcp("198.18.1.5", "198.18.0.2", sport, 22, 7, 0, pf.TCP_SYN))))
    if last == "udp":
        frames.append(pf.eth(S, C, pf.ETH_IPV4, pf.ipv4("198.18.1.7", "198.18.0.9", 17,
            pf.udp("198.18.1.7", "198.18.0.9", 5353, 53, b"\0" * 12))))
    elif last == "arp":
        frames.append(pf.eth("ff:ff:ff:ff:ff:ff", C, pf.ETH_ARP,
            pf.arp_request(C, "198.18.1.7", "198.18.0.9")))
    else:
        sys.exit("l4_capture.py: the last frame is 'udp' or 'arp', not '%s'" % last)
    pf.write_pcap(path, frames)
    pf.write_pcap(empty, [])


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
