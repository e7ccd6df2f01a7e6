//! The standard instruments Qivr ships (facts in `shared/PROMS.md`).
//!
//! PHQ-9 and GAD-7 may be reproduced freely, so they ship with their items. ODI, NDI,
//! QuickDASH and KOOS are licensed (or not verified to be free): they ship as scoring rules
//! over placeholder items, whose wording a clinic enters in the template builder from the
//! version it is licensed to use. Ids and values stay, so the scoring rule keeps working.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::definition::{AlertRule, Band, ChoiceOption, Definition, Item, ItemType, Method, ScaleRule, Section};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PromInstrument)]
pub enum Instrument {
    Phq9,
    Gad7,
    Odi,
    Ndi,
    QuickDash,
    Koos,
}

impl Instrument {
    pub const ALL: [Instrument; 6] = [Instrument::Phq9, Instrument::Gad7, Instrument::Odi, Instrument::Ndi, Instrument::QuickDash, Instrument::Koos];

    pub fn as_str(self) -> &'static str {
        match self {
            Instrument::Phq9 => "phq9",
            Instrument::Gad7 => "gad7",
            Instrument::Odi => "odi",
            Instrument::Ndi => "ndi",
            Instrument::QuickDash => "quick_dash",
            Instrument::Koos => "koos",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Instrument::Phq9 => "PHQ-9 (depression)",
            Instrument::Gad7 => "GAD-7 (anxiety)",
            Instrument::Odi => "Oswestry Disability Index",
            Instrument::Ndi => "Neck Disability Index",
            Instrument::QuickDash => "QuickDASH",
            Instrument::Koos => "KOOS (knee)",
        }
    }

    /// Whether the items' wording ships too, or the clinic enters it.
    pub fn ships_items(self) -> bool {
        matches!(self, Instrument::Phq9 | Instrument::Gad7)
    }
}

const PHQ9_ITEMS: [&str; 9] = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
];

const GAD7_ITEMS: [&str; 7] = [
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
];

const FREQUENCY: [&str; 4] = ["Not at all", "Several days", "More than half the days", "Nearly every day"];

/// KOOS subscales: id, label, item prefix, size, minimum answered ("KOOS Scoring 2012").
const KOOS_SUBSCALES: [(&str, &str, &str, usize, usize); 5] = [
    ("pain", "Pain", "p", 9, 5),
    ("symptoms", "Symptoms", "s", 7, 4),
    ("adl", "Activities of daily living", "a", 17, 9),
    ("sport_rec", "Sport and recreation", "sp", 5, 3),
    ("qol", "Knee-related quality of life", "q", 4, 2),
];

/// The instrument's definition, ready to save as a template's first version.
pub fn definition(instrument: Instrument) -> Definition {
    match instrument {
        Instrument::Phq9 => frequency_sum(
            "phq9",
            "Over the last 2 weeks, how often have you been bothered by any of the following problems?",
            &PHQ9_ITEMS,
            &[(4.0, "Minimal"), (9.0, "Mild"), (14.0, "Moderate"), (19.0, "Moderately severe"), (27.0, "Severe")],
            vec![AlertRule { item: "phq9_9".into(), above: 0.0, message: "PHQ-9 item 9: thoughts of self-harm reported".into() }],
        ),
        Instrument::Gad7 => frequency_sum(
            "gad7",
            "Over the last 2 weeks, how often have you been bothered by the following problems?",
            &GAD7_ITEMS,
            &[(4.0, "Minimal"), (9.0, "Mild"), (14.0, "Moderate"), (21.0, "Severe")],
            Vec::new(),
        ),
        Instrument::Odi => licensed(
            "odi",
            "Oswestry Disability Index",
            10,
            0..=5,
            ScaleRule {
                id: "total".into(),
                label: "Disability (%)".into(),
                items: ids("odi_", 10),
                method: Method::PercentOfAnsweredMax,
                // Our choice (the form gives none): at most two sections may be left out.
                min_answered: Some(8),
                impute_mean: false,
                bands: bands(&[
                    (20.0, "Minimal disability"),
                    (40.0, "Moderate disability"),
                    (60.0, "Severe disability"),
                    (80.0, "Crippled"),
                    (100.0, "Bed-bound or exaggerating"),
                ]),
                mcid: Some(10.0),
                higher_is_better: false,
            },
        ),
        Instrument::Ndi => licensed(
            "ndi",
            "Neck Disability Index",
            10,
            0..=5,
            ScaleRule {
                id: "total".into(),
                label: "Neck disability (raw, 0–50)".into(),
                items: ids("ndi_", 10),
                method: Method::Sum,
                min_answered: Some(9),
                impute_mean: true,
                bands: bands(&[(4.0, "None"), (14.0, "Mild"), (24.0, "Moderate"), (34.0, "Severe"), (50.0, "Complete")]),
                mcid: Some(5.0),
                higher_is_better: false,
            },
        ),
        Instrument::QuickDash => licensed(
            "quick_dash",
            "QuickDASH",
            11,
            1..=5,
            ScaleRule {
                id: "total".into(),
                label: "Upper-limb disability (0–100)".into(),
                items: ids("quick_dash_", 11),
                method: Method::LinearMean { slope: 25.0, intercept: -25.0 },
                min_answered: Some(10),
                impute_mean: false,
                bands: Vec::new(),
                mcid: Some(14.0),
                higher_is_better: false,
            },
        ),
        Instrument::Koos => {
            let mut sections = Vec::new();
            let mut scales = Vec::new();
            for (id, label, prefix, size, min) in KOOS_SUBSCALES {
                let prefix = format!("koos_{prefix}");
                sections.push(Section { title: label.into(), items: placeholder_items(&prefix, size, 0..=4) });
                scales.push(ScaleRule {
                    id: id.into(),
                    label: label.into(),
                    items: ids(&prefix, size),
                    method: Method::LinearMean { slope: -25.0, intercept: 100.0 },
                    min_answered: Some(min),
                    impute_mean: false,
                    bands: Vec::new(),
                    mcid: None,
                    higher_is_better: true,
                });
            }
            Definition { sections, scales, alerts: Vec::new() }
        }
    }
}

fn frequency_sum(prefix: &str, title: &str, texts: &[&str], band_list: &[(f64, &str)], alerts: Vec<AlertRule>) -> Definition {
    let options: Vec<ChoiceOption> = FREQUENCY.iter().enumerate().map(|(v, label)| ChoiceOption { label: (*label).into(), value: v as f64 }).collect();
    let items: Vec<Item> = texts
        .iter()
        .enumerate()
        .map(|(n, text)| Item {
            id: format!("{prefix}_{}", n + 1),
            text: (*text).into(),
            kind: ItemType::Choice,
            required: true,
            options: options.clone(),
            min: None,
            max: None,
            show_if: None,
        })
        .collect();
    Definition {
        scales: vec![ScaleRule {
            id: "total".into(),
            label: "Total".into(),
            items: items.iter().map(|i| i.id.clone()).collect(),
            method: Method::Sum,
            min_answered: None,
            impute_mean: false,
            bands: bands(band_list),
            // Not in PROMS.md's sources: clinics may set one in the builder.
            mcid: None,
            higher_is_better: false,
        }],
        sections: vec![Section { title: title.into(), items }],
        alerts,
    }
}

fn licensed(prefix: &str, title: &str, size: usize, values: std::ops::RangeInclusive<i32>, scale: ScaleRule) -> Definition {
    Definition {
        sections: vec![Section { title: title.into(), items: placeholder_items(&format!("{prefix}_"), size, values) }],
        scales: vec![scale],
        alerts: Vec::new(),
    }
}

/// Items whose wording the clinic enters; each option's value is what the scoring rule uses.
fn placeholder_items(prefix: &str, size: usize, values: std::ops::RangeInclusive<i32>) -> Vec<Item> {
    ids(prefix, size)
        .into_iter()
        .enumerate()
        .map(|(n, id)| Item {
            id,
            text: format!("Item {} (enter the wording your clinic is licensed to use)", n + 1),
            kind: ItemType::Choice,
            required: false,
            options: values.clone().map(|v| ChoiceOption { label: format!("Response scored {v}"), value: f64::from(v) }).collect(),
            min: None,
            max: None,
            show_if: None,
        })
        .collect()
}

fn ids(prefix: &str, size: usize) -> Vec<String> {
    (1..=size).map(|n| format!("{prefix}{n}")).collect()
}

fn bands(list: &[(f64, &str)]) -> Vec<Band> {
    list.iter().map(|(max, label)| Band { max: *max, label: (*label).into() }).collect()
}
