//! Formatting and parsing of flag masks as `NAME|NAME|0x..`, the way the kernel's
//! format_flags() prints them (greedy, in table order, leftover bits in hex).

pub fn format_flags(mut mask: u64, names: impl IntoIterator<Item = (&'static str, u64)>) -> String {
    if mask == 0 {
        return "0".into();
    }
    let mut parts: Vec<String> = Vec::new();
    for (name, bits) in names {
        if bits != 0 && mask & bits == bits {
            parts.push(name.into());
            mask &= !bits;
        }
    }
    if mask != 0 {
        parts.push(format!("{mask:#x}"));
    }
    parts.join("|")
}

pub fn parse_flags(
    s: &str,
    names: impl IntoIterator<Item = (&'static str, u64)> + Clone,
    what: &str,
) -> Result<u64, String> {
    let mut mask = 0u64;
    for part in s.split('|') {
        if part.is_empty() {
            return Err(format!("empty {what} flag in '{s}'"));
        }
        if part.as_bytes()[0].is_ascii_digit() {
            mask |= crate::config::parse_number(part)
                .ok_or_else(|| format!("bad {what} flag value '{part}'"))?;
            continue;
        }
        match names.clone().into_iter().find(|&(n, _)| n == part) {
            Some((_, v)) => mask |= v,
            None => return Err(format!("unknown {what} flag '{part}'")),
        }
    }
    Ok(mask)
}
