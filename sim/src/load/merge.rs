//! Shard reports merged into one: counts summed, histograms added exactly (so percentiles are
//! those of all samples together), each shard's generator health kept, the verdict judged anew.

use super::report::{LoadReport, StepReport};

/// Why reports cannot be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no load reports to merge")]
    Empty,
    /// The reports are not shards of one test.
    #[error("report {index} is not a shard of the same test: {reason}")]
    Mismatch {
        /// Its position, from 1.
        index: usize,
        /// What differs.
        reason: String,
    },
    /// A histogram could not be read.
    #[error(transparent)]
    Report(#[from] super::report::ReportError),
}

/// Merges shard reports of one test.
pub fn merge(reports: &[LoadReport]) -> Result<LoadReport, MergeError> {
    let first = reports.first().ok_or(MergeError::Empty)?;
    for (i, r) in reports.iter().enumerate().skip(1) {
        let reason = if r.config.shape != first.config.shape {
            Some(format!(
                "shape `{}` vs `{}`",
                r.config.shape, first.config.shape
            ))
        } else if r.steps.len() != first.steps.len() {
            Some(format!("{} steps vs {}", r.steps.len(), first.steps.len()))
        } else if r.mode != first.mode {
            Some(format!("mode `{}` vs `{}`", r.mode, first.mode))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(MergeError::Mismatch {
                index: i + 1,
                reason,
            });
        }
    }
    let mut steps = Vec::new();
    for (s, step) in first.steps.iter().enumerate() {
        let parts: Vec<&StepReport> = reports.iter().map(|r| &r.steps[s]).collect();
        steps.push(merge_steps(step.label.clone(), &parts)?);
    }
    let totals: Vec<&StepReport> = reports.iter().map(|r| &r.total).collect();
    let total = merge_steps("total".into(), &totals)?;
    let mut merged = LoadReport {
        format: first.format.clone(),
        target: first.target.clone(),
        mode: first.mode.clone(),
        scenarios: first.scenarios.clone(),
        config: first.config.clone(),
        interrupted: reports.iter().any(|r| r.interrupted),
        steps,
        total,
        intervals: reports.iter().flat_map(|r| r.intervals.clone()).collect(),
        capacity: None,
        warnings: Vec::new(),
    };
    merged.config.shards = reports.len() as u64;
    let ladder = first.config.shape.starts_with("ladder");
    // The shards' own warnings about sharding no longer apply; the rest are judged again.
    merged.judge(ladder);
    Ok(merged)
}

fn merge_steps(label: String, parts: &[&StepReport]) -> Result<StepReport, MergeError> {
    let mut metrics = super::metrics::Metrics::new();
    for p in parts {
        metrics.add(&p.metrics()?);
    }
    let target = parts.iter().map(|p| p.target_calls).sum();
    let duration = parts.iter().map(|p| p.duration_s).fold(0.0, f64::max);
    let generator = parts.iter().flat_map(|p| p.generator.clone()).collect();
    Ok(StepReport::new(
        label, target, duration, &metrics, generator,
    ))
}
