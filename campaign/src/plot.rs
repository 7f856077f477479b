//! The campaign's plots, as SVG drawn with plotters: one metric against time, one line per
//! target.

use std::path::Path;

use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordu64;
use plotters::prelude::*;

use crate::record::{Campaign, Sample};

/// What a plot shows on its y axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// libFuzzer's `cov:` (covered edges), linear axis.
    Coverage,
    /// Inputs executed per second over each interval, logarithmic axis (the parser target runs
    /// about fifty times faster than the model's).
    ExecRate,
}

impl Metric {
    pub fn title(self) -> &'static str {
        match self {
            Metric::Coverage => "Coverage (libFuzzer cov: edges) over time",
            Metric::ExecRate => "Executions per second over time (log scale)",
        }
    }

    fn y_label(self) -> &'static str {
        match self {
            Metric::Coverage => "covered edges",
            Metric::ExecRate => "exec/s",
        }
    }

    fn value(self, s: &Sample) -> Option<u64> {
        match self {
            Metric::Coverage => s.cov,
            // A log axis has no zero: an interval with no execution is left out.
            Metric::ExecRate => Some(s.exec_per_s).filter(|&v| v > 0),
        }
    }
}

/// The points of one target's line.
pub fn series(c: &Campaign, metric: Metric) -> Vec<(String, Vec<(u64, u64)>)> {
    c.targets
        .iter()
        .map(|t| {
            let pts = t
                .samples
                .iter()
                .filter_map(|s| metric.value(s).map(|v| (s.t, v)))
                .collect();
            (t.name.clone(), pts)
        })
        .collect()
}

/// Colours that stay apart on white, one per target (wrapping after ten).
const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The SVG text of one plot.
pub fn svg(c: &Campaign, metric: Metric) -> Result<String, String> {
    let data = series(c, metric);
    let t_max = data
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(t, _)| t))
        .max()
        .unwrap_or(0)
        .max(c.time_budget_s)
        .max(1);
    let values = || data.iter().flat_map(|(_, p)| p.iter().map(|&(_, v)| v));
    let v_max = values().max().unwrap_or(1).max(1);
    let v_min = values().min().unwrap_or(1).max(1);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (960, 540)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut builder = ChartBuilder::on(&root);
        builder
            .caption(metric.title(), ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(72);
        let x = 0u64..t_max;
        match metric {
            Metric::Coverage => {
                // From a little under the lowest value: coverage starts high (the seeds), and
                // an axis from zero would flatten what the campaign added.
                let y = (v_min - v_min / 10)..(v_max + v_max / 50 + 1);
                let mut chart = builder.build_cartesian_2d(x, y).map_err(err)?;
                draw(&mut chart, &data, metric)?;
            }
            Metric::ExecRate => {
                let y = ((v_min / 2).max(1)..v_max.saturating_mul(2)).log_scale();
                let mut chart = builder.build_cartesian_2d(x, y).map_err(err)?;
                draw(&mut chart, &data, metric)?;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

fn draw<'a, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordu64, Y>>,
    data: &[(String, Vec<(u64, u64)>)],
    metric: Metric,
) -> Result<(), String>
where
    Y: Ranged<ValueType = u64> + ValueFormatter<u64>,
{
    chart
        .configure_mesh()
        .x_desc("seconds since the target started")
        .y_desc(metric.y_label())
        .light_line_style(RGBColor(235, 235, 235))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (i, (name, pts)) in data.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let style = ShapeStyle::from(&colour).stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), style))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        // A lone sample has no line to show it: mark every point.
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 2, colour.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(())
}

fn err<E: std::fmt::Display>(e: E) -> String {
    format!("plot: {e}")
}

/// Writes `coverage.svg` and `exec-rate.svg` into `dir`; returns their file names.
pub fn write_plots(c: &Campaign, dir: &Path) -> Result<Vec<&'static str>, String> {
    let mut names = vec![];
    for (metric, name) in [
        (Metric::Coverage, "coverage.svg"),
        (Metric::ExecRate, "exec-rate.svg"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, svg(c, metric)?)
            .map_err(|e| format!("{}: {}", path.display(), crate::record::reason(&e)))?;
        names.push(name);
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::TargetRecord;

    fn sample(t: u64, exec_per_s: u64, cov: Option<u64>) -> Sample {
        Sample {
            t,
            exec_per_s,
            cov,
            ..Sample::default()
        }
    }

    fn campaign() -> Campaign {
        let target = |name: &str, samples| TargetRecord {
            name: name.into(),
            samples,
            ..TargetRecord::default()
        };
        Campaign {
            time_budget_s: 20,
            targets: vec![
                target(
                    "buddy",
                    vec![
                        sample(1, 0, None),
                        sample(2, 2000, Some(2400)),
                        sample(3, 1800, Some(2500)),
                    ],
                ),
                target("scenario_parser", vec![sample(2, 60000, Some(1100))]),
            ],
            ..Campaign::default()
        }
    }

    #[test]
    fn series_leave_out_what_has_no_value() {
        let c = campaign();
        let cov = series(&c, Metric::Coverage);
        assert_eq!(cov[0], ("buddy".to_string(), vec![(2, 2400), (3, 2500)]));
        let rate = series(&c, Metric::ExecRate);
        assert_eq!(
            rate[0].1,
            vec![(2, 2000), (3, 1800)],
            "no zero on a log axis"
        );
        assert_eq!(rate[1].1, vec![(2, 60000)]);
    }

    #[test]
    fn the_svg_has_a_line_and_a_legend_entry_per_target() {
        let c = campaign();
        for m in [Metric::Coverage, Metric::ExecRate] {
            let s = svg(&c, m).unwrap();
            assert!(s.starts_with("<svg"), "{}", &s[..s.len().min(200)]);
            assert!(s.contains(m.title()));
            for name in ["buddy", "scenario_parser"] {
                assert!(
                    s.contains(&format!("\n{name}\n</text>")),
                    "{name} not in the legend"
                );
            }
            // Each target's colour strokes its line and its legend mark.
            for colour in ["#1F77B4", "#FF7F0E"] {
                let stroke = format!("stroke=\"{colour}\" stroke-width=\"2\"");
                assert_eq!(s.matches(&stroke).count(), 2, "{colour}");
            }
            // The same record draws the same picture.
            assert_eq!(s, svg(&c, m).unwrap());
        }
    }

    #[test]
    fn an_empty_campaign_still_draws_axes() {
        let s = svg(&Campaign::default(), Metric::ExecRate).unwrap();
        assert!(s.contains("exec/s"));
    }
}
