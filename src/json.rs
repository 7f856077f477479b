//! `replay --json`: one object per file on one line, through serde. The fields of docs/scenario.md
//! come first in each object, in its order and spelling (a public contract); what kmemfuzz
//! adds follows them: the file, the boot configuration, each step's statement index,
//! warnings and read bytes, where each misuse was caught, and the taint.

use std::io;

use kmem::{BootConfig, BOOT_KEYS};
use kmem_oracle::{TaintCause, Verdict};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::caught::{Catch, MisuseNote};
use crate::input::InputError;

/// A field docs/scenario.md does not list: left out when only the contract's fields are wanted.
#[derive(Serialize)]
#[serde(transparent)]
struct Added<T>(Option<T>);

impl<T> Added<T> {
    fn omitted(&self) -> bool {
        self.0.is_none()
    }
}

#[derive(Serialize)]
struct Replay<'a> {
    verdict: &'static str,
    steps: Vec<Step<'a>>,
    misuse: Vec<Misuse>,
    failures: Vec<Failure<'a>>,
    #[serde(skip_serializing_if = "Added::omitted")]
    file: Added<&'a str>,
    #[serde(skip_serializing_if = "Added::omitted")]
    boot: Added<Boot<'a>>,
    #[serde(skip_serializing_if = "Added::omitted")]
    tainted: Added<bool>,
    #[serde(skip_serializing_if = "Added::omitted")]
    taint: Added<Option<Taint>>,
}

#[derive(Serialize)]
struct Step<'a> {
    line: u32,
    text: &'a str,
    value: Option<String>,
    reports: Vec<Report<'a>>,
    #[serde(skip_serializing_if = "Added::omitted")]
    op: Added<u32>,
    #[serde(skip_serializing_if = "Added::omitted")]
    warnings: Added<&'a [String]>,
    #[serde(skip_serializing_if = "Added::omitted")]
    read: Added<Option<Read>>,
    #[serde(skip_serializing_if = "Added::omitted")]
    silenced: Added<Vec<Unprinted<'a>>>,
}

/// A report the kernel's check raised and did not print.
#[derive(Serialize)]
struct Unprinted<'a> {
    kind: &'static str,
    /// "once" or "ratelimit".
    why: &'static str,
    site: &'a str,
}

#[derive(Serialize)]
struct Report<'a> {
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
struct Read {
    addr: String,
    len: u64,
    /// The bytes in hex, two digits each (the first 4096 of a longer read).
    bytes: String,
}

#[derive(Serialize)]
struct Misuse {
    line: u32,
    kind: &'static str,
    /// Where the kernel caught it: the line and the report's kind; null when no enabled
    /// check did.
    #[serde(skip_serializing_if = "Added::omitted")]
    caught: Added<Option<Caught>>,
    /// A boot word under which the kernel would have caught it (when not caught).
    #[serde(skip_serializing_if = "Added::omitted")]
    would_catch: Added<Option<String>>,
    /// False when the replays that find where it was caught went past their budget (then
    /// `caught` and `would_catch` say nothing).
    #[serde(skip_serializing_if = "Added::omitted")]
    judged: Added<bool>,
}

#[derive(Serialize)]
struct Caught {
    line: u32,
    report: &'static str,
}

#[derive(Serialize)]
struct Failure<'a> {
    line: u32,
    kind: &'static str,
    message: &'a str,
}

#[derive(Serialize)]
struct Taint {
    line: u32,
    cause: &'static str,
}

/// The boot configuration: the full boot line, then every key with its value as the boot
/// line writes it.
struct Boot<'a>(&'a BootConfig);

impl Serialize for Boot<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(BOOT_KEYS.len() + 1))?;
        m.serialize_entry("line", &crate::layout::boot_line(self.0))?;
        for k in BOOT_KEYS {
            m.serialize_entry(k.name, &(k.value)(self.0))?;
        }
        m.end()
    }
}

/// Writes JSON as docs/scenario.md shows it: `": "` after a key and `", "` between values.
struct Spaced;

impl serde_json::ser::Formatter for Spaced {
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
}

fn to_line<T: Serialize>(v: &T) -> String {
    let mut buf = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, Spaced);
    // Serializing these plain structs into memory cannot fail.
    if v.serialize(&mut ser).is_err() {
        return String::from("{}");
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// The replay of `file` as one JSON line; `contract_only` leaves out every field docs/scenario.md
/// does not list (what the format was before kmemfuzz added to it).
pub fn replay(
    file: &str,
    boot: &BootConfig,
    v: &Verdict,
    notes: &[MisuseNote],
    contract_only: bool,
) -> String {
    let on = !contract_only;
    let steps = v
        .steps
        .iter()
        .map(|st| Step {
            line: st.line,
            text: &st.text,
            value: st.value.map(|x| format!("{x:#x}")),
            reports: st
                .reports
                .iter()
                .map(|r| Report {
                    kind: r.kind.as_str(),
                    text: &r.text,
                })
                .collect(),
            op: Added(on.then_some(st.op)),
            warnings: Added(on.then_some(st.warnings.as_slice())),
            read: Added(on.then(|| {
                st.read.as_ref().map(|r| Read {
                    addr: format!("{:#x}", r.addr),
                    len: r.len,
                    bytes: r.bytes.iter().map(|b| format!("{b:02x}")).collect(),
                })
            })),
            silenced: Added(on.then(|| {
                st.silenced
                    .iter()
                    .map(|q| Unprinted {
                        kind: q.kind.as_str(),
                        why: q.why.as_str(),
                        site: &q.site,
                    })
                    .collect()
            })),
        })
        .collect();
    let misuse = v
        .misuse
        .iter()
        .enumerate()
        .map(|(i, &(line, kind))| {
            let catch = notes.get(i).map(|n| &n.catch);
            let caught = match catch {
                Some(Catch::Caught { line, report }) => Some(Caught {
                    line: *line,
                    report: report.as_str(),
                }),
                _ => None,
            };
            let would = match catch {
                Some(Catch::NotCaught { would }) => would.clone(),
                _ => None,
            };
            Misuse {
                line,
                kind: kind.as_str(),
                caught: Added(on.then_some(caught)),
                would_catch: Added(on.then_some(would)),
                judged: Added(on.then_some(!matches!(catch, Some(Catch::Unjudged)))),
            }
        })
        .collect();
    let failures = v
        .failures
        .iter()
        .map(|f| Failure {
            line: f.line,
            kind: f.kind.as_str(),
            message: &f.message,
        })
        .collect();
    let taint = v.taint.map(|(line, cause)| Taint {
        line,
        cause: match cause {
            TaintCause::Misuse => "misuse",
            TaintCause::AllowedReport => "allowed-report",
        },
    });
    to_line(&Replay {
        verdict: if v.pass() { "pass" } else { "fail" },
        steps,
        misuse,
        failures,
        file: Added(on.then_some(file)),
        boot: Added(on.then_some(Boot(boot))),
        tainted: Added(on.then_some(v.tainted)),
        taint: Added(on.then(|| taint.filter(|_| v.tainted))),
    })
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    file: &'a str,
    error: ErrorAt<'a>,
}

#[derive(Serialize)]
struct ErrorAt<'a> {
    line: Option<u32>,
    col: Option<u32>,
    message: &'a str,
}

/// An input that could not be read or parsed, as one JSON line.
pub fn error(e: &InputError) -> String {
    to_line(&ErrorLine {
        file: &e.file,
        error: ErrorAt {
            line: e.at.map(|a| a.0),
            col: e.at.map(|a| a.1),
            message: &e.message,
        },
    })
}
