//! A verdict and its two renderings: the replay text and one JSON line (docs/scenario.md).

use std::fmt::Write as _;

use kmem_vocab::Report;

use crate::model::{FailureKind, MisuseKind};

#[derive(Clone, Debug)]
pub struct Step {
    pub line: u32,
    pub text: String,
    pub value: Option<u64>,
    pub reports: Vec<Report>,
    /// Warnings the kernel printed (not misuse reports): allocation failures and the like.
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub line: u32,
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Clone, Debug, Default)]
pub struct Verdict {
    pub steps: Vec<Step>,
    pub misuse: Vec<(u32, MisuseKind)>,
    pub failures: Vec<Failure>,
    pub tainted: bool,
}

impl Verdict {
    pub fn pass(&self) -> bool {
        self.failures.is_empty()
    }

    /// The failures, one line each: `line N: KIND: message`.
    pub fn explain(&self) -> String {
        let mut s = String::new();
        for f in &self.failures {
            let _ = writeln!(s, "line {}: {}: {}", f.line, f.kind.as_str(), f.message);
        }
        s
    }

    /// The replay text: every statement with its value, the kernel's output under it, the
    /// misuse found, then the verdict.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for st in &self.steps {
            let _ = write!(s, "{:>4}: {}", st.line, st.text);
            if let Some(v) = st.value {
                let _ = write!(s, "  -> {v:#x}");
            }
            s.push('\n');
            for w in &st.warnings {
                for l in w.lines() {
                    let _ = writeln!(s, "      {l}");
                }
            }
            for r in &st.reports {
                let _ = writeln!(s, "      [{}]", r.kind);
                for l in r.text.lines() {
                    let _ = writeln!(s, "      {l}");
                }
            }
        }
        for (line, k) in &self.misuse {
            let _ = writeln!(s, "misuse: line {line}: {}", k.as_str());
        }
        if self.tainted {
            s.push_str("tainted: the kernel's state is unpredictable after a misuse no check caught; only panics are judged from there\n");
        }
        let _ = writeln!(s, "verdict: {}", if self.pass() { "pass" } else { "fail" });
        for f in &self.failures {
            let _ = writeln!(s, "  line {}: {}: {}", f.line, f.kind.as_str(), f.message);
        }
        s
    }

    /// The JSON object of docs/scenario.md, on one line.
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\"verdict\": ");
        s.push_str(if self.pass() { "\"pass\"" } else { "\"fail\"" });
        s.push_str(", \"steps\": [");
        for (i, st) in self.steps.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let value = st
                .value
                .map_or("null".to_string(), |v| json_str(&format!("{v:#x}")));
            let _ = write!(
                s,
                "{{\"line\": {}, \"text\": {}, \"value\": {value}, \"reports\": [",
                st.line,
                json_str(&st.text)
            );
            for (k, r) in st.reports.iter().enumerate() {
                if k > 0 {
                    s.push_str(", ");
                }
                let _ = write!(
                    s,
                    "{{\"kind\": {}, \"text\": {}}}",
                    json_str(r.kind.as_str()),
                    json_str(&r.text)
                );
            }
            s.push_str("]}");
        }
        s.push_str("], \"misuse\": [");
        for (i, (line, k)) in self.misuse.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(
                s,
                "{{\"line\": {line}, \"kind\": {}}}",
                json_str(k.as_str())
            );
        }
        s.push_str("], \"failures\": [");
        for (i, f) in self.failures.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            let _ = write!(
                s,
                "{{\"line\": {}, \"kind\": {}, \"message\": {}}}",
                f.line,
                json_str(f.kind.as_str()),
                json_str(&f.message)
            );
        }
        s.push_str("]}");
        s
    }
}

/// A JSON string literal.
pub fn json_str(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}
