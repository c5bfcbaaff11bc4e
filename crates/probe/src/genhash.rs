// SPDX-License-Identifier: Apache-2.0 OR MIT
//! genhash (placeholder while being written).
