//! The kept candidate sets and the table of weights give the answers the lists built on
//! every statement gave, so the same bytes still decode to the same scenario.

use arbitrary::Unstructured;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::state::Gen;
use super::super::{boot, choose, GenConfig, Misuse};
use super::Cand;

const SETS: [Cand; 18] = [
    Cand::PagesToFree,
    Cand::FreePagesToFree,
    Cand::Pages {
        whole: false,
        low: false,
    },
    Cand::Pages {
        whole: false,
        low: true,
    },
    Cand::Pages {
        whole: true,
        low: false,
    },
    Cand::Pages {
        whole: true,
        low: true,
    },
    Cand::Linear,
    Cand::PhysLow,
    Cand::Caches,
    Cand::Objs,
    Cand::Kmallocs,
    Cand::VmallocsToFree,
    Cand::Vmaps,
    Cand::VmAreas,
    Cand::Kmaps,
    Cand::Pools,
    Cand::Elems,
    Cand::Access,
];

#[test]
fn kept_sets_and_weights_answer_as_the_handles_do() {
    let mut rng = StdRng::seed_from_u64(0x5e75);
    let configs = [
        GenConfig::kernel(),
        GenConfig::buddy(),
        GenConfig::slab(),
        GenConfig::kmalloc(),
        GenConfig::mempool(),
        GenConfig::vmalloc(),
        GenConfig::kmap(),
    ];
    let mut steps = 0;
    let mut misuse = 0;
    for n in 0..350 {
        let mut cfg = configs[n % configs.len()].clone();
        cfg.exhaust_percent = 20;
        let len = rng.gen_range(0..=2048);
        let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        let mut u = Unstructured::new(&data);
        let boot = boot::boot(&mut u, &cfg).unwrap_or_default();
        let mut g = Gen::new(&cfg, boot);
        g.exhaust_planned = true;
        while g.stmts.len() + g.ctx.len() < cfg.max_ops && !u.is_empty() {
            // From the kept masks, as the generator would use them now (a change to a
            // handle that did not mark them stale would show here).
            g.refresh();
            assert!(g.fresh);
            let lists: Vec<Vec<usize>> = SETS.iter().map(|&c| g.cands(c)).collect();
            let has: Vec<bool> = SETS.iter().map(|&c| g.has(c)).collect();
            let summary = g.summary();
            let actions = g.actions();
            let can: Vec<bool> = Misuse::ALL.iter().map(|&m| g.can(m)).collect();
            // From the handles themselves.
            g.fresh = false;
            for (k, &c) in SETS.iter().enumerate() {
                assert_eq!(g.cands(c), lists[k], "{c:?}");
                assert_eq!(g.has(c), has[k], "{c:?}");
                assert_eq!(has[k], !lists[k].is_empty(), "{c:?}");
            }
            assert_eq!(g.summary(), summary);
            assert_eq!(g.actions(), actions);
            for (k, &m) in Misuse::ALL.iter().enumerate() {
                assert_eq!(g.can(m), g.can_by_lists(m), "{m:?}");
                assert_eq!(g.can(m), can[k], "{m:?}");
            }
            let t = g.weights();
            assert_eq!(t.total, actions.len());
            for (k, &a) in actions.iter().enumerate() {
                assert_eq!(t.nth(k), Some(a));
            }
            assert_eq!(t.nth(actions.len()), None);
            if choose::chance(&mut u, 25).unwrap_or(false) {
                let Ok(Some(m)) = choose::one_of(&mut u, g.applicable().as_slice()) else {
                    break;
                };
                misuse += 1;
                match g.inject(&mut u, m) {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(_) => break,
                }
            }
            let Ok(Some(a)) = g.choose_action(&mut u) else {
                break;
            };
            if g.act(&mut u, a).is_err() {
                break;
            }
            steps += 1;
        }
    }
    assert!(
        steps > 5000 && misuse > 1000,
        "{steps} steps, {misuse} misuse"
    );
}

/// The weights' mask reads actions back through ALL_ACTIONS: each must sit at its own
/// discriminant.
#[test]
fn all_actions_lists_every_action_at_its_discriminant() {
    for (i, &a) in super::ALL_ACTIONS.iter().enumerate() {
        assert_eq!(a as usize, i, "{a:?}");
    }
    assert_eq!(super::Action::Drain as usize, super::ACTIONS - 1);
}

/// Every weight from 1 to 4 reads back as it was added, in the actions' order, and `nth`
/// walks the list in which each action appears as many times as its weight.
#[test]
fn weights_read_back_as_added() {
    let mut t = super::Weights::default();
    let mut expect = Vec::new();
    for (i, &a) in super::ALL_ACTIONS
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 3 != 1)
    {
        let w = (i % 4) as u8 + 1;
        t.add(a, w);
        expect.push((a, w));
    }
    assert_eq!(t.entries().collect::<Vec<_>>(), expect);
    let flat: Vec<_> = expect
        .iter()
        .flat_map(|&(a, w)| std::iter::repeat_n(a, usize::from(w)))
        .collect();
    assert_eq!(t.total, flat.len());
    for (k, &a) in flat.iter().enumerate() {
        assert_eq!(t.nth(k), Some(a));
    }
    assert_eq!(t.nth(flat.len()), None);
}
