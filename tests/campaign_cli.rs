//! `kmemfuzz campaign` as scripts/fuzz and the nightly workflow run it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_kmemfuzz"))
        .arg("campaign")
        .args(args)
        .output()
        .expect("run kmemfuzz campaign");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A campaign directory as scripts/fuzz leaves it, one target.
fn raw_campaign(name: &str, target: &str, cov: u64) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kmem-campaign-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let w = |f: &str, t: String| std::fs::write(d.join(f), t).unwrap();
    w(
        "meta",
        format!("time_budget_s=4\njobs=1\nsample_every_s=1\ntargets={target}\ncommit=abc\n"),
    );
    let line = |runs: u64, cov: u64| {
        format!(
            "#{runs}\tpulse  cov: {cov} ft: {} corp: 10/1Kb lim: 4 exec/s: 100 rss: 30Mb",
            cov * 3
        )
    };
    w(
        &format!("{target}.samples"),
        format!(
            "1 0 0 -\n2 0 0 {}\n4 0 0 {}\n",
            line(200, cov - 5),
            line(400, cov)
        ),
    );
    w(&format!("{target}.end"), "runs=400\nseconds=4\n".into());
    w("findings.tsv", String::new());
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn report_writes_the_record_the_report_and_the_plots() {
    let d = raw_campaign("report", "buddy", 2000);
    let (code, out, err) = run(&["report", s(&d)]);
    assert_eq!(code, 0, "{err}");
    for f in ["report.md", "summary.md", "coverage.svg", "exec-rate.svg"] {
        assert!(out.contains(f), "{out}");
        assert!(d.join(f).exists(), "{f}");
    }
    let json = std::fs::read_to_string(d.join("campaign.json")).unwrap();
    assert!(json.contains("\"cov\": 2000"), "{json}");
    let summary = std::fs::read_to_string(d.join("summary.md")).unwrap();
    assert!(
        summary.contains("| buddy | 400 | 100 | 2,000 | 6,000 |"),
        "{summary}"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn merge_then_compare() {
    let a = raw_campaign("a", "buddy", 2000);
    let b = raw_campaign("b", "slab", 3000);
    let m = std::env::temp_dir().join(format!("kmem-campaign-cli-{}-merged", std::process::id()));
    let (code, _, err) = run(&["merge", s(&m), s(&a), s(&b)]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&["compare", s(&a), s(&m)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("| buddy | 100 -> 100 (x1.00) | 2,000 -> 2,000 (+0) at 4 s |"),
        "{out}"
    );
    assert!(out.contains("| slab | only in NEW |"), "{out}");
    for d in [a, b, m] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn errors_are_one_line_and_exit_2() {
    let (code, _, err) = run(&["compare", "/no/such/dir", "/no/such/other"]);
    assert_eq!(
        (code, err.as_str()),
        (2, "kmemfuzz: /no/such/dir: no such file\n")
    );
    let (code, _, err) = run(&["report", "/no/such/dir"]);
    assert_eq!(
        (code, err.as_str()),
        (2, "kmemfuzz: /no/such/dir: not a campaign directory\n")
    );
    let (code, _, err) = run(&["frobnicate"]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1);
}

/// scripts/fuzz refuses an `--out` directory that holds another campaign's record (its report
/// would be built from that record) before it builds anything.
#[test]
fn scripts_fuzz_refuses_a_directory_holding_a_campaign() {
    let d = raw_campaign("taken", "buddy", 100);
    let o = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fuzz"))
        .args(["--targets", "buddy", "--time", "1", "--out"])
        .arg(&d)
        .output()
        .expect("run scripts/fuzz");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("already holds a campaign (meta)"), "{err}");
    let _ = std::fs::remove_dir_all(d);
}
