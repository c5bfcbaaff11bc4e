// SPDX-License-Identifier: Apache-2.0 OR MIT
//! macvlan links (VMAC) through rtnetlink: look one up, create it in
//! private mode with a given MAC, bring it up, delete it.

use futures_util::TryStreamExt;
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkInfo, LinkMessage, MacVlanMode,
};
use rtnetlink::{LinkMacVlan, LinkUnspec};

use crate::netlink::{Netlink, NetlinkError};

/// What an existing link is, as far as a VMAC cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkKind {
    pub index: u32,
    /// A macvlan (any mode).
    pub macvlan: bool,
    /// A macvlan in private mode.
    pub private: bool,
    /// The lower link (IFLA_LINK).
    pub lower: Option<u32>,
    pub mac: Option<[u8; 6]>,
}

fn kind_of(msg: &LinkMessage) -> LinkKind {
    let mut k = LinkKind {
        index: msg.header.index,
        macvlan: false,
        private: false,
        lower: None,
        mac: None,
    };
    for a in &msg.attributes {
        match a {
            LinkAttribute::Link(l) => k.lower = Some(*l),
            LinkAttribute::Address(b) => k.mac = <[u8; 6]>::try_from(b.as_slice()).ok(),
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    match i {
                        LinkInfo::Kind(InfoKind::MacVlan) => k.macvlan = true,
                        LinkInfo::Data(InfoData::MacVlan(d)) => {
                            k.private |= d
                                .iter()
                                .any(|m| matches!(m, InfoMacVlan::Mode(MacVlanMode::Private)));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    k
}

impl Netlink {
    /// The link called `name`, if there is one.
    pub async fn link_kind(&self, name: &str) -> Result<Option<LinkKind>, NetlinkError> {
        let mut replies = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match replies.try_next().await {
            Ok(Some(msg)) => Ok(Some(kind_of(&msg))),
            Ok(None) => Ok(None),
            Err(rtnetlink::Error::NetlinkError(e))
                if matches!(e.raw_code().saturating_abs(), libc::ENODEV | libc::ENOENT) =>
            {
                Ok(None)
            }
            Err(e) => Err(NetlinkError::from_rtnetlink("get link", e)),
        }
    }

    /// Creates a private-mode macvlan `name` on `lower` with `mac`, left
    /// down (its sysctls are set before it comes up).
    pub async fn add_macvlan(
        &self,
        name: &str,
        lower: u32,
        mac: [u8; 6],
    ) -> Result<(), NetlinkError> {
        let msg = LinkMacVlan::new(name, lower, MacVlanMode::Private)
            .address(mac.to_vec())
            .build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(|e| NetlinkError::from_rtnetlink("add macvlan", e))
    }

    /// Sets IFF_UP on `index`.
    pub async fn set_link_up(&self, index: u32) -> Result<(), NetlinkError> {
        let msg = LinkUnspec::new_with_index(index).up().build();
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| NetlinkError::from_rtnetlink("set link up", e))
    }

    /// Deletes link `index`; Ok(false) when it was already gone.
    pub async fn del_link(&self, index: u32) -> Result<bool, NetlinkError> {
        match self.handle.link().del(index).execute().await {
            Ok(()) => Ok(true),
            Err(rtnetlink::Error::NetlinkError(e))
                if matches!(e.raw_code().saturating_abs(), libc::ENODEV | libc::ENOENT) =>
            {
                Ok(false)
            }
            Err(e) => Err(NetlinkError::from_rtnetlink("delete link", e)),
        }
    }
}
