//! `kmemfuzz-reduce FILE`: shrinks a failing `.kmem` scenario while it fails the same way
//! (kmem_oracle::reduce), and prints the reduced scenario. It becomes `kmemfuzz reduce` once
//! the kmemfuzz command line has a place for it.

use std::io::Write as _;

use kmem_oracle::reduce::{reduce_with_budget, DEFAULT_BUDGET};

pub const USAGE: &str = "usage: kmemfuzz-reduce FILE [-o OUT] [--budget CHECKS]
  Shrinks a failing scenario statement by statement, then operand by operand, while its
  failure signature (the failure kinds, and the first failing statement's function) stays
  the same. Prints the reduced scenario (or writes it to OUT) and one line about it on stderr.
  exit status: 0 reduced, 2 the file cannot be read or parsed, or its scenario passes";

pub fn main(args: &[String]) -> i32 {
    match run(args) {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("kmemfuzz-reduce: {msg}");
            2
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut file = None;
    let mut out = None;
    let mut budget = DEFAULT_BUDGET;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "-o" => out = Some(it.next().ok_or("-o needs a file")?.clone()),
            "--budget" => {
                let v = it.next().ok_or("--budget needs a number of checks")?;
                budget = v
                    .parse()
                    .ok()
                    .filter(|&b| b > 0)
                    .ok_or_else(|| format!("--budget needs a positive number, not '{v}'"))?;
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(format!("unknown option '{s}'\n{USAGE}"))
            }
            s if file.is_none() => file = Some(s.to_string()),
            s => return Err(format!("one FILE only, got another: '{s}'")),
        }
    }
    let file = file.ok_or_else(|| format!("no FILE\n{USAGE}"))?;
    let s = crate::input::load(&file).map_err(|e| e.to_string())?;
    // A model panic is a failure the checker records; its message is not for the terminal
    // each of the thousands of times a candidate repeats it.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = reduce_with_budget(&s, &kmem_oracle::fuzz::check_scenario, budget);
    std::panic::set_hook(hook);
    let r = r.ok_or_else(|| format!("{file}: the scenario passes; there is no failure to keep"))?;
    let text = r.scenario.to_string();
    match &out {
        Some(path) => std::fs::write(path, &text).map_err(|e| format!("{path}: {e}"))?,
        None => {
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
        }
    }
    eprintln!(
        "kmemfuzz-reduce: {file}: {} -> {} statements in {} checks{}; failure kept: {}",
        r.before,
        r.after,
        r.checks,
        if r.budget_spent {
            " (the budget ran out)"
        } else {
            ""
        },
        r.signature
    );
    Ok(())
}
