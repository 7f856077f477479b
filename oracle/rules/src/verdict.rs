//! A verdict, and the JSON line of docs/scenario.md's fields (the replay text and the full
//! JSON, with what kmemfuzz adds, are rendered by the `kmemfuzz` command).

use std::fmt::Write as _;

use kmem_vocab::{Report, Silenced};

use crate::model::{FailureKind, MisuseKind};

#[derive(Clone, Debug)]
pub struct Step {
    pub line: u32,
    pub text: String,
    pub value: Option<u64>,
    pub reports: Vec<Report>,
    /// Reports the kernel's checks raised and did not print (a once-only WARN that fired
    /// before, a rate limit), each accepted by the checker as the report it stands for.
    pub silenced: Vec<Silenced>,
    /// Warnings the kernel printed (not misuse reports): allocation failures and the like.
    pub warnings: Vec<String>,
    /// The statement's index, from 1: the caller (`op_<N>`) SLUB's tracks record for it.
    pub op: u32,
    /// What a `read` returned (None for other statements and for a read that faulted).
    pub read: Option<ReadBytes>,
}

/// The bytes a `read` statement returned, for the hex dump of replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadBytes {
    pub addr: u64,
    /// How many bytes were read; `bytes` keeps at most [`ReadBytes::KEPT`] of them.
    pub len: u64,
    pub bytes: Vec<u8>,
}

impl ReadBytes {
    pub const KEPT: usize = 4096;
    /// Bytes of a read the replay text shows.
    pub const SHOWN: usize = 256;

    /// A `read`'s bytes as print_hex_dump() with DUMP_PREFIX_ADDRESS shows them: 16 bytes a line,
    /// then the printable characters; a line the same as the one before is shown once, and `*`
    /// stands for its repeats (as hexdump(1) does). At most `max` bytes are shown.
    pub fn hex_dump(&self, i386: bool, max: usize) -> Vec<String> {
        let r = self;
        let width = if i386 { 8 } else { 16 };
        let shown = &r.bytes[..r.bytes.len().min(max)];
        let mut out = Vec::new();
        let mut prev: Option<&[u8]> = None;
        let mut starred = false;
        for (i, chunk) in shown.chunks(16).enumerate() {
            let full = chunk.len() == 16;
            if full && prev == Some(chunk) {
                if !starred {
                    out.push("*".to_string());
                    starred = true;
                }
                continue;
            }
            prev = Some(chunk);
            starred = false;
            let addr = r.addr.wrapping_add(16 * i as u64);
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if (0x20..0x7f).contains(&b) {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            out.push(format!("{addr:0width$x}: {:<47}  {ascii}", hex.join(" ")));
        }
        if starred {
            // Where the repeated lines end, as hexdump(1) closes a dump.
            let end = r.addr.wrapping_add(shown.len() as u64);
            out.push(format!("{end:0width$x}"));
        }
        if (shown.len() as u64) < r.len {
            out.push(format!(
                "... {} more bytes not shown",
                r.len - shown.len() as u64
            ));
        }
        out
    }
}

/// Why the model stopped predicting the kernel's state (DESIGN.md, "Taint").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaintCause {
    /// A misuse whose effect the model cannot follow.
    Misuse,
    /// The kernel printed a report the model allowed there but could not pin down.
    AllowedReport,
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
    /// The line of the statement after which the state was no longer predicted, and why.
    pub taint: Option<(u32, TaintCause)>,
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
