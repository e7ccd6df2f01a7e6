//! The side-by-side run's verdict: Qivr against the bare ceiling and Socket.IO, from the
//! reports in one output directory, as ratios against DESIGN §11's targets, with combined
//! plots (one line per target).

use std::fmt::Write;
use std::path::Path;

use crate::plot;
use crate::report::Report;

/// Targets in plotting order.
const TARGETS: [&str; 3] = ["qivr", "bare", "socketio"];

/// Reads `dir`'s reports, writes `comparison.md` and the combined plots, and returns the text.
pub fn run(dir: &Path) -> anyhow::Result<String> {
    let load = |target: &str, scenario: &str| {
        Report::read(&dir.join(format!("{target}-{scenario}.json"))).ok()
    };
    let mut out = String::new();
    let mut row = |what: &str, value: Option<f64>, target: &str| {
        let value = value.map_or("n/a".to_string(), |v| format!("{v:.2}"));
        let _ = writeln!(out, "| {what} | {value} | {target} |");
    };
    let ratio = |a: Option<f64>, b: Option<f64>| Some(a? / b?.max(1e-9));
    let metric = |r: &Option<Report>, name: &str| r.as_ref().and_then(|r| r.get(name));
    let p99 = |r: &Option<Report>| {
        r.as_ref()
            .and_then(|r| r.latency.as_ref())
            .map(|l| l.p99_ms)
    };

    let peak = TARGETS.map(|t| load(t, "fanout-peak"));
    let rate = TARGETS.map(|t| load(t, "fanout-rate"));
    let idle = TARGETS.map(|t| load(t, "idle"));
    let [qivr_peak, bare_peak, sio_peak] = &peak;
    let [qivr_rate, bare_rate, sio_rate] = &rate;
    row(
        "fan-out peak deliveries/s, Qivr ÷ bare",
        ratio(
            metric(qivr_peak, "deliveries/s"),
            metric(bare_peak, "deliveries/s"),
        ),
        "≥ 0.80",
    );
    row(
        "fan-out p99 at a moderate rate, Qivr ÷ bare",
        ratio(p99(qivr_rate), p99(bare_rate)),
        "≤ 1.25",
    );
    row(
        "fan-out peak deliveries/s, Qivr ÷ Socket.IO",
        ratio(
            metric(qivr_peak, "deliveries/s"),
            metric(sio_peak, "deliveries/s"),
        ),
        "≥ 20",
    );
    row(
        "fan-out p99 at a moderate rate, Qivr ÷ Socket.IO",
        ratio(p99(qivr_rate), p99(sio_rate)),
        "< 1",
    );
    for (target, report) in TARGETS.iter().zip(&idle) {
        row(
            &format!("idle memory per connection, {target} (KiB)"),
            metric(report, "memory per connection"),
            if *target == "qivr" { "< 10" } else { "" },
        );
    }
    let qivr = |scenario: &str| load("qivr", scenario);
    for scenario in ["chat-target", "chat-sustained"] {
        let report = qivr(scenario);
        row(
            &format!("{scenario}: sends/s achieved"),
            metric(&report, "sends/s achieved"),
            "2000",
        );
        row(
            &format!("{scenario}: end-to-end p99 (ms)"),
            p99(&report),
            "< 25",
        );
    }
    let storm = qivr("storm");
    row(
        "storm: time until all recovered (ms)",
        metric(&storm, "time until all recovered"),
        "",
    );
    row(
        "storm: events lost",
        metric(&storm, "events lost (gaps)"),
        "0",
    );
    row(
        "slow: normal clients' p99, with ÷ without slow clients",
        metric(&qivr("slow"), "p99 ratio (with / without)"),
        "≈ 1",
    );
    let table = format!("| measure | value | target |\n| --- | --- | --- |\n{out}");

    for (scenario, reports) in [("fanout-peak", &peak), ("fanout-rate", &rate)] {
        let present: Vec<&Report> = reports.iter().flatten().collect();
        if present.is_empty() {
            continue;
        }
        let cdfs: Vec<(&str, &[(f64, f64)])> = present
            .iter()
            .map(|r| (r.target.as_str(), r.latency_cdf.as_slice()))
            .collect();
        plot::latency_cdf(
            &dir.join(format!("{scenario}-latency.svg")),
            scenario,
            &cdfs,
        )?;
        let series: Vec<(&str, &[(f64, f64)])> = present
            .iter()
            .map(|r| (r.target.as_str(), r.throughput.as_slice()))
            .collect();
        plot::throughput(
            &dir.join(format!("{scenario}-throughput.svg")),
            scenario,
            &series,
        )?;
    }
    std::fs::write(dir.join("comparison.md"), &table)?;
    Ok(table)
}
