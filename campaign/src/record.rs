//! The record of one campaign: per target, what libFuzzer reported at each sampling interval
//! and at the end, and the findings. `scripts/fuzz` leaves raw files in the campaign's
//! directory and [`from_dir`] turns them into a [`Campaign`], saved as `campaign.json`.
//!
//! Raw files (all text, written by `scripts/fuzz`):
//! - `meta`: `key=value` lines: `time_budget_s`, `jobs`, `sample_every_s`, `targets`
//!   (space-separated, in campaign order), `started`, `commit`, `libfuzzer_flags` (the
//!   options every libFuzzer run got beside the campaign's own; absent before they were
//!   recorded), `trace_compares` (1 when the targets were built with libFuzzer's comparison
//!   tracing, 0 without; absent before it was recorded);
//! - `TARGET.samples`: one line per sample, `ELAPSED BASE_RUNS CRASH_FILES STATUS`, where
//!   ELAPSED is seconds since the target started, BASE_RUNS the inputs run by the libFuzzer
//!   processes that ended before (a crash restarts it), CRASH_FILES the crash, timeout and
//!   OOM inputs written so far, and STATUS the last status line of the running process, or
//!   `-` when it has printed none yet;
//! - `TARGET.end`: `key=value` lines: `runs`, `seconds` (time libFuzzer ran), `crash_inputs`,
//!   `distinct`, `new`, `known` (findings after triage), `restarts`;
//! - `TARGET.log`: libFuzzer's output (its last status line gives the final coverage);
//! - `findings.tsv`: `TARGET<TAB>new|known<TAB>PATH<TAB>SIGNATURE` per distinct finding.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::status::{last_status, parse_status, Status};

/// The version of the JSON layout below.
pub const FORMAT: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Campaign {
    pub format: u32,
    /// When it started (UTC, as `scripts/fuzz` wrote it).
    pub started: Option<String>,
    /// The commit it fuzzed.
    pub commit: Option<String>,
    pub time_budget_s: u64,
    pub jobs: u64,
    pub sample_every_s: u64,
    /// The search options every libFuzzer run got (`-entropic=0`, ...); None in records
    /// made before they were recorded.
    pub libfuzzer_flags: Option<String>,
    /// Whether the targets were built with libFuzzer's comparison tracing; None in records
    /// made before it was recorded.
    pub trace_compares: Option<bool>,
    pub targets: Vec<TargetRecord>,
    pub findings: Vec<Finding>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TargetRecord {
    pub name: String,
    /// Inputs executed, every libFuzzer process of the target together.
    pub runs: u64,
    /// Seconds libFuzzer ran.
    pub seconds: u64,
    /// `runs / seconds`.
    pub exec_per_s: u64,
    /// From the last status line: covered edges, features, corpus inputs and bytes, memory.
    pub cov: Option<u64>,
    pub ft: Option<u64>,
    pub corpus: Option<u64>,
    pub corpus_bytes: Option<u64>,
    pub rss_mb: Option<u64>,
    /// Crash, timeout and OOM inputs written.
    pub crash_inputs: u64,
    /// Distinct failures after triage, and how many of them were new.
    pub distinct: u64,
    pub new: u64,
    pub known: u64,
    /// How often a crash stopped libFuzzer and the campaign started it again.
    pub restarts: u64,
    pub samples: Vec<Sample>,
}

/// One sampling interval of one target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sample {
    /// Seconds since the target started.
    pub t: u64,
    /// Inputs executed so far.
    pub execs: u64,
    /// Inputs executed per second over this interval (since the previous sample).
    pub exec_per_s: u64,
    pub cov: Option<u64>,
    pub ft: Option<u64>,
    pub corpus: Option<u64>,
    /// Crash, timeout and OOM inputs written so far.
    pub crashes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub target: String,
    /// `new` (a reproducer was written) or `known` (one under corpus/regressions/ has it).
    pub status: String,
    /// The reproducer.
    pub path: String,
    /// The failure, one line, values taken out.
    pub signature: String,
}

/// Reads `key=value` lines (blank lines and `#` comments skipped).
fn read_kv(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = read(path)?;
    let mut m = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("{}:{}: expected key=value", path.display(), i + 1))?;
        m.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(m)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {}", path.display(), reason(&e)))
}

/// A short reason for an I/O error.
pub fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// A number from a `key=value` map; absent is 0.
fn num(m: &BTreeMap<String, String>, key: &str, path: &Path) -> Result<u64, String> {
    match m.get(key) {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{}: {key}={v} is not a number", path.display())),
    }
}

/// Parses a `.samples` file into samples, rates computed between consecutive samples. Two
/// samples in the same second keep the later one.
pub fn parse_samples(text: &str, path: &Path) -> Result<Vec<Sample>, String> {
    let mut out: Vec<Sample> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |what: &str| format!("{}:{}: {what}", path.display(), i + 1);
        let mut f = line.splitn(4, ' ');
        let mut field = |name: &str| -> Result<u64, String> {
            f.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad(&format!("expected {name} (a number)")))
        };
        let t = field("ELAPSED")?;
        let base = field("BASE_RUNS")?;
        let crashes = field("CRASH_FILES")?;
        let status = match f.next().map(str::trim) {
            None | Some("-") | Some("") => Status::default(),
            Some(s) => parse_status(s).ok_or_else(|| bad("not a libFuzzer status line"))?,
        };
        let execs = base.saturating_add(status.runs);
        let mut s = Sample {
            t,
            execs,
            exec_per_s: 0,
            cov: status.cov,
            ft: status.ft,
            corpus: status.corpus,
            crashes,
        };
        while out.last().is_some_and(|p| p.t >= t) {
            out.pop();
        }
        let (t0, e0) = out.last().map_or((0, 0), |p| (p.t, p.execs));
        s.exec_per_s = execs.saturating_sub(e0) / (t - t0).max(1);
        out.push(s);
    }
    Ok(out)
}

/// Builds the record of the campaign whose raw files are in `dir`.
pub fn from_dir(dir: &Path) -> Result<Campaign, String> {
    let meta_path = dir.join("meta");
    let meta = read_kv(&meta_path)?;
    let names: Vec<String> = meta
        .get("targets")
        .map(|t| t.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    if names.is_empty() {
        return Err(format!("{}: no targets=", meta_path.display()));
    }
    let mut c = Campaign {
        format: FORMAT,
        started: meta.get("started").cloned(),
        commit: meta.get("commit").cloned(),
        time_budget_s: num(&meta, "time_budget_s", &meta_path)?,
        jobs: num(&meta, "jobs", &meta_path)?,
        sample_every_s: num(&meta, "sample_every_s", &meta_path)?,
        libfuzzer_flags: meta.get("libfuzzer_flags").cloned(),
        trace_compares: match meta.get("trace_compares").map(String::as_str) {
            None => None,
            Some("0") => Some(false),
            Some("1") => Some(true),
            Some(v) => {
                return Err(format!(
                    "{}: trace_compares={v} is neither 0 nor 1",
                    meta_path.display()
                ))
            }
        },
        ..Campaign::default()
    };
    for name in names {
        let samples_path = dir.join(format!("{name}.samples"));
        // A target the campaign did not reach (interrupted) has no files: it is left out.
        if !samples_path.exists() {
            continue;
        }
        let samples = parse_samples(&read(&samples_path)?, &samples_path)?;
        let end_path = dir.join(format!("{name}.end"));
        let end = if end_path.exists() {
            read_kv(&end_path)?
        } else {
            BTreeMap::new()
        };
        let log_path = dir.join(format!("{name}.log"));
        let last = if log_path.exists() {
            let bytes = std::fs::read(&log_path)
                .map_err(|e| format!("{}: {}", log_path.display(), reason(&e)))?;
            last_status(&String::from_utf8_lossy(&bytes))
        } else {
            None
        }
        .unwrap_or_default();
        let tail = samples.last();
        let runs = match num(&end, "runs", &end_path)? {
            0 => tail.map_or(0, |s| s.execs),
            r => r,
        };
        let seconds = match num(&end, "seconds", &end_path)? {
            0 => tail.map_or(0, |s| s.t),
            s => s,
        };
        let crash_inputs = match num(&end, "crash_inputs", &end_path)? {
            0 => tail.map_or(0, |s| s.crashes),
            n => n,
        };
        c.targets.push(TargetRecord {
            exec_per_s: runs / seconds.max(1),
            cov: last.cov.or(tail.and_then(|s| s.cov)),
            ft: last.ft.or(tail.and_then(|s| s.ft)),
            corpus: last.corpus.or(tail.and_then(|s| s.corpus)),
            corpus_bytes: last.corpus_bytes,
            rss_mb: last.rss_mb,
            crash_inputs,
            distinct: num(&end, "distinct", &end_path)?,
            new: num(&end, "new", &end_path)?,
            known: num(&end, "known", &end_path)?,
            restarts: num(&end, "restarts", &end_path)?,
            name,
            runs,
            seconds,
            samples,
        });
    }
    let findings_path = dir.join("findings.tsv");
    if findings_path.exists() {
        for (i, line) in read(&findings_path)?.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.splitn(4, '\t').collect();
            let [target, status, path, signature] = f[..] else {
                return Err(format!(
                    "{}:{}: expected TARGET, STATUS, PATH and SIGNATURE separated by tabs",
                    findings_path.display(),
                    i + 1
                ));
            };
            c.findings.push(Finding {
                target: target.into(),
                status: status.into(),
                path: path.into(),
                signature: signature.into(),
            });
        }
    }
    Ok(c)
}

impl Campaign {
    /// The record as JSON (pretty-printed, fields in declaration order).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a record: `campaign.json` itself, or a campaign directory (its `campaign.json`,
    /// or its raw files when there is none yet).
    pub fn load(path: &Path) -> Result<Campaign, String> {
        let file = if path.is_dir() {
            let json = path.join("campaign.json");
            if !json.exists() {
                return from_dir(path);
            }
            json
        } else {
            path.to_path_buf()
        };
        let text = read(&file)?;
        let c: Campaign = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: {}",
                file.display(),
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            )
        })?;
        if c.format != FORMAT {
            return Err(format!(
                "{}: record format {} (this program reads {FORMAT})",
                file.display(),
                c.format
            ));
        }
        Ok(c)
    }

    /// One record of several campaigns run side by side (a CI matrix, one target each):
    /// their targets and findings in the order given, the longest time budget, the most
    /// jobs, the first commit and the earliest start.
    pub fn merge(parts: &[Campaign]) -> Campaign {
        Campaign {
            format: FORMAT,
            started: parts.iter().filter_map(|c| c.started.clone()).min(),
            commit: parts.iter().find_map(|c| c.commit.clone()),
            time_budget_s: parts.iter().map(|c| c.time_budget_s).max().unwrap_or(0),
            jobs: parts.iter().map(|c| c.jobs).max().unwrap_or(0),
            sample_every_s: parts.iter().map(|c| c.sample_every_s).max().unwrap_or(0),
            libfuzzer_flags: parts.iter().find_map(|c| c.libfuzzer_flags.clone()),
            trace_compares: parts.iter().find_map(|c| c.trace_compares),
            targets: parts.iter().flat_map(|c| c.targets.clone()).collect(),
            findings: parts.iter().flat_map(|c| c.findings.clone()).collect(),
        }
    }

    pub fn target(&self, name: &str) -> Option<&TargetRecord> {
        self.targets.iter().find(|t| t.name == name)
    }
}

/// serde_json's message without its trailing " at line L column C".
fn strip_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str =
        "#2048\tpulse  cov: 2000 ft: 5000 corp: 300/12Kb lim: 4 exec/s: 1024 rss: 60Mb";

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("kmem-campaign-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn samples_give_interval_rates_and_survive_a_restart() {
        // The second line is replaced by the third, taken in the same second.
        let text = format!(
            "1 0 0 -\n2 0 0 {}\n2 0 0 {LINE}\n4 2048 1 -\n6 2048 1 #1000\tpulse  cov: 2100 ft: 5100 corp: 310/13Kb lim: 4 exec/s: 500 rss: 61Mb\n",
            LINE.replace("#2048", "#1024").replace("cov: 2000", "cov: 1900")
        );
        let s = parse_samples(&text, Path::new("x.samples")).unwrap();
        assert_eq!(s.len(), 4, "{s:?}");
        assert_eq!((s[0].t, s[0].execs, s[0].cov), (1, 0, None));
        assert_eq!(
            (s[1].t, s[1].execs, s[1].exec_per_s, s[1].cov),
            (2, 2048, 2048, Some(2000))
        );
        // Restarted after a crash: the base carries the first process's runs.
        assert_eq!(
            (s[2].t, s[2].execs, s[2].exec_per_s, s[2].crashes),
            (4, 2048, 0, 1)
        );
        assert_eq!(
            (s[3].execs, s[3].exec_per_s, s[3].ft),
            (3048, 500, Some(5100))
        );
    }

    #[test]
    fn bad_sample_lines_name_file_and_line() {
        let e = parse_samples("1 0 0 -\nx 0 0 -\n", Path::new("a.samples")).unwrap_err();
        assert_eq!(e, "a.samples:2: expected ELAPSED (a number)");
        let e = parse_samples("1 0 0 garbage\n", Path::new("a.samples")).unwrap_err();
        assert_eq!(e, "a.samples:1: not a libFuzzer status line");
    }

    #[test]
    fn a_directory_becomes_a_record_and_round_trips_through_json() {
        let d = scratch("dir");
        std::fs::write(
            d.join("meta"),
            "time_budget_s=20\njobs=1\nsample_every_s=1\ntargets=buddy slab kmap\nstarted=2025-01-01T00:00:00Z\ncommit=abc\nlibfuzzer_flags=-entropic=0\ntrace_compares=0\n",
        )
        .unwrap();
        std::fs::write(d.join("buddy.samples"), format!("1 0 0 -\n2 0 0 {LINE}\n")).unwrap();
        std::fs::write(
            d.join("buddy.end"),
            "runs=40000\nseconds=20\ncrash_inputs=2\ndistinct=1\nnew=1\nknown=0\nrestarts=1\n",
        )
        .unwrap();
        std::fs::write(
            d.join("buddy.log"),
            format!("{LINE}\n#40000\tDONE   cov: 2222 ft: 5555 corp: 333/14Kb lim: 4 exec/s: 2000 rss: 70Mb\nDone\n"),
        )
        .unwrap();
        std::fs::write(d.join("slab.samples"), "1 0 0 -\n").unwrap();
        std::fs::write(
            d.join("findings.tsv"),
            "buddy\tnew\tcorpus/regressions/buddy-1.kmem\tbuddyinfo: zone Normal\n",
        )
        .unwrap();
        let c = from_dir(&d).unwrap();
        assert_eq!(c.targets.len(), 2, "kmap never ran and is left out");
        let b = c.target("buddy").unwrap();
        assert_eq!((b.runs, b.seconds, b.exec_per_s), (40000, 20, 2000));
        assert_eq!(
            (b.cov, b.ft, b.corpus, b.rss_mb),
            (Some(2222), Some(5555), Some(333), Some(70))
        );
        assert_eq!(
            (b.crash_inputs, b.distinct, b.new, b.restarts),
            (2, 1, 1, 1)
        );
        let s = c.target("slab").unwrap();
        assert_eq!((s.runs, s.cov), (0, None));
        assert_eq!(c.findings[0].signature, "buddyinfo: zone Normal");
        assert_eq!(c.libfuzzer_flags.as_deref(), Some("-entropic=0"));
        assert_eq!(c.trace_compares, Some(false));
        std::fs::write(d.join("campaign.json"), c.to_json()).unwrap();
        assert_eq!(Campaign::load(&d).unwrap(), c);
        assert_eq!(Campaign::load(&d.join("campaign.json")).unwrap(), c);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn campaigns_run_side_by_side_merge_into_one() {
        let part = |name: &str, started: &str, budget| Campaign {
            format: FORMAT,
            started: Some(started.into()),
            commit: Some("abc".into()),
            time_budget_s: budget,
            jobs: 2,
            targets: vec![TargetRecord {
                name: name.into(),
                ..TargetRecord::default()
            }],
            findings: vec![Finding {
                target: name.into(),
                status: "new".into(),
                path: format!("{name}.kmem"),
                signature: "s".into(),
            }],
            ..Campaign::default()
        };
        let m = Campaign::merge(&[
            part("buddy", "2025-01-02T00:00:00Z", 1800),
            part("slab", "2025-01-01T23:59:00Z", 600),
        ]);
        let names: Vec<&str> = m.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["buddy", "slab"]);
        assert_eq!(m.findings.len(), 2);
        assert_eq!((m.time_budget_s, m.jobs), (1800, 2));
        assert_eq!(m.started.as_deref(), Some("2025-01-01T23:59:00Z"));
        assert_eq!(Campaign::merge(&[]).targets.len(), 0);
    }

    #[test]
    fn bad_records_are_one_line_errors_with_a_position() {
        let d = scratch("bad");
        std::fs::write(
            d.join("campaign.json"),
            "{\n  \"format\": 1,\n  \"jobs\": \"two\"\n}\n",
        )
        .unwrap();
        let e = Campaign::load(&d).unwrap_err();
        assert!(e.contains("campaign.json:3:"), "{e}");
        assert!(!e.contains('\n') && !e.contains(" at line "), "{e}");
        std::fs::write(d.join("campaign.json"), "{\"format\": 9}").unwrap();
        let e = Campaign::load(&d).unwrap_err();
        assert!(e.ends_with("record format 9 (this program reads 1)"), "{e}");
        std::fs::remove_file(d.join("campaign.json")).unwrap();
        std::fs::write(d.join("meta"), "jobs=1\n").unwrap();
        assert!(Campaign::load(&d)
            .unwrap_err()
            .ends_with("meta: no targets="));
        std::fs::write(d.join("meta"), "targets=a\njobs\n").unwrap();
        assert!(Campaign::load(&d)
            .unwrap_err()
            .ends_with("meta:2: expected key=value"));
        std::fs::write(d.join("meta"), "targets=a\ntrace_compares=yes\n").unwrap();
        assert!(Campaign::load(&d)
            .unwrap_err()
            .ends_with("meta: trace_compares=yes is neither 0 nor 1"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
