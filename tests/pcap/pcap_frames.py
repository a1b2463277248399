# SPDX-License-Identifier: BSD-3-Clause
"""Frames and pcap files for the pcap suite, with the standard library only.

Builders return whole Ethernet frames as bytes, with correct IPv4 header and
TCP/UDP/ICMP checksums (RFC 1071) unless told otherwise. The reader accepts
the microsecond and nanosecond pcap formats in either byte order (the DPDK
pcap PMD writes nanosecond files) and stops quietly at a truncated last
record, since a file may be read while it is still being written.
"""

import struct

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_VLAN = 0x8100

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def ip4(text):
    return bytes(int(x) for x in text.split("."))


def csum(data):
    """RFC 1071 Internet checksum of data, as the 16-bit value to store."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def csum_ok(data):
    """True when data (checksum field included) sums to all ones."""
    return csum(data) == 0


def eth(dst, src, ethertype, payload, vlans=()):
    hdr = mac(dst) + mac(src)
    for tci in vlans:
        hdr += struct.pack("!HH", ETH_VLAN, tci)
    return hdr + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ident=1, ttl=64, bad_csum=False):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, ttl,
                      proto, 0, ip4(src), ip4(dst))
    c = csum(hdr)
    if bad_csum:
        c ^= 0x5555
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def pseudo4(src, dst, proto, length):
    return ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, length)


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", window=64240):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, window, 0, 0)
    c = csum(pseudo4(src, dst, 6, len(hdr) + len(payload)) + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


def udp(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    c = csum(pseudo4(src, dst, 17, length) + hdr + payload) or 0xFFFF
    return hdr[:6] + struct.pack("!H", c) + payload


def icmp_echo(ident, seqno, payload=b"portcullis"):
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seqno)
    c = csum(hdr + payload)
    return hdr[:2] + struct.pack("!H", c) + hdr[4:] + payload


def arp_request(src_mac, src_ip, target_ip):
    body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 1, mac(src_mac), ip4(src_ip),
                       b"\0" * 6, ip4(target_ip))
    body += b"\0" * 18  # pad to the 60-byte Ethernet minimum
    return eth("ff:ff:ff:ff:ff:ff", src_mac, ETH_ARP, body)


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    """Frames of a pcap file; [] when the file is missing or has no header yet."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    if len(data) < 24:
        return []
    magic_le = struct.unpack("<I", data[:4])[0]
    if magic_le in (0xA1B2C3D4, 0xA1B23C4D):
        order = "<"
    elif struct.unpack(">I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D):
        order = ">"
    else:
        raise ValueError("%s: not a pcap file" % path)
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(order + "IIII", data[off:off + 16])
        if off + 16 + caplen > len(data):
            break
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


class Decoded:
    """The fields of an Ethernet/IPv4/TCP frame the checks need."""

    def __init__(self, frame):
        self.frame = frame
        self.dst_mac = frame[0:6]
        self.src_mac = frame[6:12]
        off, self.vlans = 12, []
        etype = struct.unpack("!H", frame[off:off + 2])[0]
        while etype == ETH_VLAN:
            self.vlans.append(struct.unpack("!H", frame[off + 2:off + 4])[0])
            off += 4
            etype = struct.unpack("!H", frame[off:off + 2])[0]
        self.ethertype = etype
        self.l2_bytes = frame[:off + 2]
        ip = frame[off + 2:]
        self.ip = ip
        if etype != ETH_IPV4:
            return
        self.ihl = (ip[0] & 0x0F) * 4
        self.version = ip[0] >> 4
        self.total_len = struct.unpack("!H", ip[2:4])[0]
        self.proto = ip[9]
        self.ip_csum_ok = csum_ok(ip[:self.ihl])
        self.src = ".".join(str(b) for b in ip[12:16])
        self.dst = ".".join(str(b) for b in ip[16:20])
        l4 = ip[self.ihl:self.total_len]
        self.l4 = l4
        if self.proto == 6:
            (self.sport, self.dport, self.seq, self.ack, doff, self.flags,
             self.window) = struct.unpack("!HHIIBBH", l4[:16])
            self.payload = l4[(doff >> 4) * 4:]
            self.l4_csum_ok = csum_ok(pseudo4(self.src, self.dst, 6, len(l4)) + l4)
