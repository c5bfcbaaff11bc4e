// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The route metrics `rtt`, `rttvar` and `rto_min` as keepalived 2.2.7
//! reads them (vrrp_ip_rule_route_parser.c `get_time_rtt`), which is not
//! how `ip route` reads them:
//! * a value with a unit (`s`, `sec`, `secs`, or `ms`, `msec`, `msecs`,
//!   any case) is a time, seconds with up to three decimals, milliseconds
//!   with none; the kernel's unit is 1/8 ms for rtt, 1/4 ms for rttvar,
//!   1 ms for rto_min;
//! * a bare number is already in the kernel's unit;
//! * more decimals than the unit allows is a configuration error, yet the
//!   value is kept, rounded half up;
//! * the result is held between 200 ms and 120 s (the kernel's TCP RTO
//!   bounds), with an informational line when it is moved (keepalived's
//!   line says "rtt value" for all three metrics; so does ours);
//! * an exponent, a negative number or a value past 120 s before the
//!   clamp (in the written unit) is invalid: the route is skipped.

/// What one value reads as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTime {
    /// In the kernel's unit for this metric.
    pub units: u32,
    /// Said at load; `error` ones count as configuration errors.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub error: bool,
    pub text: String,
}

const MIN_MS: u64 = 200;
const MAX_MS: u64 = 120_000;

/// Kernel units per millisecond for a metric, if it is a route time.
pub fn units_per_ms(key: &str) -> Option<u64> {
    match key {
        "rtt" => Some(8),
        "rttvar" => Some(4),
        "rto_min" => Some(1),
        _ => None,
    }
}

/// Reads `v` for metric `key` (`rtt`, `rttvar` or `rto_min`); `Err` says
/// why the route is skipped.
pub fn route_time(key: &str, v: &str) -> Result<RouteTime, String> {
    let invalid = || format!("invalid {key} '{v}'");
    let mult = units_per_ms(key).ok_or_else(invalid)?;
    let s = v.trim_start();
    // The unit starts at the first 's'; an 'm' just before it makes it ms.
    let (number, decimals, timed) = match s.find(['s', 'S']) {
        Some(at) => {
            let unit = &s[at..];
            if !["s", "sec", "secs"]
                .iter()
                .any(|u| unit.eq_ignore_ascii_case(u))
            {
                return Err(invalid());
            }
            match s[..at].strip_suffix(['m', 'M']) {
                Some(n) => (n, 0, true),
                None => (&s[..at], 3, true),
            }
        }
        None => (s, 0, false),
    };
    if number.is_empty() || number.contains(['e', 'E']) || number.starts_with('-') {
        return Err(invalid());
    }
    let mut notes = Vec::new();
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(invalid());
    }
    if !whole
        .bytes()
        .chain(frac.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let kept = &frac[..frac.len().min(decimals)];
    let round_up = frac.len() > decimals && frac.as_bytes()[decimals] >= b'5';
    if frac.len() > decimals {
        notes.push(Note {
            error: true,
            text: format!("number '{number}' has too many decimal places"),
        });
    }
    let mut digits = format!("{whole}{kept}");
    digits.extend(std::iter::repeat_n('0', decimals - kept.len()));
    let mut value: u64 = digits.parse().map_err(|_| invalid())?;
    value += u64::from(round_up);
    // The range is checked in the written unit, before any conversion.
    if value > MAX_MS * mult {
        return Err(format!(
            "invalid {key} '{v}' (outside [0, {}])",
            MAX_MS * mult
        ));
    }
    if timed {
        value *= mult;
    }
    let (lo, hi) = (MIN_MS * mult, MAX_MS * mult);
    if value > hi {
        notes.push(Note {
            error: false,
            text: format!(
                "rtt value {v} exceeds maximum {}s, resetting",
                MAX_MS / 1000
            ),
        });
        value = hi;
    } else if value < lo {
        notes.push(Note {
            error: false,
            text: format!("rtt value {v} below minimum {MIN_MS}ms, resetting"),
        });
        value = lo;
    }
    let units = u32::try_from(value).map_err(|_| invalid())?;
    Ok(RouteTime { units, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(key: &str, v: &str) -> u32 {
        match route_time(key, v) {
            Ok(t) => t.units,
            Err(e) => panic!("{key} {v}: {e}"),
        }
    }

    #[test]
    fn units_convert_to_the_kernels() {
        assert_eq!(units("rtt", "300ms"), 2400);
        assert_eq!(units("rttvar", "300ms"), 1200);
        assert_eq!(units("rto_min", "300ms"), 300);
        assert_eq!(units("rtt", "0.5s"), 4000);
        assert_eq!(units("rtt", "2SECS"), 16000);
        assert_eq!(units("rto_min", "1.25sec"), 1250);
    }

    #[test]
    fn a_bare_number_is_in_kernel_units() {
        assert_eq!(units("rtt", "2400"), 2400);
        assert_eq!(units("rto_min", "2400"), 2400);
    }

    #[test]
    fn values_are_held_between_200ms_and_120s() {
        let t = route_time("rtt", "10ms").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.units, 1600);
        assert_eq!(t.notes.len(), 1);
        assert!(!t.notes[0].error, "{:?}", t.notes);
        assert_eq!(units("rto_min", "5"), 200);
        assert_eq!(units("rtt", "119s"), 952_000);
        // The range before conversion is 120 s of kernel units, so 121 s
        // of rtt reads and is then held at 120 s; of rto_min it is invalid.
        assert_eq!(units("rtt", "121s"), 960_000);
        assert!(route_time("rto_min", "121s").is_err());
    }

    #[test]
    fn too_many_decimals_is_an_error_but_kept_rounded() {
        let t = route_time("rto_min", "250.5ms").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.units, 251);
        assert!(t.notes.iter().any(|n| n.error), "{:?}", t.notes);
        assert_eq!(units("rto_min", "0.2504s"), 250);
        assert_eq!(units("rto_min", "0.2505s"), 251);
    }

    #[test]
    fn invalid_values_skip_the_route() {
        for v in [
            "", "s", "ms", "1e3", "1.e3", "-5", "1.2.3s", "5min", "5x", "10 ms",
        ] {
            assert!(route_time("rtt", v).is_err(), "{v}");
        }
        assert!(route_time("mtu", "5").is_err());
    }
}
