//! What a scenario run measured: a summary table for the terminal, a JSON report and plots
//! (latency CDF, throughput over time) written under an output directory.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plot;

/// Deliveries one client saw: when each arrived (µs after the run's start) and its latency.
#[derive(Debug, Default, Clone)]
pub struct Samples(pub Vec<(u32, u32)>);

impl Samples {
    pub fn with_capacity(n: usize) -> Self {
        Self(Vec::with_capacity(n))
    }

    /// Records a delivery arriving `now`, sent at `sent_ns` after `start`.
    pub fn record(&mut self, start: Instant, now: Instant, sent_ns: u64) {
        let at = now.saturating_duration_since(start);
        let latency_ns = (at.as_nanos() as u64).saturating_sub(sent_ns);
        self.0.push((
            at.as_micros().min(u32::MAX as u128) as u32,
            (latency_ns / 1000).min(u32::MAX as u64) as u32,
        ));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// All clients' deliveries together: the latency distribution and deliveries over time.
pub struct Deliveries {
    /// Publish (or send) → receipt, in microseconds.
    pub latency_us: Histogram<u64>,
    /// Deliveries per [`BUCKET`] since the run's start.
    pub per_bucket: Vec<u64>,
    pub first_us: Option<u32>,
    pub last_us: Option<u32>,
}

/// The throughput plot's resolution.
pub const BUCKET: Duration = Duration::from_millis(100);

impl Default for Deliveries {
    fn default() -> Self {
        Self {
            latency_us: Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds"),
            per_bucket: Vec::new(),
            first_us: None,
            last_us: None,
        }
    }
}

impl Deliveries {
    pub fn add(&mut self, samples: &Samples) {
        let bucket_us = BUCKET.as_micros() as u32;
        for &(at, latency) in &samples.0 {
            self.latency_us.saturating_record(latency.max(1) as u64);
            let bucket = (at / bucket_us) as usize;
            if self.per_bucket.len() <= bucket {
                self.per_bucket.resize(bucket + 1, 0);
            }
            self.per_bucket[bucket] += 1;
            self.first_us = Some(self.first_us.map_or(at, |f| f.min(at)));
            self.last_us = Some(self.last_us.map_or(at, |l| l.max(at)));
        }
    }

    pub fn count(&self) -> u64 {
        self.latency_us.len()
    }

    /// Deliveries per second over the time from `from` (µs after start) to the last delivery.
    pub fn rate_since(&self, from_us: u64) -> f64 {
        let span = self.last_us.map_or(0, |l| l as u64).saturating_sub(from_us);
        self.count() as f64 / (span as f64 / 1e6).max(1e-6)
    }

    /// Deliveries per second in each bucket, as `(seconds since start, per second)`.
    pub fn throughput(&self) -> Vec<(f64, f64)> {
        let secs = BUCKET.as_secs_f64();
        self.per_bucket
            .iter()
            .enumerate()
            .map(|(n, &count)| (n as f64 * secs, count as f64 / secs))
            .collect()
    }
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p90_ms: ms(h.value_at_quantile(0.9)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// One line of the summary table (and one field of the JSON report).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metric {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

/// A scenario's result.
#[derive(Serialize, Deserialize)]
pub struct Report {
    pub scenario: String,
    /// What was measured: `qivr`, `socketio` or `bare`.
    pub target: String,
    pub parameters: Value,
    pub metrics: Vec<Metric>,
    pub latency: Option<Latency>,
    /// `(latency ms, fraction of deliveries at or under it)`.
    pub latency_cdf: Vec<(f64, f64)>,
    /// `(seconds since start, deliveries per second)`.
    pub throughput: Vec<(f64, f64)>,
}

impl Report {
    pub fn new(scenario: &str, target: &str, parameters: Value) -> Self {
        Self {
            scenario: scenario.into(),
            target: target.into(),
            parameters,
            metrics: Vec::new(),
            latency: None,
            latency_cdf: Vec::new(),
            throughput: Vec::new(),
        }
    }

    pub fn metric(&mut self, name: &str, value: f64, unit: &str) -> &mut Self {
        self.metrics.push(Metric {
            name: name.into(),
            value,
            unit: unit.into(),
        });
        self
    }

    /// The value of metric `name`, if recorded.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.value)
    }

    /// Takes the latency distribution and the throughput series from `deliveries`.
    pub fn deliveries(&mut self, deliveries: &Deliveries) -> &mut Self {
        let h = &deliveries.latency_us;
        if h.is_empty() {
            return self;
        }
        self.latency = Some(Latency::of(h));
        self.latency_cdf = (0..=1000)
            .map(|n| {
                let q = 1.0 - 10f64.powf(-(n as f64) / 250.0);
                (h.value_at_quantile(q) as f64 / 1000.0, q)
            })
            .collect();
        self.latency_cdf.dedup_by(|a, b| a.0 == b.0);
        self.throughput = deliveries.throughput();
        self
    }

    /// Reads a report written by [`Self::write`].
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }

    /// `<dir>/<target>-<scenario>.json` and its plots.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let stem = format!("{}-{}", self.target, self.scenario);
        std::fs::write(
            dir.join(format!("{stem}.json")),
            serde_json::to_string_pretty(self)?,
        )?;
        let title = format!("{} {}", self.target, self.scenario);
        if !self.latency_cdf.is_empty() {
            plot::latency_cdf(
                &dir.join(format!("{stem}-latency.svg")),
                &title,
                &[(&self.target, &self.latency_cdf)],
            )?;
        }
        if !self.throughput.is_empty() {
            plot::throughput(
                &dir.join(format!("{stem}-throughput.svg")),
                &title,
                &[(&self.target, &self.throughput)],
            )?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "── {} · {} ──", self.scenario, self.target)?;
        let mut rows: Vec<(String, String)> = self
            .metrics
            .iter()
            .map(|m| (m.name.clone(), format!("{} {}", human(m.value), m.unit)))
            .collect();
        if let Some(l) = &self.latency {
            rows.push((
                "latency p50 / p99 / p99.9 / max".into(),
                format!(
                    "{:.2} / {:.2} / {:.2} / {:.2} ms",
                    l.p50_ms, l.p99_ms, l.p999_ms, l.max_ms
                ),
            ));
        }
        let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
        for (name, value) in rows {
            writeln!(f, "  {name:<width$}  {value}")?;
        }
        Ok(())
    }
}

/// A number for the table: whole numbers and large ones without decimals, others with two.
fn human(value: f64) -> String {
    if value.fract() == 0.0 || value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// A progress bar for a long phase, on stderr (hidden when stderr is not a terminal).
pub fn progress(len: u64, message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>12} [{bar:40}] {pos}/{len} {per_sec} {elapsed}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}
