//! `encode` then `show` gives back the scenario, for every file of corpus/ that the target's
//! generator can express (docs/fuzzing.md, "Seeding from scenarios").
//!
//! - corpus/<target>/ seeds: decoded (what `show` prints), encoded, decoded again: the same
//!   scenario, names and all.
//! - corpus/regressions/*.kmem: encoded for every target, then decoded: the same scenario
//!   up to renaming; a target that does not call one of its functions refuses it at once.
//!
//! What each file gives on each target is the table tests/fixtures/encode-corpus.txt: `ok`,
//! `family` (a function the target does not call) or `no` (not found within the default
//! search budget: a number, a literal or a misuse the generator never draws, or, for the
//! seeds, which the generator wrote itself, a search that gave up). The `ok` and `family`
//! rows are checked here; the `no` rows cost a whole search each, so only the ignored test
//! runs them (and checks the table is what encode gives now), in a release build:
//!
//!       cargo test --release --test encode_corpus -- --ignored
//!       KMEMFUZZ_UPDATE_TABLE=1 cargo test --release --test encode_corpus -- --ignored

use kmem_oracle::scenario::encode::{encode, same_up_to_renaming};
use kmem_oracle::{parse, scenario_from_bytes, Scenario};
use kmemfuzz::cli::Target;
use kmemfuzz::stress::gen_config;

const TARGETS: [Target; 7] = [
    Target::Buddy,
    Target::Slab,
    Target::Kmalloc,
    Target::Mempool,
    Target::Vmalloc,
    Target::Kmap,
    Target::Kernel,
];

const TABLE: &str = "tests/fixtures/encode-corpus.txt";

fn root(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry"))
        // Files only: scripts/fuzz keeps raw parser findings in a raw/ folder.
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The scenario a corpus file stands for: a seed's decoding, a regression's text.
fn scenario(file: &str, t: Target) -> Scenario {
    if let Some(seed) = file
        .strip_prefix("corpus/")
        .filter(|f| !f.starts_with("regressions/"))
    {
        let data = std::fs::read(root(&format!("corpus/{seed}"))).expect("seed");
        return scenario_from_bytes(&data, &gen_config(t)).scenario;
    }
    let text = std::fs::read_to_string(root(file)).expect("read");
    parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// What encoding gives: `ok` (and the round trip holds: exactly for a seed, up to renaming
/// for a regression), `family` or `no`.
fn outcome(file: &str, s: &Scenario, t: Target) -> &'static str {
    let cfg = gen_config(t);
    match encode(s, &cfg) {
        Ok(bytes) => {
            let back = scenario_from_bytes(&bytes, &cfg).scenario;
            let same = match file.starts_with("corpus/regressions/") {
                true => same_up_to_renaming(&back, s),
                false => back == *s,
            };
            assert!(
                same,
                "{file} on {}: another scenario came back:\n{back}",
                t.name()
            );
            "ok"
        }
        Err(e) if e.why.contains("family, which this target does not call") => "family",
        Err(_) => "no",
    }
}

/// Every (file, target) pair the table must hold: each seed with its own target, each
/// regression with every target.
fn pairs() -> Vec<(String, Target)> {
    let mut v = Vec::new();
    for t in TARGETS {
        for f in files(&format!("corpus/{}", t.name())) {
            v.push((format!("corpus/{}/{f}", t.name()), t));
        }
    }
    for f in files("corpus/regressions") {
        for t in TARGETS {
            v.push((format!("corpus/regressions/{f}"), t));
        }
    }
    v
}

fn table() -> Vec<(String, String, String)> {
    std::fs::read_to_string(root(TABLE))
        .expect("the table")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.len(), 3, "{TABLE}: {l}");
            (w[0].to_string(), w[1].to_string(), w[2].to_string())
        })
        .collect()
}

#[test]
fn the_table_covers_every_file_and_target() {
    let rows: Vec<(String, String)> = table().into_iter().map(|(f, t, _)| (f, t)).collect();
    let want: Vec<(String, String)> = pairs()
        .into_iter()
        .map(|(f, t)| (f, t.name().to_string()))
        .collect();
    assert_eq!(
        rows, want,
        "{TABLE} is out of date: regenerate it (see the top of this file)"
    );
}

#[test]
fn corpus_files_come_back_where_the_table_says() {
    let mut wrong = Vec::new();
    for (file, target, expected) in table() {
        if expected == "no" {
            continue;
        }
        let t = Target::from_name(&target).expect("a target");
        let got = outcome(&file, &scenario(&file, t), t);
        if got != expected {
            wrong.push(format!("{file} {target}: {got}, the table says {expected}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
#[ignore = "searches every `no` in full: minutes in a release build"]
fn the_whole_table() {
    let mut text = String::from(
        "# corpus file, target, and what `kmemfuzz encode` gives: ok, family or no\n\
         # (tests/encode_corpus.rs; regenerate with KMEMFUZZ_UPDATE_TABLE=1, see there).\n",
    );
    for (f, t) in pairs() {
        text.push_str(&format!(
            "{f} {} {}\n",
            t.name(),
            outcome(&f, &scenario(&f, t), t)
        ));
    }
    if std::env::var_os("KMEMFUZZ_UPDATE_TABLE").is_some() {
        std::fs::write(root(TABLE), &text).expect("write the table");
    }
    let old = std::fs::read_to_string(root(TABLE)).unwrap_or_default();
    assert_eq!(old, text, "{TABLE} differs from what encode gives now");
}
