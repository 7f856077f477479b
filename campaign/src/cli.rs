//! The `kmemfuzz-campaign` command. Errors are one line on stderr and exit status 2.

use std::path::Path;

use crate::record::{from_dir, reason, Campaign};
use crate::{compare, plot, report};

pub const USAGE: &str = "usage: kmemfuzz-campaign record DIR        # DIR/campaign.json from scripts/fuzz's raw files
       kmemfuzz-campaign report DIR        # DIR/report.md, summary.md, coverage.svg, exec-rate.svg
       kmemfuzz-campaign compare OLD NEW   # OLD and NEW: campaign directories or campaign.json files
       kmemfuzz-campaign merge OUT DIR...  # OUT/campaign.json: campaigns run side by side, as one";

pub fn main(args: &[String]) -> i32 {
    match run(args) {
        Ok(()) => 0,
        Err(msg) => {
            eprintln!("kmemfuzz-campaign: {msg}");
            2
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {}", path.display(), reason(&e)))
}

fn dir_arg<'a>(cmd: &str, rest: &'a [String]) -> Result<&'a Path, String> {
    match rest {
        [d] if !d.starts_with('-') => {
            let p = Path::new(d);
            if p.is_dir() {
                Ok(p)
            } else {
                Err(format!("{d}: not a campaign directory"))
            }
        }
        _ => Err(format!("{cmd} takes one campaign directory\n{USAGE}")),
    }
}

pub fn run(args: &[String]) -> Result<(), String> {
    let Some((cmd, rest)) = args.split_first() else {
        return Err(format!("no command\n{USAGE}"));
    };
    match cmd.as_str() {
        "record" => {
            let dir = dir_arg(cmd, rest)?;
            let c = from_dir(dir)?;
            let path = dir.join("campaign.json");
            write(&path, &c.to_json())?;
            println!("{}", path.display());
            Ok(())
        }
        "report" => {
            let dir = dir_arg(cmd, rest)?;
            let c = Campaign::load(dir)?;
            let json = dir.join("campaign.json");
            if !json.exists() {
                write(&json, &c.to_json())?;
            }
            let plots = plot::write_plots(&c, dir)?;
            write(&dir.join("report.md"), &report::report(&c, &plots))?;
            write(&dir.join("summary.md"), &report::summary(&c))?;
            for f in ["report.md", "summary.md"].iter().chain(&plots) {
                println!("{}", dir.join(f).display());
            }
            Ok(())
        }
        "compare" => {
            let [old, new] = rest else {
                return Err(format!("compare takes two campaigns, OLD and NEW\n{USAGE}"));
            };
            let a = Campaign::load(Path::new(old))?;
            let b = Campaign::load(Path::new(new))?;
            print!("{}", compare::compare(&a, &b, old, new));
            Ok(())
        }
        "merge" => {
            let Some((out, parts)) = rest.split_first().filter(|(_, p)| !p.is_empty()) else {
                return Err(format!(
                    "merge takes OUT and at least one campaign\n{USAGE}"
                ));
            };
            let parts = parts
                .iter()
                .map(|p| Campaign::load(Path::new(p)))
                .collect::<Result<Vec<_>, _>>()?;
            let out = Path::new(out);
            std::fs::create_dir_all(out)
                .map_err(|e| format!("{}: {}", out.display(), reason(&e)))?;
            let path = out.join("campaign.json");
            write(&path, &Campaign::merge(&parts).to_json())?;
            println!("{}", path.display());
            Ok(())
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!(
            "unknown command '{other}' (try kmemfuzz-campaign help)"
        )),
    }
}
