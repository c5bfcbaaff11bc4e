// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Sans-IO VRRP v2/v3: packet codec, the RFC 5798 state machine and the
//! node that tracks objects and decides faults and priorities.

pub mod fsm;
pub mod node;
pub mod packet;
