//! docs/functions.md is `kmemfuzz functions --markdown`: the page and the command cannot
//! drift apart.

#[test]
fn docs_functions_md_is_the_commands_output() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/functions.md");
    let page = std::fs::read_to_string(path).expect("docs/functions.md");
    let generated = kmemfuzz::functions::markdown(&kmemfuzz::functions::sections());
    assert!(
        page == generated,
        "docs/functions.md differs from `kmemfuzz functions --markdown`; regenerate it with\n\
         cargo run --bin kmemfuzz -- functions --markdown > docs/functions.md"
    );
}

#[test]
fn the_listing_names_every_function_flag_key_and_kind() {
    let text = kmemfuzz::functions::text(&kmemfuzz::functions::sections());
    for name in kmem_oracle::scenario::OP_NAMES {
        assert!(text.contains(&format!("  {name} ")), "{name}");
    }
    for (name, _) in kmem::gfp::GFP_NAMES {
        assert!(text.contains(name), "{name}");
    }
    for (name, _) in kmem::slab_flags::SLAB_FLAG_NAMES {
        assert!(text.contains(name), "{name}");
    }
    for k in kmem::BOOT_KEYS {
        assert!(text.contains(&format!("  {} ", k.name)), "{}", k.name);
    }
    for k in kmem::ReportKind::ALL {
        assert!(text.contains(k.as_str()), "{k}");
    }
}
