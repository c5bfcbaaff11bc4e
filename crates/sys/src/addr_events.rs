// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Following the namespace's addresses (rtnetlink RTNLGRP_IPV4_IFADDR and
//! RTNLGRP_IPV6_IFADDR): what the checker child's `ha_suspend` watches.
//!
//! Subscribe first, then list: an address that comes between the two is
//! seen twice, which a consumer keeping a set does not mind; the other
//! order could miss it.

use std::pin::Pin;

use futures_util::{Stream, StreamExt, TryStreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::AddressMessage;
use rtnetlink::sys::SocketAddr;

use crate::addr::AddrInfo;
use crate::netlink::{Netlink, NetlinkError};

/// One address notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrEvent {
    pub info: AddrInfo,
    /// RTM_NEWADDR (true) or RTM_DELADDR.
    pub present: bool,
}

/// What the subscription reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrNotice {
    Changed(AddrEvent),
    /// The kernel dropped notifications (ENOBUFS: the socket's receive
    /// buffer was full); the consumer re-reads the addresses
    /// ([`Netlink::all_addresses`]).
    Lost,
}

/// A subscription to every address change in the namespace.
pub struct AddrEvents {
    messages: Pin<Box<dyn Stream<Item = (NetlinkMessage<RouteNetlinkMessage>, SocketAddr)> + Send>>,
    conn: tokio::task::JoinHandle<()>,
}

impl AddrEvents {
    /// Subscribe. Must be called inside a tokio runtime.
    pub fn subscribe() -> Result<Self, NetlinkError> {
        let (conn, _handle, messages) = rtnetlink::new_multicast_connection(&[
            rtnetlink::MulticastGroup::Ipv4Ifaddr,
            rtnetlink::MulticastGroup::Ipv6Ifaddr,
        ])?;
        let conn = tokio::spawn(conn);
        Ok(Self {
            messages: Box::pin(messages),
            conn,
        })
    }

    /// The next address notice; `None` when the subscription ended.
    pub async fn next(&mut self) -> Option<AddrNotice> {
        loop {
            let (msg, _) = self.messages.next().await?;
            let (m, present) = match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(m)) => (m, true),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(m)) => (m, false),
                // netlink-proto turns an ENOBUFS read into this message.
                NetlinkPayload::Overrun(_) => return Some(AddrNotice::Lost),
                _ => continue,
            };
            if let Some(info) = AddrInfo::from_message(&m) {
                return Some(AddrNotice::Changed(AddrEvent { info, present }));
            }
        }
    }
}

impl Drop for AddrEvents {
    fn drop(&mut self) {
        self.conn.abort();
    }
}

impl Netlink {
    /// Every address of every interface (`ip addr show`).
    pub async fn all_addresses(&self) -> Result<Vec<AddrInfo>, NetlinkError> {
        let msgs: Vec<AddressMessage> =
            self.handle
                .address()
                .get()
                .execute()
                .try_collect()
                .await
                .map_err(|e| NetlinkError::from_rtnetlink("list addresses", e))?;
        Ok(msgs.iter().filter_map(AddrInfo::from_message).collect())
    }
}
