//! The oracle's exact predictions fail a machine that differs from them: each test runs a
//! scenario on the real machine, where it must pass, then has the model judge the same run
//! with one page event of the machine's changed (the pages a slab or a mempool should have
//! given back kept, or pages given back that should have stayed), and the model must name
//! the statement. The broken seams of broken/ cover what a seam can change; these cover the
//! rules no seam reaches (SLUB's discard rule, mempool's reserve).

mod common;

use kmem::{Machine, PageEvent};
use kmem_oracle::outcome::Env;
use kmem_oracle::{check, parse, Operand};

/// Changes the page events of the statement at `line` (a `Machine` to read addresses from,
/// the names bound so far).
type Tamper<'a> = &'a dyn Fn(u32, &Machine, &Env, &mut Vec<PageEvent>);

/// The model's failures, as `line: message`, for `text` run on the machine with its page
/// events changed by `tamper`.
fn judged(text: &str, tamper: Tamper<'_>) -> Vec<String> {
    common::judge_run(text, &mut |m, model, _, stmt, env, out| {
        m.take_reports();
        let mut events = m.take_page_events();
        tamper(stmt.line, m, env, &mut events);
        let j = model.judge(stmt.line, &stmt.op, env, out, &events);
        j.failures
            .iter()
            .map(|(_, msg)| format!("{}: {msg}", stmt.line))
            .collect()
    })
}

/// The scenario passes the checker as it is, and fails at `line` with a message containing
/// `what` once `tamper` changes the machine's events.
fn caught(text: &str, line: u32, what: &str, tamper: Tamper<'_>) {
    let v = check(&parse(text).unwrap());
    assert!(v.pass(), "{}", v.explain());
    assert!(judged(text, &|_, _, _, _| {}).is_empty());
    let failures = judged(text, tamper);
    assert!(
        failures
            .iter()
            .any(|f| f.starts_with(&format!("{line}: ")) && f.contains(what)),
        "expected a failure at line {line} about {what:?}, got {failures:#?}"
    );
}

/// The page frame of the direct-map address bound to `name`.
fn pfn_of(m: &Machine, env: &Env, name: &str) -> u64 {
    let i386 = m.layout().arch == kmem::Arch::I386;
    let name = Operand::Name {
        name: name.into(),
        offset: 0,
    };
    let va = env.eval(&name, i386);
    (va - m.layout().page_offset) >> kmem::PAGE_SHIFT
}

/// A cache of 1024-byte objects (order-1 slabs of 8 objects, min_partial 5); `full` slabs
/// filled (objects o0..), then the frees `frees`, one a line.
fn slab_scenario(full: usize, frees: &[usize]) -> (String, u32) {
    let mut t = String::from("boot arch=i386 mem=64M\nc = kmem_cache_create big 1024 0 0\n");
    for i in 0..full * 8 {
        t.push_str(&format!("o{i} = kmem_cache_alloc c GFP_KERNEL\n"));
    }
    for i in frees {
        t.push_str(&format!("kmem_cache_free c o{i}\n"));
    }
    let last = 2 + (full * 8 + frees.len()) as u32;
    (t, last)
}

#[test]
fn an_empty_slab_kept_where_min_partial_says_discard_is_caught() {
    // Four slabs made partial, a fifth left full, the sixth emptied: with itself, five
    // partial slabs, min_partial exactly.
    let mut frees = vec![0, 8, 16, 24];
    frees.extend(40..48);
    let (text, last) = slab_scenario(6, &frees);
    caught(&text, last, "must have freed", &|line, _, _, ev| {
        if line == last {
            ev.retain(|e| !matches!(e, PageEvent::Free { .. }));
        }
    });
}

#[test]
fn an_empty_slab_discarded_below_min_partial_is_caught() {
    // Three slabs made partial, the fourth emptied: four partial slabs, one short of
    // min_partial, so it stays.
    let mut frees = vec![0, 8, 16];
    frees.extend(24..32);
    let (text, last) = slab_scenario(4, &frees);
    caught(&text, last, "must not have freed", &|line, m, env, ev| {
        if line == last {
            let pfn = pfn_of(m, env, "o24") & !1;
            ev.push(PageEvent::Free { pfn, order: 1 });
        }
    });
}

/// The page frame of the `struct page *` bound to `name`.
fn pfn_of_page(m: &Machine, env: &Env, name: &str) -> u64 {
    let i386 = m.layout().arch == kmem::Arch::I386;
    let name = Operand::Name {
        name: name.into(),
        offset: 0,
    };
    let l = m.layout();
    (env.eval(&name, i386) - l.mem_map) / l.struct_page_size
}

#[test]
fn a_page_pool_keeping_an_element_its_full_reserve_cannot_hold_is_caught() {
    let text = "boot arch=i386 mem=64M
p = mempool_create_page_pool 2 0
a = mempool_alloc p GFP_KERNEL
mempool_free a p
mempool_destroy p
";
    caught(text, 4, "give back its block", &|line, _, _, ev| {
        if line == 4 {
            ev.retain(|e| !matches!(e, PageEvent::Free { .. }));
        }
    });
}

#[test]
fn a_page_pool_freeing_an_element_its_reserve_lacks_is_caught() {
    // GFP_ATOMIC runs the zones down below the min watermark, where mempool_alloc's first
    // try with GFP_NOWAIT may not go, so the element comes from the reserve, and
    // mempool_free() must put it back there.
    let text = "boot arch=i386 mem=16M
p = mempool_create_page_pool 1 0
n = repeat 100000 alloc_pages GFP_ATOMIC 0
a = mempool_alloc p GFP_NOWAIT
mempool_free a p
";
    caught(
        text,
        5,
        "keep the element in the reserve",
        &|line, m, env, ev| {
            if line == 5 {
                let pfn = pfn_of_page(m, env, "a");
                ev.push(PageEvent::Free { pfn, order: 0 });
            }
        },
    );
}

#[test]
fn kmem_cache_shrink_keeping_an_empty_slab_is_caught() {
    // The second slab emptied below min_partial stays; kmem_cache_shrink() must discard it.
    let (mut text, last) = slab_scenario(2, &(8..16).collect::<Vec<_>>());
    text.push_str("kmem_cache_shrink c\n");
    let shrink = last + 1;
    caught(&text, shrink, "must be discarded", &|line, _, _, ev| {
        if line == shrink {
            ev.retain(|e| !matches!(e, PageEvent::Free { .. }));
        }
    });
}
