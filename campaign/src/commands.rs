//! What `kmemfuzz campaign record|report|compare|merge` do, as functions: each returns what
//! to print, or a one-line error.

use std::path::{Path, PathBuf};

use crate::record::{from_dir, reason, Campaign};
use crate::{compare as cmp, plot, report as rep};

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {}", path.display(), reason(&e)))
}

fn campaign_dir(dir: &str) -> Result<&Path, String> {
    let p = Path::new(dir);
    if p.is_dir() {
        Ok(p)
    } else {
        Err(format!("{dir}: not a campaign directory"))
    }
}

/// Writes DIR/campaign.json from the raw files; returns its path.
pub fn record(dir: &str) -> Result<PathBuf, String> {
    let dir = campaign_dir(dir)?;
    let c = from_dir(dir)?;
    let path = dir.join("campaign.json");
    write(&path, &c.to_json())?;
    Ok(path)
}

/// Writes report.md, summary.md and the plots into DIR (and campaign.json if it is not there
/// yet); returns their paths.
pub fn report(dir: &str) -> Result<Vec<PathBuf>, String> {
    let dir = campaign_dir(dir)?;
    let c = Campaign::load(dir)?;
    let json = dir.join("campaign.json");
    if !json.exists() {
        write(&json, &c.to_json())?;
    }
    let plots = plot::write_plots(&c, dir)?;
    write(&dir.join("report.md"), &rep::report(&c, &plots))?;
    write(&dir.join("summary.md"), &rep::summary(&c))?;
    Ok(["report.md", "summary.md"]
        .iter()
        .chain(&plots)
        .map(|f| dir.join(f))
        .collect())
}

/// The comparison of two campaigns (directories or campaign.json files), as Markdown.
pub fn compare(old: &str, new: &str) -> Result<String, String> {
    let a = Campaign::load(Path::new(old))?;
    let b = Campaign::load(Path::new(new))?;
    Ok(cmp::compare(&a, &b, old, new))
}

/// Writes OUT/campaign.json, the campaigns `parts` as one; returns its path.
pub fn merge(out: &str, parts: &[String]) -> Result<PathBuf, String> {
    let parts = parts
        .iter()
        .map(|p| Campaign::load(Path::new(p)))
        .collect::<Result<Vec<_>, _>>()?;
    let out = Path::new(out);
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {}", out.display(), reason(&e)))?;
    let path = out.join("campaign.json");
    write(&path, &Campaign::merge(&parts).to_json())?;
    Ok(path)
}
