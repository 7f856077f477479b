//! `kmemfuzz replay`: scenarios run with the oracle beside them, their verdicts printed as
//! text or JSON.

use std::io::Write as _;

use crate::cli::ReplayArgs;
use crate::engines::{check_kernel, load_any, machine_engine, replay_engine, Loaded};
use crate::input::{display_name, InputError};
use crate::out::{Fail, Out, Outcome};

pub fn command(a: &ReplayArgs, out: &mut Out) -> Outcome {
    if a.files.iter().filter(|f| *f == "-").count() > 1 {
        return Err(Fail::usage("standard input (-) can be read only once"));
    }
    // Every input must parse before anything runs; every bad one is told, one line each
    // (and under --json also as a JSON line on stdout).
    let engine = match &a.engine {
        Some(name) => Some(machine_engine(name).map_err(Fail::usage)?),
        None => None,
    };
    let loaded: Vec<Result<Loaded, InputError>> = a.files.iter().map(|f| load_any(f)).collect();
    let errors: Vec<&InputError> = loaded.iter().filter_map(|r| r.as_ref().err()).collect();
    if let Some((last, rest)) = errors.split_last() {
        for e in &errors {
            if a.json {
                out.line(&crate::json::error(e))?;
            }
        }
        for e in rest {
            let _ = writeln!(std::io::stderr(), "kmemfuzz: {e}");
        }
        return Err(Fail::usage(last.to_string()));
    }
    let scenarios: Vec<Loaded> = loaded.into_iter().filter_map(Result::ok).collect();
    let (mut passed, mut failed) = (0usize, 0usize);
    let many = a.files.len() > 1;
    for (f, l) in a.files.iter().zip(&scenarios) {
        let s = match l {
            Loaded::Kernel(s) => s,
            Loaded::Engine(e) => {
                let (pass, text) = replay_engine(e, a.json);
                if pass {
                    passed += 1;
                } else {
                    failed += 1;
                }
                if many && !a.json {
                    out.line(&format!("== {}", display_name(f)))?;
                }
                out.put(&text)?;
                continue;
            }
        };
        let v = check_kernel(s, engine.as_ref());
        if v.pass() {
            passed += 1;
        } else {
            failed += 1;
        }
        let notes = crate::caught::attribute(s, &v);
        let name = display_name(f);
        if a.json {
            out.line(&crate::json::replay(name, &s.boot, &v, &notes, false))?;
        } else {
            if many {
                out.line(&format!("== {name}"))?;
            }
            out.put(&crate::render::text(&s.boot, &v, &notes))?;
        }
    }
    if many && !a.json {
        out.line(&format!("{passed} passed, {failed} failed"))?;
    }
    Ok(if failed > 0 { 1 } else { 0 })
}
