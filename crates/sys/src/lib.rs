// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Everything that touches the kernel outside IPVS.
