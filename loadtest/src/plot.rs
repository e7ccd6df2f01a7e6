//! SVG plots of reports: the latency CDF and the throughput over time, one line per target so
//! the side-by-side run draws Qivr, Socket.IO and the bare ceiling on one chart.

use std::path::Path;

use plotters::prelude::*;

const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// Latency (log x axis, ms) against the fraction of deliveries at or under it.
pub fn latency_cdf(
    path: &Path,
    title: &str,
    series: &[(&str, &[(f64, f64)])],
) -> anyhow::Result<()> {
    let points = series.iter().flat_map(|(_, s)| s.iter());
    let (lo, hi) = points.fold((f64::MAX, 0f64), |(lo, hi), (x, _)| {
        (lo.min(*x), hi.max(*x))
    });
    let lo = lo.max(0.001).min(hi / 2.0).max(0.001);
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{title}: latency CDF"), ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((lo..hi * 1.1).log_scale(), 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc("latency (ms, log scale)")
        .y_desc("fraction of deliveries")
        .draw()?;
    for (n, (label, points)) in series.iter().enumerate() {
        let colour = COLOURS[n % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|(x, y)| (x.max(lo), *y)),
                colour.stroke_width(2),
            ))?
            .label(*label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Deliveries per second over the run.
pub fn throughput(
    path: &Path,
    title: &str,
    series: &[(&str, &[(f64, f64)])],
) -> anyhow::Result<()> {
    let (t_max, y_max) = series
        .iter()
        .flat_map(|(_, s)| s.iter())
        .fold((0f64, 0f64), |(t, y), (x, v)| (t.max(*x), y.max(*v)));
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{title}: deliveries per second"),
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..t_max.max(0.1) * 1.05, 0f64..y_max.max(1.0) * 1.1)?;
    chart
        .configure_mesh()
        .x_desc("seconds since start")
        .y_desc("deliveries / s")
        .draw()?;
    for (n, (label, points)) in series.iter().enumerate() {
        let colour = COLOURS[n % COLOURS.len()];
        // Points too: a short run may fill only a bucket or two.
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, colour.filled())))?;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                colour.stroke_width(2),
            ))?
            .label(*label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()?;
    root.present()?;
    Ok(())
}
