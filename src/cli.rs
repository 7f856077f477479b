//! Command-line parsing and the subcommands. Every error on bad input is one line on stderr
//! and exit status 2; a failed verdict is exit status 1.

use std::io::Write as _;

use kmem::{BootConfig, Machine};
use kmem_oracle::{parse, Scenario};

use crate::{engines, stress};

const USAGE: &str = "usage: kmemfuzz replay FILE... [--json] [--engine NAME]
       kmemfuzz show FILE [--target NAME]
       kmemfuzz layout [arch=i386|x86_64] [mem=SIZE] [OPTION=VALUE...]
       kmemfuzz stress [--target NAME] [--seed N] [--iters N] [--oracle on|off]
targets: buddy slab kmalloc mempool vmalloc kmap kernel, and one per engine (docs/engines.md)";

/// A one-line error for the user; exit status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

pub fn main(args: Vec<String>) -> i32 {
    match run(&args) {
        Ok(code) => code,
        Err(UsageError(msg)) => {
            eprintln!("kmemfuzz: {msg}");
            2
        }
    }
}

fn run(args: &[String]) -> Result<i32, UsageError> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err(UsageError(format!("no command\n{USAGE}")));
    };
    match cmd.as_str() {
        "replay" => replay(rest),
        "show" => show(rest),
        "layout" => layout(rest),
        "stress" => stress::command(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(0)
        }
        other => Err(UsageError(format!(
            "unknown command '{other}' (try kmemfuzz help)"
        ))),
    }
}

/// Reads a file as UTF-8 text, or a one-line error naming it.
pub fn read_text(path: &str) -> Result<String, UsageError> {
    let bytes =
        std::fs::read(path).map_err(|e| UsageError(format!("{path}: {}", io_reason(&e))))?;
    String::from_utf8(bytes).map_err(|e| {
        let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = upto.len() - upto.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        UsageError(format!("{path}:{line}:{col}: not valid UTF-8"))
    })
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ if e.raw_os_error() == Some(21) => "is a directory".into(),
        _ => e.to_string(),
    }
}

/// Parses a scenario file, or a one-line `FILE:LINE:COL: message` error.
pub fn load(path: &str) -> Result<Scenario, UsageError> {
    let text = read_text(path)?;
    parse(&text).map_err(|e| UsageError(format!("{path}:{e}")))
}

fn replay(args: &[String]) -> Result<i32, UsageError> {
    let mut json = false;
    let mut files = vec![];
    let mut engine = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = true,
            "--engine" => {
                let name = it
                    .next()
                    .ok_or_else(|| UsageError("--engine needs a NAME".into()))?;
                engine = Some(engines::machine_engine(name)?);
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(UsageError(format!("unknown option '{s}' for replay")))
            }
            s => files.push(s),
        }
    }
    if files.is_empty() {
        return Err(UsageError("replay needs at least one FILE".into()));
    }
    // Every input must parse before anything runs.
    let scenarios: Vec<engines::Loaded> = files
        .iter()
        .map(|f| engines::load_any(f))
        .collect::<Result<_, _>>()?;
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    for (f, s) in files.iter().zip(&scenarios) {
        let v = engines::check_loaded(s, engine.as_ref());
        failed |= !v.pass();
        let text = if json {
            format!("{}\n", v.to_json())
        } else if files.len() > 1 {
            format!("== {f}\n{}", v.to_text())
        } else {
            v.to_text()
        };
        let _ = out.write_all(text.as_bytes());
    }
    Ok(if failed { 1 } else { 0 })
}

fn show(args: &[String]) -> Result<i32, UsageError> {
    let mut target: Option<&str> = None;
    let mut file = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => {
                target = Some(
                    it.next()
                        .ok_or_else(|| UsageError("--target needs a NAME".into()))?,
                )
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(UsageError(format!("unknown option '{s}' for show")))
            }
            s if file.is_none() => file = Some(s),
            s => {
                return Err(UsageError(format!(
                    "show takes one FILE, got another: '{s}'"
                )))
            }
        }
    }
    let file = file.ok_or_else(|| UsageError("show needs a FILE".into()))?;
    let data = std::fs::read(file).map_err(|e| UsageError(format!("{file}: {}", io_reason(&e))))?;
    // The target is named, or read off a path like corpus/<target>/... or artifacts/<target>/...
    let target = match target {
        Some(t) => t.to_string(),
        None => stress::TARGETS
            .iter()
            .copied()
            .chain(kmemfuzz_engines::registry().iter().map(|r| r.target))
            .find(|t| file.split('/').any(|c| c == *t))
            .map(|t| t.to_string())
            .ok_or_else(|| {
                UsageError(format!(
                    "{file}: cannot tell the target from the path; pass --target NAME"
                ))
            })?,
    };
    if let Some(text) = engines::show(&target, &data) {
        print!("{text}");
        return Ok(0);
    }
    let cfg = stress::gen_config(&target)?;
    let g = kmem_oracle::scenario_from_bytes(&data, &cfg);
    print!("# {target} input {file}\n{}", g.scenario);
    Ok(0)
}

fn layout(args: &[String]) -> Result<i32, UsageError> {
    let cfg = BootConfig::parse_words(args.iter().map(|s| s.as_str()))
        .map_err(|e| UsageError(format!("boot option {e}")))?;
    let m = Machine::boot(&cfg).map_err(|e| UsageError(format!("boot option {e}")))?;
    let mut s = format!("{cfg}\n");
    for l in m.layout().boot_log() {
        s.push_str(&l);
        s.push('\n');
    }
    s.push_str("\n/proc/buddyinfo:\n");
    s.push_str(&m.proc_buddyinfo());
    s.push_str("\n/proc/meminfo:\n");
    s.push_str(&m.proc_meminfo());
    print!("{s}");
    Ok(0)
}
