//! Generates one test per scenario in corpus/regressions/, so `cargo test` names each
//! reproducer and fails with its verdict.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new("corpus/regressions");
    println!("cargo:rerun-if-changed=corpus/regressions");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".kmem"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::new();
    for f in &files {
        let name: String = f
            .trim_end_matches(".kmem")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        println!("cargo:rerun-if-changed=corpus/regressions/{f}");
        let _ = writeln!(
            out,
            "#[test]\nfn regression_{name}() {{\n    replay(\"corpus/regressions/{f}\");\n}}\n"
        );
    }
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("regressions.rs");
    std::fs::write(dest, out).expect("write generated tests");
}
