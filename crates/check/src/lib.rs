// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Health checkers and the per-checker up/down machine.
//!
//! Empty until the health-check issue lands.
