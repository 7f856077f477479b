//! The campaign's report in Markdown: `report.md` (the table, the plots, the findings) and
//! `summary.md` (the table and the findings, for a CI job's step summary, where no picture
//! can be shown).

use std::fmt::Write as _;

use crate::record::{Campaign, TargetRecord};

/// `1234567` -> `1,234,567`.
pub fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A value or `-`.
pub fn opt(v: Option<u64>) -> String {
    v.map_or("-".into(), thousands)
}

/// Bytes as libFuzzer counts them: `b`, `KiB`, `MiB`.
fn size(v: u64) -> String {
    match v {
        v if v >= 10 << 20 => format!("{} MiB", v >> 20),
        v if v >= 10 << 10 => format!("{} KiB", v >> 10),
        v => format!("{v} b"),
    }
}

fn findings_cell(t: &TargetRecord) -> String {
    match (t.distinct, t.crash_inputs) {
        (0, 0) => "0".into(),
        (0, n) => format!("0 distinct ({n} inputs)"),
        (d, n) => format!("**{d}** ({} new; {n} inputs)", t.new),
    }
}

/// The per-target table.
pub fn table(c: &Campaign) -> String {
    let mut s = String::from(
        "| target | runs | exec/s | cov | ft | corpus | restarts | findings |\n\
         |---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for t in &c.targets {
        let corpus = match (t.corpus, t.corpus_bytes) {
            (Some(n), Some(b)) => format!("{} ({})", thousands(n), size(b)),
            (n, _) => opt(n),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            t.name,
            thousands(t.runs),
            thousands(t.exec_per_s),
            opt(t.cov),
            opt(t.ft),
            corpus,
            t.restarts,
            findings_cell(t)
        );
    }
    s
}

/// One line saying what the campaign was.
pub fn headline(c: &Campaign) -> String {
    let found: u64 = c.targets.iter().map(|t| t.distinct).sum();
    let new: u64 = c.targets.iter().map(|t| t.new).sum();
    let verdict = match found {
        0 => "**no findings**".to_string(),
        1 => format!("**1 finding** ({new} new)"),
        n => format!("**{n} findings** ({new} new)"),
    };
    let mut s = format!(
        "{} target{}, {} s each, {} job{}: {verdict}.",
        c.targets.len(),
        if c.targets.len() == 1 { "" } else { "s" },
        c.time_budget_s,
        c.jobs.max(1),
        if c.jobs > 1 { "s" } else { "" },
    );
    if let Some(flags) = c.libfuzzer_flags.as_deref().filter(|f| !f.is_empty()) {
        let _ = write!(s, " libFuzzer {flags}.");
    }
    if c.trace_compares == Some(false) {
        s.push_str(" No comparison tracing.");
    }
    if let Some(commit) = &c.commit {
        let _ = write!(s, " Commit {commit}.");
    }
    if let Some(started) = &c.started {
        let _ = write!(s, " Started {started}.");
    }
    s
}

fn findings(c: &Campaign) -> String {
    if c.findings.is_empty() {
        return "None.\n".into();
    }
    let mut s = String::new();
    for f in &c.findings {
        let tag = if f.status == "new" { "NEW" } else { "known" };
        let _ = writeln!(
            s,
            "- {}: {tag} `{}`: {}",
            f.target,
            f.path,
            f.signature.replace('|', "\\|")
        );
    }
    s
}

/// `report.md`: the headline, the table, the plots (by file name), the findings, the
/// columns explained.
pub fn report(c: &Campaign, plots: &[&str]) -> String {
    let mut s = format!("# Fuzzing campaign\n\n{}\n\n{}\n", headline(c), table(c));
    for p in plots {
        let _ = writeln!(s, "![{p}]({p})\n");
    }
    let _ = write!(s, "## Findings\n\n{}\n", findings(c));
    s.push_str(COLUMNS);
    s
}

/// `summary.md`: for `$GITHUB_STEP_SUMMARY`, also written on a night with no findings.
pub fn summary(c: &Campaign) -> String {
    format!(
        "### Fuzzing campaign\n\n{}\n\n{}\n#### Findings\n\n{}\n{COLUMNS}",
        headline(c),
        table(c),
        findings(c)
    )
}

const COLUMNS: &str = "Columns: `runs` inputs executed, `exec/s` their rate over the time \
libFuzzer ran, `cov` covered edges and `ft` features from libFuzzer's last status line, \
`corpus` the inputs libFuzzer kept (and their size), `restarts` how often a crash stopped \
libFuzzer and the campaign started it again, `findings` distinct failures after triage (and \
the crash, timeout and OOM inputs behind them).\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Finding;

    fn campaign() -> Campaign {
        Campaign {
            time_budget_s: 60,
            jobs: 1,
            commit: Some("abc1234".into()),
            targets: vec![
                TargetRecord {
                    name: "buddy".into(),
                    runs: 120904,
                    seconds: 61,
                    exec_per_s: 1982,
                    cov: Some(2511),
                    ft: Some(8100),
                    corpus: Some(1608),
                    corpus_bytes: Some(233 << 10),
                    ..TargetRecord::default()
                },
                TargetRecord {
                    name: "slab".into(),
                    runs: 5,
                    crash_inputs: 3,
                    distinct: 1,
                    new: 1,
                    restarts: 2,
                    ..TargetRecord::default()
                },
            ],
            findings: vec![Finding {
                target: "slab".into(),
                status: "new".into(),
                path: "corpus/regressions/slab-1.kmem".into(),
                signature: "missed-report: a|b".into(),
            }],
            ..Campaign::default()
        }
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(4238561), "4,238,561");
        assert_eq!(size(3), "3 b");
        assert_eq!(size(233 << 10), "233 KiB");
        assert_eq!(size(12 << 20), "12 MiB");
    }

    #[test]
    fn the_table_has_a_row_per_target() {
        let t = table(&campaign());
        assert!(
            t.contains("| buddy | 120,904 | 1,982 | 2,511 | 8,100 | 1,608 (233 KiB) | 0 | 0 |"),
            "{t}"
        );
        assert!(
            t.contains("| slab | 5 | 0 | - | - | - | 2 | **1** (1 new; 3 inputs) |"),
            "{t}"
        );
    }

    #[test]
    fn report_and_summary_say_what_was_found() {
        let c = campaign();
        let r = report(&c, &["coverage.svg"]);
        assert!(r.contains("2 targets, 60 s each, 1 job: **1 finding** (1 new). Commit abc1234."));
        assert!(r.contains("![coverage.svg](coverage.svg)"));
        assert!(r.contains("- slab: NEW `corpus/regressions/slab-1.kmem`: missed-report: a\\|b"));
        let s = summary(&c);
        assert!(s.starts_with("### Fuzzing campaign"));
        assert!(!s.contains(".svg"));
        let mut clean = c.clone();
        clean.findings.clear();
        clean.targets.truncate(1);
        let s = summary(&clean);
        assert!(
            s.contains("1 target, 60 s each, 1 job: **no findings**."),
            "{s}"
        );
        assert!(s.contains("#### Findings\n\nNone."));
    }

    #[test]
    fn the_headline_names_the_search_options() {
        let mut c = campaign();
        c.libfuzzer_flags = Some("-entropic=0".into());
        assert!(headline(&c)
            .contains("1 job: **1 finding** (1 new). libFuzzer -entropic=0. Commit abc1234."));
        c.libfuzzer_flags = Some(String::new());
        assert!(headline(&c).contains("(1 new). Commit abc1234."));
    }

    #[test]
    fn the_headline_says_when_comparisons_were_not_traced() {
        let mut c = campaign();
        c.libfuzzer_flags = Some("-entropic=0".into());
        c.trace_compares = Some(false);
        assert!(headline(&c).contains("libFuzzer -entropic=0. No comparison tracing. Commit"));
        for traced in [Some(true), None] {
            c.trace_compares = traced;
            assert!(headline(&c).contains("libFuzzer -entropic=0. Commit"));
        }
    }
}
