//! The replay text: the boot line with every default, each statement with its value, the
//! kernel's warnings and reports under it, the bytes a `read` returned, what the client did
//! wrong and what became of it, the taint, then the verdict.

use std::fmt::Write as _;

use kmem::{Arch, BootConfig};
use kmem_oracle::{ReadBytes, TaintCause, Verdict};

use crate::caught::{Catch, MisuseNote};

/// Bytes of a `read` shown in the text; the JSON carries all that the verdict kept.
pub const SHOWN: usize = ReadBytes::SHOWN;

pub fn text(boot: &BootConfig, v: &Verdict, notes: &[MisuseNote]) -> String {
    let mut s = format!("{}\n", crate::layout::boot_line(boot));
    for st in &v.steps {
        let _ = write!(s, "{:>4}: {}", st.line, st.text);
        if let Some(v) = st.value {
            let _ = write!(s, "  -> {v:#x}");
        }
        s.push('\n');
        if let Some(r) = &st.read {
            for l in hex_dump(r, boot.arch, SHOWN) {
                let _ = writeln!(s, "      {l}");
            }
        }
        for w in &st.warnings {
            for l in w.lines() {
                let _ = writeln!(s, "      {l}");
            }
        }
        let mut said = Vec::new();
        for r in &st.reports {
            let _ = writeln!(s, "      [{}]", r.kind);
            for l in r.text.lines() {
                let _ = writeln!(s, "      {l}");
            }
            if let Some(l) = callers_line(&r.text, v, &mut said) {
                let _ = writeln!(s, "      {l}");
            }
        }
        for (q, n) in grouped(&st.silenced) {
            let _ = writeln!(s, "      [{}]", q.kind);
            let times = if n > 1 {
                format!("{n} reports ")
            } else {
                String::new()
            };
            let _ = writeln!(s, "      kmemfuzz: {times}{}", silenced_line(q));
        }
    }
    for n in notes {
        let _ = writeln!(s, "misuse: {}", misuse_line(n));
    }
    if let Some(t) = taint_line(v) {
        let _ = writeln!(s, "tainted: {t}");
    }
    let _ = writeln!(s, "verdict: {}", if v.pass() { "pass" } else { "fail" });
    for f in &v.failures {
        let _ = writeln!(s, "  line {}: {}: {}", f.line, f.kind.as_str(), f.message);
    }
    s
}

/// The statements a report's `op_<N>` symbols name (SLUB's `Allocated in` / `Freed in`, the
/// Call Trace's frame), as kmemfuzz's own line under the kernel's text: `kmemfuzz: op_2 is
/// line 4: p = ...`. Each is said once per statement: `said` holds those already said.
pub fn callers_line(text: &str, v: &Verdict, said: &mut Vec<u32>) -> Option<String> {
    let mut named: Vec<u32> = Vec::new();
    for part in text.split("op_").skip(1) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if !part[digits.len()..].starts_with("+0x0/0x1") {
            continue;
        }
        if let Ok(n) = digits.parse::<u32>() {
            if !named.contains(&n) && !said.contains(&n) {
                named.push(n);
            }
        }
    }
    said.extend(&named);
    let lines: Vec<String> = named
        .iter()
        .filter_map(|&n| {
            let st = v.steps.iter().find(|st| st.op == n)?;
            Some(format!("op_{n} is line {}: {}", st.line, st.text))
        })
        .collect();
    (!lines.is_empty()).then(|| format!("kmemfuzz: {}", lines.join("; ")))
}

/// Runs of the same silenced report, with their length.
fn grouped(qs: &[kmem::Silenced]) -> Vec<(&kmem::Silenced, usize)> {
    let mut out: Vec<(&kmem::Silenced, usize)> = Vec::new();
    for q in qs {
        match out.last_mut() {
            Some((p, n)) if *p == q => *n += 1,
            _ => out.push((q, 1)),
        }
    }
    out
}

/// Why a report the kernel's check raised was not printed.
pub fn silenced_line(q: &kmem::Silenced) -> String {
    match q.why {
        kmem::Silence::Once => format!(
            "not printed: the once-only WARN at {} printed before in this boot",
            q.site
        ),
        kmem::Silence::Ratelimit { interval, burst } => format!(
            "not printed: {}'s rate limit lets {burst} through in {interval} seconds (statements)",
            q.site
        ),
    }
}

/// `line 5: out-of-bounds (caught at line 7 by [redzone-overwritten])`.
pub fn misuse_line(n: &MisuseNote) -> String {
    let what = match &n.catch {
        Catch::Caught { line, report } if *line == n.line => format!("caught here by [{report}]"),
        Catch::Caught { line, report } => format!("caught at line {line} by [{report}]"),
        Catch::NotCaught { would: Some(w) } => format!("not caught: {w} would report it"),
        Catch::NotCaught { would: None } => {
            "not caught: no boot option of the model would report it".to_string()
        }
        Catch::Unjudged => "where it is caught not worked out: too many misuses to replay".into(),
    };
    format!("line {}: {} ({what})", n.line, n.kind.as_str())
}

/// What the taint means, and where it began.
pub fn taint_line(v: &Verdict) -> Option<String> {
    if !v.tainted {
        return None;
    }
    let why = match v.taint {
        Some((line, TaintCause::Misuse)) => format!(
            "after line {line} the model no longer predicts the kernel's state (a misuse whose effects it cannot follow)"
        ),
        Some((line, TaintCause::AllowedReport)) => format!(
            "after line {line} the model no longer predicts the kernel's state (a report it allowed there but cannot pin down)"
        ),
        None => "the model no longer predicts the kernel's state".to_string(),
    };
    Some(format!("{why}; only panics are judged from there"))
}

/// A `read`'s bytes as the replay text shows them (`ReadBytes::hex_dump`).
pub fn hex_dump(r: &ReadBytes, arch: Arch, max: usize) -> Vec<String> {
    r.hex_dump(arch == Arch::I386, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dump_lines() {
        let r = ReadBytes {
            addr: 0xc000_0000,
            len: 40,
            bytes: b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00\x01hello!".to_vec(),
        };
        let l = hex_dump(&r, Arch::I386, 256);
        assert_eq!(
            l,
            [
                "c0000000: 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41 41  AAAAAAAAAAAAAAAA",
                "*",
                "c0000020: 00 01 68 65 6c 6c 6f 21                          ..hello!",
            ]
        );
        let l = hex_dump(&r, Arch::X86_64, 16);
        assert_eq!(l.len(), 2);
        assert!(l[0].starts_with("00000000c0000000: 41"));
        assert_eq!(l[1], "... 24 more bytes not shown");
        let r = ReadBytes {
            addr: 0x1000,
            len: 48,
            bytes: vec![0; 48],
        };
        let l = hex_dump(&r, Arch::I386, 256);
        assert_eq!(l[1..], ["*".to_string(), "00001030".to_string()]);
    }
}
