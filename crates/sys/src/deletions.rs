// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The kernel's notices of deleted addresses, routes and rules.
//!
//! keepalived watches them to react when someone removes a VIP, a
//! virtual or static route or rule behind its back; the VRRP child does
//! the same through this subscription. Additions are not reported: only
//! a deletion asks for an answer.
//!
//! Like [`crate::link::LinkEvents`], the subscription has its own socket
//! and loses notices when the kernel overruns its buffer (an address
//! storm on the box). That is reported as [`Deleted::Lost`]: the consumer
//! re-reads the state it cares about.

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::sys::SocketAddr;

use crate::addr::AddrInfo;
use crate::netlink::NetlinkError;
use crate::route::RouteGone;
use crate::rule::RuleGone;

/// One deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Address(AddrInfo),
    Route(RouteGone),
    Rule(RuleGone),
    /// The kernel dropped notices (ENOBUFS: the socket's receive buffer
    /// was full); any deletion may have been among them.
    Lost,
}

type Messages =
    Pin<Box<dyn Stream<Item = (NetlinkMessage<RouteNetlinkMessage>, SocketAddr)> + Send>>;

/// A subscription to the IPv4/IPv6 address, route and rule groups.
pub struct Deletions {
    messages: Messages,
    conn: tokio::task::JoinHandle<()>,
}

impl Deletions {
    /// Subscribe. Must be called inside a tokio runtime.
    pub fn subscribe() -> Result<Self, NetlinkError> {
        use rtnetlink::MulticastGroup as G;
        let (conn, _handle, messages) = rtnetlink::new_multicast_connection(&[
            G::Ipv4Ifaddr,
            G::Ipv6Ifaddr,
            G::Ipv4Route,
            G::Ipv6Route,
            G::Ipv4Rule,
            G::Ipv6Rule,
        ])?;
        let conn = tokio::spawn(conn);
        Ok(Self {
            messages: Box::pin(messages),
            conn,
        })
    }

    /// The next deletion; `None` when the subscription ended.
    pub async fn next(&mut self) -> Option<Deleted> {
        loop {
            let (msg, _) = self.messages.next().await?;
            let inner = match msg.payload {
                NetlinkPayload::InnerMessage(inner) => inner,
                // netlink-proto turns an ENOBUFS read into this message.
                NetlinkPayload::Overrun(_) => return Some(Deleted::Lost),
                _ => continue,
            };
            let gone = match inner {
                RouteNetlinkMessage::DelAddress(a) => {
                    AddrInfo::from_message(&a).map(Deleted::Address)
                }
                RouteNetlinkMessage::DelRoute(r) => RouteGone::from_message(&r).map(Deleted::Route),
                RouteNetlinkMessage::DelRule(r) => RuleGone::from_message(&r).map(Deleted::Rule),
                _ => None,
            };
            if let Some(g) = gone {
                return Some(g);
            }
        }
    }
}

impl Drop for Deletions {
    fn drop(&mut self) {
        self.conn.abort();
    }
}
