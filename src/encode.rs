//! `kmemfuzz encode FILE --target T`: the fuzzer input that target T's generator decodes to a
//! `.kmem` scenario (kmem_oracle::scenario::encode), so that hand-written scenarios seed the
//! corpora. `kmemfuzz show` of the bytes prints the scenario back, with the generator's names.

use kmem_oracle::scenario::encode::encode_with_budget;

use crate::cli::EncodeArgs;
use crate::input::{display_name, load};
use crate::out::{Fail, Out, Outcome};
use crate::stress::gen_config;

pub fn command(a: &EncodeArgs, out: &mut Out) -> Outcome {
    let name = display_name(&a.file);
    let s = load(&a.file).map_err(|e| Fail::usage(e.to_string()))?;
    if a.budget == 0 {
        return Err(Fail::usage("--budget needs at least one trial"));
    }
    let bytes = encode_with_budget(&s, &gen_config(a.target), a.budget).map_err(|e| {
        Fail::usage(format!(
            "{name}:{}:{}: the {} target cannot express this: {}",
            e.line,
            e.col,
            a.target.name(),
            e.why
        ))
    })?;
    match &a.output {
        Some(path) => std::fs::write(path, &bytes)
            .map_err(|e| Fail::usage(format!("{path}: cannot write: {e}")))?,
        None => out.bytes(&bytes)?,
    }
    Ok(0)
}
