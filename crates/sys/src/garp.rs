// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Gratuitous ARP and unsolicited neighbour advertisements.
//!
//! Frame contents follow what keepalived 2.2.7 puts on the wire (captured
//! with tshark on this machine):
//! * GARP: an ARP **request** (opcode 1), Ethernet destination and target
//!   hardware address ff:ff:ff:ff:ff:ff, sender and target IP both the VIP,
//!   sender hardware address the interface MAC.
//! * Unsolicited NA (RFC 4861 §7.2.6): Ethernet 33:33:00:00:00:01, IPv6
//!   source = the VIP itself, destination ff02::1 (all nodes), hop limit
//!   255, traffic class 0, Override flag set, Solicited clear, Router flag
//!   = IPv6 forwarding on the interface, one Target Link-Layer Address
//!   option with the interface MAC, ICMPv6 checksum over the pseudo-header.
//!
//! The builders are pure; [`FrameSender`] puts finished frames on an
//! AF_PACKET socket bound to the interface.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;

use pnet_base::MacAddr;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperations, MutableArpPacket};
use pnet_packet::ethernet::{EtherTypes, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::{Icmpv6Code, Icmpv6Packet, Icmpv6Types};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::MutableIpv6Packet;
use socket2::{Domain, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::sockopt::{bind_packet, register};

const ETH_HDR: usize = 14;
const ARP_LEN: usize = 28;
const IPV6_HDR: usize = 40;
/// NA header (24) + one target link-layer address option (8).
const NA_LEN: usize = 32;

/// Length of a GARP frame (the kernel pads it to the Ethernet minimum).
pub const GARP_FRAME_LEN: usize = ETH_HDR + ARP_LEN;
/// Length of an unsolicited NA frame.
pub const NA_FRAME_LEN: usize = ETH_HDR + IPV6_HDR + NA_LEN;

/// IPv6 all-nodes link-local multicast group.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

fn mac(b: [u8; 6]) -> MacAddr {
    MacAddr::new(b[0], b[1], b[2], b[3], b[4], b[5])
}

/// Build the gratuitous ARP keepalived sends for `vip` from `src_mac`.
pub fn build_garp(src_mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_FRAME_LEN] {
    let mut frame = [0u8; GARP_FRAME_LEN];
    let (eth_part, arp_part) = frame.split_at_mut(ETH_HDR);
    if let Some(mut arp) = MutableArpPacket::new(arp_part) {
        arp.set_hardware_type(ArpHardwareTypes::Ethernet);
        arp.set_protocol_type(EtherTypes::Ipv4);
        arp.set_hw_addr_len(6);
        arp.set_proto_addr_len(4);
        arp.set_operation(ArpOperations::Request);
        arp.set_sender_hw_addr(mac(src_mac));
        arp.set_sender_proto_addr(vip);
        arp.set_target_hw_addr(MacAddr::broadcast());
        arp.set_target_proto_addr(vip);
    }
    // The Ethernet view only covers the header here; the ARP body was
    // written through its own view above.
    if let Some(mut eth) = MutableEthernetPacket::new(eth_part) {
        eth.set_destination(MacAddr::broadcast());
        eth.set_source(mac(src_mac));
        eth.set_ethertype(EtherTypes::Arp);
    }
    frame
}

/// Build an unsolicited neighbour advertisement for `vip` from `src_mac`.
/// `router` is the R flag (keepalived: IPv6 forwarding enabled on the
/// interface, see [`crate::link::ipv6_forwarding`]).
pub fn build_unsolicited_na(src_mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; NA_FRAME_LEN] {
    let mut frame = [0u8; NA_FRAME_LEN];
    let (eth_part, rest) = frame.split_at_mut(ETH_HDR);
    let (ip_part, na_part) = rest.split_at_mut(IPV6_HDR);

    if let Some(mut na) = MutableNeighborAdvertPacket::new(na_part) {
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_icmpv6_code(Icmpv6Code::new(0));
        let mut flags = NeighborAdvertFlags::Override;
        if router {
            flags |= NeighborAdvertFlags::Router;
        }
        na.set_flags(flags);
        na.set_target_addr(vip);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: src_mac.to_vec(),
        }]);
    }
    let checksum = Icmpv6Packet::new(na_part)
        .map(|icmp| pnet_packet::icmpv6::checksum(&icmp, &vip, &ALL_NODES))
        .unwrap_or(0);
    if let Some(mut na) = MutableNeighborAdvertPacket::new(na_part) {
        na.set_checksum(checksum);
    }

    if let Some(mut ip) = MutableIpv6Packet::new(ip_part) {
        ip.set_version(6);
        ip.set_traffic_class(0);
        ip.set_flow_label(0);
        ip.set_payload_length(NA_LEN as u16);
        ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
        ip.set_hop_limit(255);
        ip.set_source(vip);
        ip.set_destination(ALL_NODES);
    }
    if let Some(mut eth) = MutableEthernetPacket::new(eth_part) {
        // RFC 2464 §7: 33:33 followed by the group's last 32 bits.
        eth.set_destination(MacAddr::new(0x33, 0x33, 0, 0, 0, 1));
        eth.set_source(mac(src_mac));
        eth.set_ethertype(EtherTypes::Ipv6);
    }
    frame
}

/// Sends finished Ethernet frames out of one interface.
///
/// AF_PACKET, SOCK_RAW, protocol 0: a protocol of 0 registers no receive
/// hook, so the socket never queues incoming traffic (keepalived opens
/// with ETH_P_RARP for the same effect).
pub struct FrameSender {
    fd: AsyncFd<Socket>,
}

impl FrameSender {
    /// Open and bind to `ifindex`. Must be called inside a tokio runtime.
    pub fn open(ifindex: u32) -> io::Result<Self> {
        let sock = Socket::new(Domain::PACKET, Type::RAW.nonblocking(), None)?;
        bind_packet(sock.as_fd(), ifindex, 0)?;
        Ok(Self {
            fd: register(sock)?,
        })
    }

    /// Send one frame (e.g. from [`build_garp`] / [`build_unsolicited_na`]).
    pub async fn send(&self, frame: &[u8]) -> io::Result<()> {
        loop {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| fd.get_ref().send(frame)) {
                Ok(r) => return r.map(|_| ()),
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use pnet_packet::Packet;
    use pnet_packet::arp::ArpPacket;
    use pnet_packet::ethernet::EthernetPacket;
    use pnet_packet::icmpv6::ndp::NeighborAdvertPacket;
    use pnet_packet::ipv6::Ipv6Packet;

    use super::*;

    const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x20, 0x30];

    #[test]
    fn garp_decodes_as_broadcast_request_for_the_vip() {
        let vip = Ipv4Addr::new(192, 0, 2, 100);
        let frame = build_garp(MAC, vip);
        let eth = EthernetPacket::new(&frame).unwrap();
        assert_eq!(eth.get_destination(), MacAddr::broadcast());
        assert_eq!(eth.get_source(), mac(MAC));
        assert_eq!(eth.get_ethertype(), EtherTypes::Arp);
        let arp = ArpPacket::new(eth.payload()).unwrap();
        assert_eq!(arp.get_operation(), ArpOperations::Request);
        assert_eq!(arp.get_hardware_type(), ArpHardwareTypes::Ethernet);
        assert_eq!(arp.get_protocol_type(), EtherTypes::Ipv4);
        assert_eq!((arp.get_hw_addr_len(), arp.get_proto_addr_len()), (6, 4));
        assert_eq!(arp.get_sender_hw_addr(), mac(MAC));
        assert_eq!(arp.get_sender_proto_addr(), vip);
        assert_eq!(arp.get_target_hw_addr(), MacAddr::broadcast());
        assert_eq!(arp.get_target_proto_addr(), vip);
    }

    #[test]
    fn na_decodes_with_override_tlla_and_valid_checksum() {
        let vip: Ipv6Addr = "2001:db8::100".parse().unwrap();
        for router in [false, true] {
            let frame = build_unsolicited_na(MAC, vip, router);
            let eth = EthernetPacket::new(&frame).unwrap();
            assert_eq!(eth.get_destination(), MacAddr::new(0x33, 0x33, 0, 0, 0, 1));
            assert_eq!(eth.get_ethertype(), EtherTypes::Ipv6);
            let ip = Ipv6Packet::new(eth.payload()).unwrap();
            assert_eq!(ip.get_version(), 6);
            assert_eq!(ip.get_hop_limit(), 255);
            assert_eq!(ip.get_next_header(), IpNextHeaderProtocols::Icmpv6);
            assert_eq!(ip.get_source(), vip);
            assert_eq!(ip.get_destination(), ALL_NODES);
            assert_eq!(usize::from(ip.get_payload_length()), ip.payload().len());
            let na = NeighborAdvertPacket::new(ip.payload()).unwrap();
            assert_eq!(na.get_icmpv6_type(), Icmpv6Types::NeighborAdvert);
            assert_eq!(na.get_target_addr(), vip);
            let f = na.get_flags();
            assert_ne!(f & NeighborAdvertFlags::Override, 0);
            assert_eq!(f & NeighborAdvertFlags::Solicited, 0);
            assert_eq!(f & NeighborAdvertFlags::Router != 0, router);
            let opts = na.get_options();
            assert_eq!(opts.len(), 1);
            assert_eq!(opts[0].option_type, NdpOptionTypes::TargetLLAddr);
            assert_eq!(opts[0].data, MAC.to_vec());
            // Recompute independently: the one's-complement sum over the
            // pseudo-header and the message including its checksum is 0xffff.
            assert_eq!(ones_complement_sum(&vip, &ALL_NODES, ip.payload()), 0xffff);
        }
    }

    fn ones_complement_sum(src: &Ipv6Addr, dst: &Ipv6Addr, msg: &[u8]) -> u16 {
        let mut data = Vec::new();
        data.extend_from_slice(&src.octets());
        data.extend_from_slice(&dst.octets());
        data.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        data.extend_from_slice(&[0, 0, 0, 58]);
        data.extend_from_slice(msg);
        let mut sum: u32 = data
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
            .sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }
}
