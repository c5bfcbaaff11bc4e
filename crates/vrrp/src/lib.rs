// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Sans-IO VRRP v2/v3: packet codec and the RFC 5798 state machine.

pub mod fsm;
pub mod packet;
