//! libFuzzer's status lines, as it prints them to stderr while it runs:
//!
//! ```text
//! #1024   pulse  cov: 2449 ft: 8000 corp: 300/12Kb lim: 4 exec/s: 512 rss: 60Mb
//! #3      NEW    cov: 1110 ft: 1111 corp: 2/3b lim: 4 exec/s: 0 rss: 30Mb L: 2/2 MS: 1 ChangeBit-
//! #12345: cov: 2000 ft: 5000 corp: 300 exec/s: 1000 oom/timeout/crash: 0/0/1 time: 10s job: 3 dft_time: 0
//! ```
//!
//! (libFuzzer puts a tab after the run count.) The first two are a single fuzzing process (`#RUNS EVENT key: value ...`); the last is
//! the parent of `-fork=N`, which sums its jobs. `-print_final_stats=1` adds `stat::NAME: V`
//! lines at exit ([`final_stats`]).

use std::collections::BTreeMap;

/// One status line, every field libFuzzer printed (absent ones are `None`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// Inputs executed so far by this process (the number after `#`).
    pub runs: u64,
    /// `INITED`, `NEW`, `pulse`, `REDUCE`, `DONE`, `RELOAD`...; `None` in fork mode.
    pub event: Option<String>,
    /// `cov:`: covered edges (PCs of the coverage instrumentation).
    pub cov: Option<u64>,
    /// `ft:`: features (edges, with hit-count buckets and value profiles).
    pub ft: Option<u64>,
    /// `corp: N/SIZE`: inputs in the in-memory corpus.
    pub corpus: Option<u64>,
    /// `corp: N/SIZE`: their total size in bytes (`b`, `Kb`, `Mb` are powers of 1024).
    pub corpus_bytes: Option<u64>,
    /// `exec/s:`: libFuzzer's own rate since the process started.
    pub exec_per_s: Option<u64>,
    /// `rss: NMb`.
    pub rss_mb: Option<u64>,
    /// Fork mode's `oom/timeout/crash: A/B/C`, summed.
    pub failures: Option<u64>,
}

/// Reads one status line; `None` for any other line libFuzzer prints.
pub fn parse_status(line: &str) -> Option<Status> {
    let rest = line.trim_end().strip_prefix('#')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let runs = rest[..digits].parse().ok()?;
    let rest = &rest[digits..];
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let mut st = Status {
        runs,
        ..Status::default()
    };
    let mut tokens = rest.split_whitespace().peekable();
    if let Some(t) = tokens.peek() {
        if !t.ends_with(':') {
            st.event = Some((*t).to_string());
            tokens.next();
        }
    }
    let mut seen_key = false;
    while let Some(key) = tokens.next() {
        let Some(key) = key.strip_suffix(':') else {
            continue;
        };
        let Some(value) = tokens.next() else { break };
        seen_key = true;
        match key {
            "cov" => st.cov = value.parse().ok(),
            "ft" => st.ft = value.parse().ok(),
            "corp" => {
                let (n, size) = value.split_once('/').unwrap_or((value, ""));
                st.corpus = n.parse().ok();
                st.corpus_bytes = parse_size(size);
            }
            "exec/s" => st.exec_per_s = value.parse().ok(),
            "rss" => st.rss_mb = value.strip_suffix("Mb").and_then(|v| v.parse().ok()),
            "oom/timeout/crash" => {
                st.failures = value
                    .split('/')
                    .map(|v| v.parse::<u64>().ok())
                    .sum::<Option<u64>>()
            }
            // `L:` and `MS:` describe the new input, not the campaign; the rest (`lim:`,
            // `time:`, `job:`, `dft_time:`, `focus:`) are not recorded.
            "L" | "MS" => break,
            _ => {}
        }
    }
    seen_key.then_some(st)
}

/// `12Kb` -> 12288; `3b` -> 3; `2Mb` -> 2 MiB.
fn parse_size(s: &str) -> Option<u64> {
    let (num, mult) = if let Some(n) = s.strip_suffix("Mb") {
        (n, 1 << 20)
    } else if let Some(n) = s.strip_suffix("Kb") {
        (n, 1 << 10)
    } else {
        (s.strip_suffix('b')?, 1)
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// The last status line of a log, if any.
pub fn last_status(log: &str) -> Option<Status> {
    log.lines().rev().find_map(parse_status)
}

/// The `stat::NAME: VALUE` lines of `-print_final_stats=1`, the last value of each name.
pub fn final_stats(log: &str) -> BTreeMap<String, u64> {
    log.lines()
        .filter_map(|l| {
            let (name, value) = l.trim().strip_prefix("stat::")?.split_once(':')?;
            Some((name.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_single_process_line() {
        let s = parse_status(
            "#1024\tpulse  cov: 2449 ft: 8000 corp: 300/12Kb lim: 4 exec/s: 512 rss: 60Mb",
        )
        .unwrap();
        assert_eq!(
            s,
            Status {
                runs: 1024,
                event: Some("pulse".into()),
                cov: Some(2449),
                ft: Some(8000),
                corpus: Some(300),
                corpus_bytes: Some(12 * 1024),
                exec_per_s: Some(512),
                rss_mb: Some(60),
                failures: None,
            }
        );
    }

    #[test]
    fn a_new_input_line_stops_at_its_own_fields() {
        let s = parse_status(
            "#3\tNEW    cov: 1110 ft: 1111 corp: 2/3b lim: 4 exec/s: 0 rss: 30Mb L: 2/2 MS: 1 ChangeBit-",
        )
        .unwrap();
        assert_eq!(s.event.as_deref(), Some("NEW"));
        assert_eq!(
            (s.runs, s.cov, s.corpus, s.corpus_bytes),
            (3, Some(1110), Some(2), Some(3))
        );
        assert_eq!(s.rss_mb, Some(30));
    }

    #[test]
    fn reads_a_fork_mode_line() {
        let s = parse_status(
            "#12345: cov: 2000 ft: 5000 corp: 300 exec/s: 1000 oom/timeout/crash: 0/2/1 time: 10s job: 3 dft_time: 0",
        )
        .unwrap();
        assert_eq!(s.runs, 12345);
        assert_eq!(s.event, None);
        assert_eq!(
            (s.cov, s.ft, s.corpus, s.corpus_bytes),
            (Some(2000), Some(5000), Some(300), None)
        );
        assert_eq!((s.exec_per_s, s.failures), (Some(1000), Some(3)));
    }

    #[test]
    fn other_lines_are_not_status_lines() {
        for l in [
            "INFO: Seed: 1234",
            "#",
            "#abc cov: 1",
            "#12",
            "#12\tINITED",
            "==123== ERROR: libFuzzer: deadly signal",
            "Done 1000 runs in 2 second(s)",
        ] {
            assert_eq!(parse_status(l), None, "{l}");
        }
    }

    #[test]
    fn sizes_and_the_last_line() {
        assert_eq!(parse_size("2Mb"), Some(2 << 20));
        assert_eq!(parse_size("17b"), Some(17));
        assert_eq!(parse_size("17"), None);
        let log = "#2\tINITED cov: 5 ft: 6 corp: 1/1b exec/s: 0 rss: 30Mb\nsomething\n#8\tNEW    cov: 7 ft: 9 corp: 2/2b lim: 4 exec/s: 0 rss: 30Mb L: 1/1 MS: 1 X-\nDone 8 runs\n";
        assert_eq!(
            last_status(log).map(|s| (s.runs, s.cov)),
            Some((8, Some(7)))
        );
        assert_eq!(last_status("nothing\n"), None);
    }

    #[test]
    fn final_stats_are_read() {
        let log = "stat::number_of_executed_units: 120904\nstat::average_exec_per_sec:     1982\nstat::peak_rss_mb: x\n";
        let m = final_stats(log);
        assert_eq!(m.get("number_of_executed_units"), Some(&120904));
        assert_eq!(m.get("average_exec_per_sec"), Some(&1982));
        assert_eq!(m.get("peak_rss_mb"), None);
    }
}
