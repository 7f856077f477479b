//! Snapshots of what the command shows a user: every subcommand's help, its errors, and
//! its output for fixed inputs. A change in any of them fails here until the snapshot under
//! tests/snapshots/ is updated and reviewed:
//!
//!     INSTA_UPDATE=always cargo test --test cli --test regressions
//!     git diff tests/snapshots/      # review, then commit with the change
//!
//! (or `cargo insta review` where cargo-insta is installed). Stress prints timings and is
//! checked by assertion instead.

use std::io::{Read as _, Write as _};
use std::process::{Command, Stdio};

fn kmemfuzz() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kmemfuzz"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("COLUMNS");
    c
}

/// Runs the command with `stdin` and renders what a user sees: the command line, the exit
/// status, stdout and stderr.
fn run(args: &[&str], stdin: &str) -> String {
    let mut child = kmemfuzz()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kmemfuzz");
    if let Some(mut i) = child.stdin.take() {
        // The command may exit before reading (a usage error): that is not a failure here.
        let _ = i.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("kmemfuzz output");
    format!(
        "$ kmemfuzz {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().map_or("signal".into(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

macro_rules! snap {
    ($name:ident, [$($arg:expr),*]) => {
        snap!($name, [$($arg),*], "");
    };
    ($name:ident, [$($arg:expr),*], $stdin:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), run(&[$($arg),*], $stdin));
        }
    };
}

// Help and version.
snap!(help, ["--help"]);
snap!(help_short, ["-h"]);
snap!(help_replay, ["replay", "--help"]);
snap!(help_show, ["show", "--help"]);
snap!(help_layout, ["layout", "--help"]);
snap!(help_stress, ["stress", "--help"]);
snap!(help_functions, ["functions", "--help"]);
snap!(help_completions, ["completions", "--help"]);
snap!(help_subcommand, ["help", "show"]);
snap!(version, ["--version"]);

// Usage errors: one line, exit 2, a suggestion where one is near.
snap!(error_no_command, []);
snap!(error_unknown_command, ["replya"]);
snap!(error_replay_no_file, ["replay"]);
snap!(error_replay_unknown_option, ["replay", "--jsn", "x.kmem"]);
snap!(error_replay_missing_file, ["replay", "no-such.kmem"]);
snap!(error_replay_directory, ["replay", "corpus"]);
snap!(error_replay_stdin_twice, ["replay", "-", "-"]);
snap!(
    error_replay_parse,
    ["replay", "-"],
    "p = kmalloc 8 GFP_KERNEL\nkfree p\nq = kmaloc 16 GFP_KERNEL\n"
);
snap!(
    error_replay_flag,
    ["replay", "-"],
    "p = kmalloc 8 GFP_KERNL\n"
);
snap!(
    error_replay_slab_flag,
    ["replay", "-"],
    "c = kmem_cache_create a 64 0 SLAB_POISSON\n"
);
snap!(
    error_replay_boot_key,
    ["replay", "-"],
    "boot slab_debug=FZ\n"
);
snap!(
    error_replay_json,
    ["replay", "--json", "-", "no-such.kmem"],
    "boot mem=8M\n"
);
snap!(
    error_show_scenario_text,
    ["show", "corpus/regressions/page-double-free.kmem"]
);
snap!(error_show_no_target, ["show", "README.md"]);
snap!(error_show_bad_target, ["show", "--target=slb", "x"]);
snap!(error_layout_unknown_key, ["layout", "slab_debug=FZ"]);
snap!(error_layout_bad_value, ["layout", "mem=8M"]);
snap!(error_stress_number, ["stress", "--iters", "lots"]);
snap!(error_stress_oracle, ["stress", "--oracle=maybe"]);
snap!(error_completions_shell, ["completions", "tcsh"]);

// Output for fixed inputs.
snap!(functions, ["functions"]);
snap!(layout_default, ["layout"]);
snap!(
    layout_x86_64,
    ["layout", "arch=x86_64", "mem=1G", "slub_debug=FZ"]
);
// The three i386 layouts: 6.6 with highmem, the classic 2.6 one, and PAE beyond 4G.
snap!(layout_i386_6_6_highmem, ["layout", "mem=1G"]);
snap!(layout_i386_2_6, ["layout", "kernel=2.6", "mem=1G"]);
snap!(layout_i386_pae, ["layout", "pae=1", "mem=8G"]);
snap!(
    layout_i386_2_6_pae,
    ["layout", "kernel=2.6", "pae=1", "mem=2G"]
);
snap!(error_layout_pae_x86_64, ["layout", "arch=x86_64", "pae=1"]);
snap!(error_layout_mem_without_pae, ["layout", "mem=8G"]);
snap!(
    replay_stdin,
    ["replay", "-"],
    "boot arch=i386 mem=32M page_poison=1\na = __get_free_page GFP_KERNEL\nfree_page a\n\
     write a+128 8 0x41\nb = __get_free_page GFP_KERNEL\nread b 256\nfree_page b\n"
);
snap!(
    replay_json_stdin,
    ["replay", "--json", "-"],
    "c = kmem_cache_create t 64 0 0\np = kmem_cache_alloc c GFP_KERNEL\n\
     write p+64 1 0x41\nkmem_cache_free c p\nq = alloc_pages GFP_KERNEL 12\n"
);
snap!(
    replay_several,
    [
        "replay",
        "corpus/regressions/page-double-free.kmem",
        "corpus/regressions/slub-double-free.kmem"
    ]
);
snap!(help_encode, ["encode", "--help"]);
snap!(
    error_encode_family,
    [
        "encode",
        "--target",
        "buddy",
        "corpus/regressions/kasan-kmalloc-uaf2.kmem"
    ]
);
snap!(
    error_encode_operand,
    ["encode", "--target", "kmalloc", "-"],
    "boot arch=i386 mem=128M\nbuf = kmalloc 100 GFP_KERNEL\nwrite buf+200 1 0x00\n"
);
snap!(error_encode_no_target, ["encode", "x.kmem"]);
snap!(
    error_replay_engine_offset,
    ["replay", "-"],
    "engine buddy_system_allocator-frame arena=64K offset=100\na = allocate 4K 4K\n"
);
snap!(
    replay_engine_offset,
    ["replay", "-"],
    "engine talc arena=4K offset=3\na = allocate 24 8\nwrite a 24 0x41\nb = reallocate a 100\nread b 24\nfree b\n"
);

/// A hand-written scenario encoded for a target, then shown: the same statements under the
/// generator's names.
#[test]
fn encode_then_show() {
    let scenario = "boot arch=i386 mem=128M slub_debug=FZP\nbuf = kmalloc 100 GFP_KERNEL\n\
                    write buf+4 8 0xaa\nspin_lock\nsmall = kmalloc 16 GFP_ATOMIC\n\
                    spin_unlock\nkfree buf\n";
    let mut enc = kmemfuzz()
        .args(["encode", "--target", "kmalloc", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kmemfuzz");
    enc.stdin
        .take()
        .expect("stdin")
        .write_all(scenario.as_bytes())
        .expect("write");
    let bytes = enc.wait_with_output().expect("encode output");
    assert!(
        bytes.status.success(),
        "{}",
        String::from_utf8_lossy(&bytes.stderr)
    );
    let mut show = kmemfuzz()
        .args(["show", "--target", "kmalloc", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run kmemfuzz");
    show.stdin
        .take()
        .expect("stdin")
        .write_all(&bytes.stdout)
        .expect("write");
    let shown = show.wait_with_output().expect("show output");
    insta::assert_snapshot!(
        "encode_then_show",
        format!(
            "$ kmemfuzz encode --target kmalloc - <<EOF\n{scenario}EOF\n{} bytes\n\
             $ kmemfuzz show --target kmalloc -\n{}",
            bytes.stdout.len(),
            String::from_utf8_lossy(&shown.stdout)
        )
    );
}

snap!(show_by_folder, ["show", "tests/fixtures/slab/input-1"]);
snap!(
    show_by_option,
    ["show", "--target", "kmalloc", "tests/fixtures/slab/input-1"]
);

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = kmemfuzz().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        for sub in ["replay", "show", "layout", "stress", "functions"] {
            assert!(text.contains(sub), "{shell}: {sub}");
        }
    }
}

#[test]
fn stress_with_no_iterations_prints_no_nan() {
    let out = kmemfuzz()
        .args(["stress", "--iters", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("0 scenarios, 0 operations"), "{text}");
    assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
}

#[test]
fn stress_runs_jobs_on_their_own_seeds_and_stops_on_time() {
    let out = kmemfuzz()
        .args(["stress", "--iters", "3", "--jobs", "2", "--target", "kmap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("target kmap, seeds 1..=2 (2 jobs): 6 scenarios"),
        "{text}"
    );
    let out = kmemfuzz()
        .args([
            "stress",
            "--time",
            "0.3",
            "--progress",
            "0.1",
            "--oracle",
            "on",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("wall time:"), "{text}");
    assert!(!text.contains("model alone"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("kmemfuzz stress: "), "{err}");
    let out = kmemfuzz().args(["stress", "--jobs", "0"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_closed_pipe_ends_quietly_with_141() {
    // Every regression's replay is far more than a pipe holds, so writes go on after the
    // reader is gone.
    let files: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/regressions"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path().display().to_string())
            .filter(|p| p.ends_with(".kmem"))
            .collect();
    let mut child = kmemfuzz()
        .arg("replay")
        .args(&files)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_failed_write_is_an_error() {
    for args in [
        &["layout"][..],
        &["replay", "corpus/regressions/page-double-free.kmem"],
        &["functions"],
        &["--help"],
    ] {
        let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return; // not Linux
        };
        let out = kmemfuzz()
            .args(args)
            .stdout(Stdio::from(full))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains("cannot write to standard output"),
            "{args:?}: {err}"
        );
    }
}
