// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Reading Prometheus text scrapes in the tests: the counter-like series
//! (which may only grow) and single values.

use std::collections::BTreeMap;

/// Sample lines of the counter-like series: name{labels} -> value.
pub fn counters(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .filter(|(k, _)| {
            let name = k.split('{').next().unwrap_or(k);
            ["_total", "_bucket", "_count", "_sum"]
                .iter()
                .any(|s| name.ends_with(s))
        })
        .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
        .collect()
}

/// The value of one series, written exactly as in the scrape.
pub fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The first place where a counter of `texts[i - 1]` is missing from
/// `texts[i]` or smaller there, said for a person.
pub fn first_regression(texts: &[String]) -> Option<String> {
    let mut prev = counters(texts.first()?);
    for (i, t) in texts.iter().enumerate().skip(1) {
        let now = counters(t);
        for (k, v) in &prev {
            match now.get(k) {
                Some(n) if n >= v => {}
                other => return Some(format!("scrape {i}: {k} went from {v} to {other:?}")),
            }
        }
        prev = now;
    }
    None
}
