//! Two campaigns side by side, target by target: did the change between them make the
//! targets faster, reach more code, find something?
//!
//! Coverage is also compared at the same moment of both runs (the later of the two runs'
//! shorter sample), since a longer campaign reaches more for that reason alone.

use std::fmt::Write as _;

use crate::record::{Campaign, TargetRecord};
use crate::report::{opt, thousands};

/// `cov` at `t` seconds: the last sample taken at or before `t`.
pub fn cov_at(t: &TargetRecord, at: u64) -> Option<u64> {
    t.samples
        .iter()
        .take_while(|s| s.t <= at)
        .filter_map(|s| s.cov)
        .last()
}

fn last_t(t: &TargetRecord) -> Option<u64> {
    t.samples.last().map(|s| s.t)
}

/// `a -> b (+d)`.
fn change(a: Option<u64>, b: Option<u64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => {
            let d = i128::from(b) - i128::from(a);
            format!("{} -> {} ({d:+})", thousands(a), thousands(b))
        }
        _ => format!("{} -> {}", opt(a), opt(b)),
    }
}

/// `a -> b (x1.23)`.
fn ratio(a: u64, b: u64) -> String {
    if a == 0 {
        return format!("{} -> {}", thousands(a), thousands(b));
    }
    // Two decimals, in integers: the same text on every machine.
    let r = (u128::from(b) * 100 + u128::from(a) / 2) / u128::from(a);
    format!(
        "{} -> {} (x{}.{:02})",
        thousands(a),
        thousands(b),
        r / 100,
        r % 100
    )
}

/// The comparison as Markdown: a headline for each campaign, then one row per target that
/// either ran.
pub fn compare(old: &Campaign, new: &Campaign, old_name: &str, new_name: &str) -> String {
    let mut s = format!(
        "# {old_name} -> {new_name}\n\n- OLD: {}\n- NEW: {}\n\n",
        crate::report::headline(old),
        crate::report::headline(new)
    );
    s.push_str(
        "| target | exec/s | cov at the same time | cov at the end | ft | corpus | findings |\n\
         |---|---|---|---|---|---|---|\n",
    );
    let mut names: Vec<&str> = old.targets.iter().map(|t| t.name.as_str()).collect();
    for t in &new.targets {
        if !names.contains(&t.name.as_str()) {
            names.push(&t.name);
        }
    }
    for name in names {
        match (old.target(name), new.target(name)) {
            (Some(a), Some(b)) => {
                let same = match (last_t(a), last_t(b)) {
                    (Some(x), Some(y)) => {
                        let at = x.min(y);
                        format!("{} at {at} s", change(cov_at(a, at), cov_at(b, at)))
                    }
                    _ => "-".into(),
                };
                let _ = writeln!(
                    s,
                    "| {name} | {} | {same} | {} | {} | {} | {} |",
                    ratio(a.exec_per_s, b.exec_per_s),
                    change(a.cov, b.cov),
                    change(a.ft, b.ft),
                    change(a.corpus, b.corpus),
                    change(Some(a.distinct), Some(b.distinct)),
                );
            }
            (Some(_), None) => {
                let _ = writeln!(s, "| {name} | only in OLD | | | | | |");
            }
            (None, Some(_)) => {
                let _ = writeln!(s, "| {name} | only in NEW | | | | | |");
            }
            (None, None) => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Sample;

    fn target(name: &str, exec: u64, cov: &[(u64, u64)]) -> TargetRecord {
        TargetRecord {
            name: name.into(),
            exec_per_s: exec,
            cov: cov.last().map(|&(_, c)| c),
            samples: cov
                .iter()
                .map(|&(t, c)| Sample {
                    t,
                    cov: Some(c),
                    ..Sample::default()
                })
                .collect(),
            ..TargetRecord::default()
        }
    }

    #[test]
    fn coverage_is_compared_at_the_same_moment_too() {
        let a = target("buddy", 1000, &[(10, 2000), (20, 2100), (60, 2400)]);
        let b = target("buddy", 1500, &[(10, 2050), (20, 2200)]);
        assert_eq!(cov_at(&a, 20), Some(2100));
        assert_eq!(cov_at(&a, 5), None);
        let old = Campaign {
            time_budget_s: 60,
            targets: vec![a, target("slab", 10, &[])],
            ..Campaign::default()
        };
        let new = Campaign {
            time_budget_s: 20,
            targets: vec![b, target("kmap", 5, &[(1, 7)])],
            ..Campaign::default()
        };
        let md = compare(&old, &new, "a", "b");
        assert!(md.starts_with("# a -> b\n"));
        assert!(
            md.contains("| buddy | 1,000 -> 1,500 (x1.50) | 2,100 -> 2,200 (+100) at 20 s | 2,400 -> 2,200 (-200) |"),
            "{md}"
        );
        assert!(md.contains("| slab | only in OLD |"), "{md}");
        assert!(md.contains("| kmap | only in NEW |"), "{md}");
    }

    #[test]
    fn ratios_round_and_survive_zero() {
        assert_eq!(ratio(3, 2), "3 -> 2 (x0.67)");
        assert_eq!(ratio(0, 2), "0 -> 2");
        assert_eq!(change(None, Some(3)), "- -> 3");
    }
}
