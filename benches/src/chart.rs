//! SVG charts of benchmark results (plotters, SVG backend only).

use std::path::Path;

use anyhow::Context;
use plotters::prelude::*;

/// One line of a chart: a name, a colour, and (x, y) points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Line colour (RGB).
    pub color: (u8, u8, u8),
    /// Dashed (for a second system drawn in the same colours).
    pub dashed: bool,
    /// Points, any order (sorted by x when drawn).
    pub points: Vec<(f64, f64)>,
}

/// The range of `values` widened to a log axis: a factor around the extremes, and a decade when
/// there is only one value.
fn log_range(values: impl Iterator<Item = f64>) -> Option<std::ops::Range<f64>> {
    let (low, high) = values
        .filter(|value| value.is_finite() && *value > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(low, high), value| (low.min(value), high.max(value)));
    if !low.is_finite() {
        return None;
    }
    Some(low / 2.0..high * 2.0)
}

/// The 1–2–5 points of each decade within `range` (the labelled ticks of a log axis).
fn nice_log_points(range: &std::ops::Range<f64>) -> Vec<f64> {
    let mut points = Vec::new();
    let mut decade = 10f64.powi(range.start.log10().floor() as i32);
    while decade <= range.end {
        for step in [1.0, 2.0, 5.0] {
            let point = decade * step;
            if point >= range.start && point <= range.end {
                points.push(point);
            }
        }
        decade *= 10.0;
    }
    points
}

/// Renders a log–log line chart of `series` as SVG text (`width`×`height` pixels). Series
/// without points are left out of the legend; with no point at all, the chart says so.
pub fn log_log_svg(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    (width, height): (u32, u32),
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|error| anyhow::anyhow!("{error}"))?;
        let points = || series.iter().flat_map(|series| series.points.iter());
        let (Some(x_range), Some(y_range)) =
            (log_range(points().map(|(x, _)| *x)), log_range(points().map(|(_, y)| *y)))
        else {
            root.draw(&Text::new(format!("{title}: no results yet"), (20, 20), ("sans-serif", 18)))
                .map_err(|error| anyhow::anyhow!("{error}"))?;
            root.present().map_err(|error| anyhow::anyhow!("{error}"))?;
            drop(root);
            return Ok(svg);
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(
                x_range.clone().log_scale().with_key_points(nice_log_points(&x_range)),
                y_range.clone().log_scale().with_key_points(nice_log_points(&y_range)),
            )
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|x| crate::pg::report::size_label(x.round() as u64))
            .y_label_formatter(&|y| if *y >= 10.0 { format!("{y:.0}") } else { format!("{y:.2}") })
            .draw()
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        for line in series.iter().filter(|series| !series.points.is_empty()) {
            let mut points = line.points.clone();
            points.sort_by(|left, right| left.0.total_cmp(&right.0));
            let (red, green, blue) = line.color;
            let color = RGBColor(red, green, blue);
            let style = ShapeStyle { color: color.to_rgba(), filled: true, stroke_width: 2 };
            let annotation = if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(points.iter().copied(), 8, 5, style))
                    .map_err(|error| anyhow::anyhow!("{error}"))?;
                chart
                    .draw_series(points.iter().map(|point| Circle::new(*point, 4, style)))
                    .map_err(|error| anyhow::anyhow!("{error}"))?
            } else {
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), style).point_size(4))
                    .map_err(|error| anyhow::anyhow!("{error}"))?
            };
            annotation
                .label(line.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        root.present().map_err(|error| anyhow::anyhow!("{error}"))?;
    }
    Ok(svg)
}

/// Writes [`log_log_svg`] to `path`.
pub fn write_log_log_svg(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> anyhow::Result<()> {
    let svg = log_log_svg(title, x_label, y_label, series, (900, 560))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, svg).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_its_title_legend_and_points() {
        let series = [
            Series {
                name: "contract-search free text".into(),
                color: (31, 119, 180),
                dashed: false,
                points: vec![(1_500_000.0, 3.0), (100_000.0, 1.2)],
            },
            Series {
                name: "PostgreSQL free text".into(),
                color: (214, 39, 40),
                dashed: true,
                points: vec![(100_000.0, 60.0)],
            },
            Series { name: "nothing".into(), color: (0, 0, 0), dashed: false, points: vec![] },
        ];
        let svg = log_log_svg("p99 latency", "contracts", "p99 ms", &series, (600, 400)).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("p99 latency"));
        assert!(svg.contains("contract-search free text") && svg.contains("PostgreSQL free text"));
        assert!(!svg.contains("nothing"), "a series without points has no legend entry");
        assert!(svg.contains("<circle"), "points are marked");
        assert!(svg.contains(">\n100k\n<") && svg.contains(">\n1m\n<"), "sizes label the x axis: {svg}");
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = log_log_svg("p99 latency", "x", "y", &[], (300, 200)).unwrap();
        assert!(svg.contains("no results yet"));
    }

    #[test]
    fn log_ranges_pad_the_extremes() {
        assert_eq!(log_range([2.0, 8.0, f64::NAN, 0.0].into_iter()), Some(1.0..16.0));
        assert_eq!(log_range([5.0].into_iter()), Some(2.5..10.0));
        assert_eq!(log_range(std::iter::empty()), None);
        assert_eq!(nice_log_points(&(1.5..60.0)), [2.0, 5.0, 10.0, 20.0, 50.0]);
        assert_eq!(nice_log_points(&(50_000.0..300_000.0)), [50_000.0, 100_000.0, 200_000.0]);
    }
}
