// SPDX-License-Identifier: Apache-2.0 OR MIT
//! prometheus-client writes OpenMetrics text; scrapers that do not ask
//! for it (curl, `promtool check metrics`, older Prometheus servers)
//! read the classic text format 0.0.4, where a counter's HELP and TYPE
//! name the `_total` sample itself and there is no `# EOF`. This turns
//! the one into the other, line by line, in the order written (the
//! writer streams the table in its own order, the same every scrape).

use std::borrow::Cow;
use std::collections::BTreeSet;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn from_openmetrics(text: &str) -> String {
    let counters: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut words = rest.splitn(3, ' ');
            let (kind, name, tail) = (words.next(), words.next(), words.next());
            // `# UNIT` and `# EOF` are OpenMetrics only: dropped.
            if let (Some(kind @ ("HELP" | "TYPE")), Some(name)) = (kind, name) {
                let total = if counters.contains(name) {
                    "_total"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "# {kind} {name}{total} {}\n",
                    tail.unwrap_or_default()
                ));
            }
            continue;
        }
        // A series without labels is written `name{} value` by the encoder.
        let line: Cow<'_, str> = match line.split_once("{} ") {
            Some((name, value)) => Cow::Owned(format!("{name} {value}")),
            None => Cow::Borrowed(line),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_by_their_sample_and_eof_goes() {
        let om = "# HELP k_reloads Reloads.\n# TYPE k_reloads counter\n\
                  k_reloads_total{result=\"refused\"} 0\nk_reloads_total{result=\"ok\"} 2\n\
                  # HELP k_gen Generation.\n# TYPE k_gen gauge\nk_gen{} 1\n# EOF\n";
        assert_eq!(
            from_openmetrics(om),
            "# HELP k_reloads_total Reloads.\n# TYPE k_reloads_total counter\n\
             k_reloads_total{result=\"refused\"} 0\nk_reloads_total{result=\"ok\"} 2\n\
             # HELP k_gen Generation.\n# TYPE k_gen gauge\nk_gen 1\n"
        );
    }
}
