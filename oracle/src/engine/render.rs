//! An engine scenario's replay text: its `engine` line, every statement with its value and
//! the notes under it, the client's misuse, then the verdict with every failure.

use std::fmt::Write as _;

use super::text::EngineScenario;
use crate::verdict::Verdict;

pub fn engine_text(s: &EngineScenario, v: &Verdict) -> String {
    let mut out = s.header();
    out.push('\n');
    for st in &v.steps {
        let _ = write!(out, "{:>4}: {}", st.line, st.text);
        if let Some(val) = st.value {
            let _ = write!(out, "  -> {val:#x}");
        }
        out.push('\n');
        for w in &st.warnings {
            let _ = writeln!(out, "      {w}");
        }
    }
    for (line, k) in &v.misuse {
        let _ = writeln!(out, "misuse: line {line}: {}", k.as_str());
    }
    let _ = writeln!(out, "verdict: {}", if v.pass() { "pass" } else { "fail" });
    for f in &v.failures {
        let _ = writeln!(out, "  line {}: {}: {}", f.line, f.kind.as_str(), f.message);
    }
    out
}
