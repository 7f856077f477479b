//! `reduce` on real findings: generated scenarios that fail only on a deliberately broken
//! allocator shrink to a few statements a person would write, failing the same way.

mod broken;
mod common;
use broken::free_blocks::Bug;
use broken::page_allocator::BrokenBuddy;
use common::inputs;
use kmem::{Buddy, KmemSeams, PageAllocator, Seams};
use kmem_oracle::reduce::{reduce, signature, Reduced};
use kmem_oracle::{check_with_seams, parse, scenario_from_bytes, GenConfig, Options, Scenario};
use kmem_oracle::{fuzz::check_scenario, Verdict};

/// A machine with broken parts: a broken page allocator, or broken seams beneath SLUB or
/// vmalloc (oracle/tests/broken/).
#[derive(Clone, Copy)]
struct Broken {
    buddy: Option<BrokenBuddy>,
    seams: &'static dyn Seams,
}

impl Default for Broken {
    fn default() -> Self {
        Broken {
            buddy: None,
            seams: &KmemSeams,
        }
    }
}

impl Broken {
    fn check(self, s: &Scenario) -> Verdict {
        let make = move |z, r: &[(u64, u64)]| -> Box<dyn PageAllocator> {
            match self.buddy {
                Some(b) => b.build(z, r),
                None => Box::new(Buddy::new(z, r)),
            }
        };
        check_with_seams(
            s,
            Options {
                record_steps: false,
            },
            &make,
            self.seams,
        )
    }
}

/// The first of the seeded generated scenarios that fails on `broken`, reduced.
fn first_failure_reduced(cfg: &GenConfig, broken: Broken) -> (Scenario, Reduced) {
    let check = move |s: &Scenario| broken.check(s);
    let s = inputs(0x7265_6475, 400)
        .iter()
        .map(|b| scenario_from_bytes(b, cfg).scenario)
        .find(|s| !check(s).pass())
        .expect("400 scenarios found nothing");
    let r = reduce(&s, &check).expect("it fails, so it reduces");
    (s, r)
}

/// What every reduction must give: a short scenario that still fails the same way on the
/// broken machine, passes on the real one (the bug is the allocator's, not the client's),
/// and prints as text that parses back to itself.
fn assert_reduced(name: &str, original: &Scenario, r: &Reduced, broken: Broken, most: usize) {
    let text = r.scenario.to_string();
    eprintln!(
        "{name}: {} -> {} statements in {} checks, {}\n{text}",
        r.before, r.after, r.checks, r.signature
    );
    assert!(
        r.after <= most,
        "{name}: {} statements left:\n{text}",
        r.after
    );
    assert!(r.after < original.stmts.len() || original.stmts.len() <= most);
    assert!(!r.budget_spent, "{name}: the check budget ran out");
    let again = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
    assert_eq!(again, r.scenario, "{name}: the text does not parse back");
    let v = broken.check(&again);
    assert_eq!(
        signature(&again, &v).as_ref(),
        Some(&r.signature),
        "{name}: fails differently:\n{}",
        v.explain()
    );
    assert_eq!(
        signature(original, &broken.check(original)).as_ref(),
        Some(&r.signature)
    );
    let real = check_scenario(&again);
    assert!(
        real.pass(),
        "{name}: fails on the real machine too:\n{}",
        real.explain()
    );
}

#[test]
fn a_buddy_that_never_merges_comes_down_to_one_allocation_and_its_free() {
    let broken = Broken {
        buddy: Some(BrokenBuddy::Mechanism(Bug::NoMerge)),
        ..Default::default()
    };
    let (s, r) = first_failure_reduced(&GenConfig::buddy(), broken);
    assert_reduced("no_merge", &s, &r, broken, 3);
    assert!(r.signature.kinds.contains("buddyinfo"), "{}", r.signature);
}

#[test]
fn other_broken_buddies_reduce_to_a_few_statements() {
    // (The misfiled half shows as four kinds of failure, and the reduction keeps them all.)
    for (name, faults, most) in [
        (
            "split_off_by_one",
            BrokenBuddy::Mechanism(Bug::SplitOffByOne),
            12,
        ),
        (
            "double_handout",
            BrokenBuddy::Mechanism(Bug::DoubleHandout),
            6,
        ),
        ("ignore_zone_dma", BrokenBuddy::IgnoresZoneDma, 6),
    ] {
        let broken = Broken {
            buddy: Some(faults),
            ..Default::default()
        };
        let (s, r) = first_failure_reduced(&GenConfig::buddy(), broken);
        assert_reduced(name, &s, &r, broken, most);
    }
}

#[test]
fn broken_slub_and_vmalloc_reduce_too() {
    let slub = Broken {
        seams: &broken::slab::WrongSizeClass,
        ..Default::default()
    };
    let (s, r) = first_failure_reduced(&GenConfig::kmalloc(), slub);
    assert_reduced("wrong_size_class", &s, &r, slub, 6);
    let vmalloc = Broken {
        seams: &broken::vmalloc::NoGuardPage,
        ..Default::default()
    };
    // The first failing scenario reaches its vmap page through a translation
    // (virt_to_page of page_address), which the reducer keeps: 7 statements.
    let (s, r) = first_failure_reduced(&GenConfig::vmalloc(), vmalloc);
    assert_reduced("no_guard_page", &s, &r, vmalloc, 7);
}
