//! `kmemfuzz reduce FILE`: shrinks a failing `.kmem` scenario while it fails the same way
//! (kmem_oracle::reduce), and prints the reduced scenario.

use kmem_oracle::reduce::reduce_with_budget;

use crate::cli::ReduceArgs;
use crate::input::{display_name, load};
use crate::out::{Fail, Out, Outcome};

pub fn command(a: &ReduceArgs, out: &mut Out) -> Outcome {
    let name = display_name(&a.file);
    let budget = usize::try_from(a.budget).unwrap_or(usize::MAX);
    if budget == 0 {
        return Err(Fail::usage("--budget needs at least one check"));
    }
    let s = load(&a.file).map_err(|e| Fail::usage(e.to_string()))?;
    // A model panic is a failure the checker records; its message is not for the terminal
    // each of the many times a candidate repeats it.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = reduce_with_budget(&s, &kmem_oracle::fuzz::check_scenario, budget);
    std::panic::set_hook(hook);
    let r = r.ok_or_else(|| {
        Fail::usage(format!(
            "{name}: the scenario passes; there is no failure to keep"
        ))
    })?;
    let text = r.scenario.to_string();
    match &a.output {
        Some(path) => std::fs::write(path, &text)
            .map_err(|e| Fail::usage(format!("{path}: cannot write: {e}")))?,
        None => out.put(&text)?,
    }
    eprintln!(
        "kmemfuzz reduce: {name}: {} -> {} statements in {} checks{}; failure kept: {}",
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
    Ok(0)
}
