//! `kmemfuzz reduce` as a user meets it: one-line errors and exit 2 for what it cannot
//! reduce. (Reducing real failures is tested in oracle/tests/reduce_broken.rs, on broken
//! allocators: the real model has no failing scenario to offer.)

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_kmemfuzz"))
        .arg("reduce")
        .args(args)
        .output()
        .expect("run kmemfuzz reduce");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn scratch(name: &str, text: &str) -> String {
    let p = std::env::temp_dir().join(format!(
        "kmemfuzz-reduce-test-{}-{name}",
        std::process::id()
    ));
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn a_passing_scenario_is_refused_in_one_line() {
    let f = scratch(
        "pass.kmem",
        "boot mem=32M\np = kmalloc 64 GFP_KERNEL\nkfree p\n",
    );
    let (code, out, err) = run(&[&f]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(
        err,
        format!("kmemfuzz: {f}: the scenario passes; there is no failure to keep\n")
    );
}

#[test]
fn bad_files_and_options_are_one_line_errors() {
    let f = scratch("bad.kmem", "boot mem=32M\np = kmalloc\n");
    let (code, _, err) = run(&[&f]);
    assert_eq!(code, 2);
    assert!(err.starts_with(&format!("kmemfuzz: {f}:2:5: ")), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, err) = run(&[&f, "--budget", "0"]);
    assert_eq!(
        (code, err.as_str()),
        (2, "kmemfuzz: --budget needs at least one check\n")
    );
    let (code, _, err) = run(&["/no/such/file.kmem"]);
    assert_eq!(
        (code, err.as_str()),
        (2, "kmemfuzz: /no/such/file.kmem: no such file\n")
    );
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Usage: kmemfuzz reduce [OPTIONS] <FILE>"),
        "{out}"
    );
}
