// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Small value types shared by many blocks.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::diag::Loc;

/// A keepalived `<TIMER>`: decimal seconds, microsecond resolution.
/// Serialized as seconds (a JSON number) so `-d` output reads naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timer {
    micros: u64,
}

impl Timer {
    pub const fn from_micros(micros: u64) -> Self {
        Self { micros }
    }

    pub const fn from_secs(secs: u64) -> Self {
        Self {
            micros: secs.saturating_mul(1_000_000),
        }
    }

    pub const fn as_micros(self) -> u64 {
        self.micros
    }

    pub fn as_secs_f64(self) -> f64 {
        self.micros as f64 / 1e6
    }

    pub const fn as_duration(self) -> Duration {
        Duration::from_micros(self.micros)
    }

    /// Parses decimal seconds ("1", "0.92", "1.000001") exactly, without
    /// going through floating point, rounding to the nearest microsecond.
    pub fn parse(s: &str) -> Option<Self> {
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, f),
            None => (s, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let secs: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut micros: u64 = 0;
        for (i, b) in frac
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(6)
            .enumerate()
        {
            let _ = i;
            micros = micros * 10 + u64::from(b - b'0');
        }
        // Round half up on the seventh digit.
        if frac.as_bytes().get(6).is_some_and(|b| *b >= b'5') {
            micros += 1;
        }
        secs.checked_mul(1_000_000)?
            .checked_add(micros)
            .map(Self::from_micros)
    }
}

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, us) = (self.micros / 1_000_000, self.micros % 1_000_000);
        if us == 0 {
            write!(f, "{s}")
        } else {
            let frac = format!("{us:06}");
            write!(f, "{s}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl Serialize for Timer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_secs_f64())
    }
}

impl<'de> Deserialize<'de> for Timer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(d)?;
        if !(0.0..=1.8e13).contains(&secs) {
            return Err(serde::de::Error::custom("timer out of range"));
        }
        Ok(Self::from_micros((secs * 1e6).round() as u64))
    }
}

/// Whether `v` is its type's default: such fields are left out of the
/// JSON snapshot (which the supervisor sends every child on each start
/// and reload) and come back as that default, so a skipped field always
/// pairs with a field-level `#[serde(default)]`.
pub fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    skipping_defaults() && *v == T::default()
}

thread_local! {
    static EVERY_FIELD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether serialising leaves default fields out (the snapshot), or writes
/// every field ([`with_every_field`], for `-d`).
pub fn skipping_defaults() -> bool {
    !EVERY_FIELD.with(std::cell::Cell::get)
}

/// Runs `f` with every field serialised, defaults included: `-d` shows
/// what the configuration means, not just what it changed.
pub fn with_every_field<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            EVERY_FIELD.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(EVERY_FIELD.with(|c| c.replace(true)));
    f()
}

/// A command a keyword runs (`notify_master`, `script`, `misc_path` ...),
/// already split into argv the way keepalived splits it, with the optional
/// user and group that follow it on the line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Command {
    pub argv: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// Every command met while reading, with where it was written, so checks
/// that concern all scripts (script security) need not walk the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandUse {
    pub command: Command,
    /// The keyword that configured it (`notify_master`, `script`, ...).
    pub keyword: String,
    pub loc: Loc,
}

#[cfg(test)]
mod tests {
    use super::Timer;

    #[test]
    fn timer_parses_decimal_seconds_exactly() {
        assert_eq!(Timer::parse("1"), Some(Timer::from_secs(1)));
        assert_eq!(Timer::parse("0.92"), Some(Timer::from_micros(920_000)));
        assert_eq!(Timer::parse(".5"), Some(Timer::from_micros(500_000)));
        assert_eq!(Timer::parse("3."), Some(Timer::from_secs(3)));
        assert_eq!(Timer::parse("0.0000015"), Some(Timer::from_micros(2)));
        assert_eq!(Timer::parse("1e3"), None);
        assert_eq!(Timer::parse("-1"), None);
        assert_eq!(Timer::parse(""), None);
        assert_eq!(Timer::parse("."), None);
        assert_eq!(Timer::parse("99999999999999999999"), None);
        assert_eq!(Timer::from_micros(1_500_000).to_string(), "1.5");
    }
}
