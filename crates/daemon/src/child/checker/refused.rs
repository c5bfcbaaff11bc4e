// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The virtual services the kernel refused to create, and why, for the
//! status. The health pool knows nothing of the kernel: without this a
//! service whose add failed (scheduler module missing, unknown
//! persistence engine) shows in `status` with its quorum up and its real
//! servers alive while the kernel has no such service, and only a count
//! of failed ops hints otherwise.
//!
//! A service enters when its add (or edit) fails and leaves when an add,
//! an edit or a delete of it succeeds, or on a flush; the next reload
//! plans the add again, so a fixed cause (the module installed) clears it.

use std::collections::BTreeMap;

use keepalived_ipvs::error::OpError;
use keepalived_ipvs::model::{Op, ServiceKey};

#[derive(Debug, Default)]
pub struct Refused(BTreeMap<ServiceKey, String>);

impl Refused {
    /// Takes one op's result into account.
    pub fn record(&mut self, op: &Op, failure: Option<&OpError>) {
        match (op, failure) {
            (Op::AddService(s) | Op::SetService(s), Some(e)) => {
                self.0.insert(s.key, e.to_string());
            }
            (Op::AddService(s) | Op::SetService(s), None) => {
                self.0.remove(&s.key);
            }
            (Op::DelService(k), None) => {
                self.0.remove(k);
            }
            (Op::Flush, None) => self.0.clear(),
            _ => {}
        }
    }

    /// For the status: each refused service with the kernel's answer.
    pub fn to_json(&self) -> serde_json::Value {
        self.0
            .iter()
            .map(|(k, why)| serde_json::json!({"service": k.to_string(), "error": why}))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use keepalived_ipvs::error::OpErrorKind;
    use keepalived_ipvs::model::{Protocol, Service};

    use super::*;

    fn service(last: u8, scheduler: &str) -> Service {
        Service {
            key: ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
                port: 80,
            },
            scheduler: scheduler.into(),
            flags: 0,
            timeout: 0,
            netmask: u32::MAX,
            pe_name: None,
        }
    }

    fn enoent(op: &Op) -> OpError {
        OpError {
            op: Box::new(op.clone()),
            kind: OpErrorKind::Kernel(nix::libc::ENOENT),
        }
    }

    #[test]
    fn a_refused_add_is_listed_with_the_kernels_answer_until_an_add_succeeds() {
        let mut r = Refused::default();
        let bad = Op::AddService(service(21, "sed"));
        let good = Op::AddService(service(20, "rr"));
        r.record(&good, None);
        r.record(&bad, Some(&enoent(&bad)));
        let listed = r.to_json();
        let listed = listed.as_array().map(Vec::as_slice).unwrap_or_default();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["service"], "-t 192.0.2.21:80");
        let why = listed[0]["error"].as_str().unwrap_or_default();
        assert!(
            why.contains("scheduler sed") && why.contains("ENOENT"),
            "{why}"
        );
        // The module installed, a reload adds it again: no longer refused.
        r.record(&bad, None);
        assert_eq!(r.to_json(), serde_json::json!([]));
    }

    #[test]
    fn a_delete_or_a_flush_forgets_a_refused_service() {
        let mut r = Refused::default();
        let bad = Op::AddService(service(21, "sed"));
        r.record(&bad, Some(&enoent(&bad)));
        let key = match &bad {
            Op::AddService(s) => s.key,
            _ => unreachable!("built above"),
        };
        // A failed delete changes nothing.
        let del = Op::DelService(key);
        r.record(&del, Some(&enoent(&del)));
        assert_eq!(r.to_json().as_array().map(Vec::len), Some(1));
        r.record(&del, None);
        assert_eq!(r.to_json(), serde_json::json!([]));
        r.record(&bad, Some(&enoent(&bad)));
        r.record(&Op::Flush, None);
        assert_eq!(r.to_json(), serde_json::json!([]));
    }
}
