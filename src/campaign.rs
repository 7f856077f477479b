//! `kmemfuzz campaign`: the record, report and comparison of `scripts/fuzz` campaigns
//! (kmem_campaign).

use kmem_campaign::commands;

use crate::cli::{CampaignArgs, CampaignCommand};
use crate::out::{Fail, Out, Outcome};

pub fn command(a: &CampaignArgs, out: &mut Out) -> Outcome {
    match &a.command {
        CampaignCommand::Record { dir } => {
            let path = commands::record(dir).map_err(Fail::Usage)?;
            out.line(&path.display().to_string())?;
        }
        CampaignCommand::Report { dir } => {
            for path in commands::report(dir).map_err(Fail::Usage)? {
                out.line(&path.display().to_string())?;
            }
        }
        CampaignCommand::Compare { old, new } => {
            out.put(&commands::compare(old, new).map_err(Fail::Usage)?)?;
        }
        CampaignCommand::Merge {
            out: dir,
            campaigns,
        } => {
            let path = commands::merge(dir, campaigns).map_err(Fail::Usage)?;
            out.line(&path.display().to_string())?;
        }
    }
    Ok(0)
}
