//! The scoring engine: a pure function from a definition and its answers to scale scores and
//! fired alerts. The API runs it once, at submission, and stores the result with the
//! response, so later edits of the template never change a completed response's score.
//!
//! The worked examples of `shared/PROMS.md` are this module's tests.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::definition::{Answers, Definition, Method, ScaleRule};

/// One scale's result for one response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = PromScaleScore)]
pub struct ScaleScore {
    pub scale: String,
    pub label: String,
    /// Rounded to two decimals; `None` when too few items were answered.
    pub score: Option<f64>,
    /// Sums only: the score as a percentage of the scale's full range (NDI: raw × 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    pub band: Option<String>,
    pub answered: usize,
    pub items: usize,
    /// Fewer items answered than the rule's minimum: no score.
    pub insufficient: bool,
}

/// An alert rule that an answer tripped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = PromFiredAlert)]
pub struct FiredAlert {
    pub item: String,
    pub value: f64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = PromOutcome)]
pub struct Outcome {
    pub scales: Vec<ScaleScore>,
    pub alerts: Vec<FiredAlert>,
}

/// How a later score compares with an earlier one, given the scale's MCID and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PromChange)]
pub enum Change {
    Improved,
    Worsened,
    /// Less than the minimal clinically important change.
    NoMeaningfulChange,
}

/// Scores `answers` (already checked against `definition`).
pub fn score(definition: &Definition, answers: &Answers) -> Outcome {
    let scales = definition.scales.iter().map(|rule| score_scale(definition, rule, answers)).collect();
    let alerts = definition
        .alerts
        .iter()
        .filter_map(|rule| {
            let value = answers.get(&rule.item)?.as_f64()?;
            (value > rule.above).then(|| FiredAlert { item: rule.item.clone(), value, message: rule.message.clone() })
        })
        .collect();
    Outcome { scales, alerts }
}

fn score_scale(definition: &Definition, rule: &ScaleRule, answers: &Answers) -> ScaleScore {
    let answered: Vec<(f64, f64)> = rule
        .items
        .iter()
        .filter_map(|id| {
            let value = answers.get(id)?.as_f64()?;
            let max = definition.item(id)?.max_value()?;
            Some((value, max))
        })
        .collect();
    let n = answered.len();
    let min_answered = rule.min_answered.unwrap_or(rule.items.len());
    let mut result = ScaleScore {
        scale: rule.id.clone(),
        label: rule.label.clone(),
        score: None,
        percent: None,
        band: None,
        answered: n,
        items: rule.items.len(),
        insufficient: true,
    };
    if n == 0 || n < min_answered {
        return result;
    }
    let sum: f64 = answered.iter().map(|(v, _)| v).sum();
    let mean = sum / n as f64;
    let score = match rule.method {
        Method::Sum => {
            let missing = rule.items.len() - n;
            let raw = if rule.impute_mean { sum + mean * missing as f64 } else { sum };
            let full: f64 = rule.items.iter().filter_map(|id| definition.item(id)?.max_value()).sum();
            if full > 0.0 {
                result.percent = Some(round2(raw / full * 100.0));
            }
            raw
        }
        Method::PercentOfAnsweredMax => {
            let max: f64 = answered.iter().map(|(_, m)| m).sum();
            if max <= 0.0 {
                return result;
            }
            sum / max * 100.0
        }
        Method::LinearMean { slope, intercept } => intercept + slope * mean,
    };
    let score = round2(score);
    result.band = rule.bands.iter().find(|b| score <= b.max).map(|b| b.label.clone());
    result.score = Some(score);
    result.insufficient = false;
    result
}

/// Compares two scores of a scale; `None` when the scale has no MCID.
pub fn change(rule: &ScaleRule, earlier: f64, later: f64) -> Option<Change> {
    let mcid = rule.mcid?;
    let delta = if rule.higher_is_better { later - earlier } else { earlier - later };
    Some(if delta >= mcid {
        Change::Improved
    } else if -delta >= mcid {
        Change::Worsened
    } else {
        Change::NoMeaningfulChange
    })
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::instruments::{self, Instrument};
    use super::*;

    fn answers(pairs: impl IntoIterator<Item = (String, f64)>) -> Answers {
        pairs.into_iter().map(|(k, v)| (k, json!(v))).collect()
    }

    /// Answers `values` to the instrument's items in order (`None` leaves one unanswered).
    fn answer_in_order(definition: &Definition, values: &[Option<f64>]) -> Answers {
        let ids: Vec<String> = definition.items().map(|i| i.id.clone()).collect();
        assert_eq!(ids.len(), values.len(), "one value per item");
        answers(ids.into_iter().zip(values).filter_map(|(id, v)| v.map(|v| (id, v))))
    }

    fn only(outcome: &Outcome) -> &ScaleScore {
        assert_eq!(outcome.scales.len(), 1);
        &outcome.scales[0]
    }

    fn definition(instrument: Instrument) -> Definition {
        let definition = instruments::definition(instrument);
        let mut checks = crate::validate::Checks::new();
        definition.check(&mut checks, "definition");
        checks.finish().expect("shipped instruments are valid");
        definition
    }

    #[test]
    fn odi_16_of_50_is_32_percent_and_16_of_45_with_a_section_missed_is_35_56() {
        let odi = definition(Instrument::Odi);
        let all = answer_in_order(&odi, &[Some(2.0), Some(2.0), Some(2.0), Some(2.0), Some(2.0), Some(2.0), Some(1.0), Some(1.0), Some(1.0), Some(1.0)]);
        let scored = score(&odi, &all);
        assert_eq!(only(&scored).score, Some(32.0));
        assert_eq!(only(&scored).band.as_deref(), Some("Moderate disability"));

        let one_missed = answer_in_order(&odi, &[Some(2.0), Some(2.0), Some(2.0), Some(2.0), Some(2.0), Some(2.0), Some(2.0), Some(1.0), Some(1.0), None]);
        let scored = score(&odi, &one_missed);
        assert_eq!(only(&scored).score, Some(35.56));
        assert_eq!(only(&scored).answered, 9);
        assert!(!only(&scored).insufficient);
    }

    #[test]
    fn odi_bands_follow_the_form_and_its_minimum_detectable_change_is_10_points() {
        let odi = definition(Instrument::Odi);
        let band = |values: [f64; 10]| only(&score(&odi, &answer_in_order(&odi, &values.map(Some)))).band.clone().unwrap();
        assert_eq!(band([2.0, 2.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0]), "Minimal disability"); // 20%
        assert_eq!(band([3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0]), "Severe disability"); // 42%
        assert_eq!(band([5.0; 10]), "Bed-bound or exaggerating");
        let rule = &odi.scales[0];
        assert_eq!(change(rule, 50.0, 40.0), Some(Change::Improved));
        assert_eq!(change(rule, 50.0, 41.0), Some(Change::NoMeaningfulChange));
        assert_eq!(change(rule, 30.0, 42.0), Some(Change::Worsened));
    }

    #[test]
    fn ndi_is_raw_times_two_and_one_missing_item_counts_as_the_mean_of_the_others() {
        let ndi = definition(Instrument::Ndi);
        let all = answer_in_order(&ndi, &[Some(2.0); 10]);
        let scored = score(&ndi, &all);
        assert_eq!(only(&scored).score, Some(20.0));
        assert_eq!(only(&scored).percent, Some(40.0));
        assert_eq!(only(&scored).band.as_deref(), Some("Moderate"));

        // Nine answered summing 17: mean 1.89 is added for the missing one → 18.89 raw.
        let mut nine = vec![Some(2.0); 8];
        nine.extend([Some(1.0), None]);
        let scored = score(&ndi, &answer_in_order(&ndi, &nine));
        assert_eq!(only(&scored).score, Some(18.89));
        assert_eq!(only(&scored).percent, Some(37.78));
        assert_eq!(only(&scored).band.as_deref(), Some("Moderate"));

        let mut eight = vec![Some(2.0); 8];
        eight.extend([None, None]);
        let scored = score(&ndi, &answer_in_order(&ndi, &eight));
        assert!(only(&scored).insufficient);
        assert_eq!(only(&scored).score, None);
    }

    #[test]
    fn ndi_bands_are_on_the_raw_score_and_five_points_is_meaningful() {
        let ndi = definition(Instrument::Ndi);
        let band = |raw: [f64; 10]| only(&score(&ndi, &answer_in_order(&ndi, &raw.map(Some)))).band.clone().unwrap();
        assert_eq!(band([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]), "None"); // 4
        assert_eq!(band([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]), "Mild"); // 5
        assert_eq!(band([5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 0.0, 0.0, 0.0]), "Complete"); // 35
        assert_eq!(change(&ndi.scales[0], 20.0, 15.0), Some(Change::Improved));
        assert_eq!(change(&ndi.scales[0], 20.0, 16.0), Some(Change::NoMeaningfulChange));
    }

    #[test]
    fn quickdash_needs_ten_of_eleven_items_and_maps_the_mean_to_0_100() {
        let dash = definition(Instrument::QuickDash);
        let all = answer_in_order(&dash, &[Some(3.0); 11]);
        assert_eq!(only(&score(&dash, &all)).score, Some(50.0));
        let best = answer_in_order(&dash, &[Some(1.0); 11]);
        assert_eq!(only(&score(&dash, &best)).score, Some(0.0));
        let worst = answer_in_order(&dash, &[Some(5.0); 11]);
        assert_eq!(only(&score(&dash, &worst)).score, Some(100.0));

        // Ten answered, sum 25: ((25 / 10) − 1) × 25 = 37.5.
        let mut ten = vec![Some(2.0); 5];
        ten.extend([Some(3.0); 5]);
        ten.push(None);
        let scored = score(&dash, &answer_in_order(&dash, &ten));
        assert_eq!(only(&scored).score, Some(37.5));

        let mut nine = vec![Some(2.0); 9];
        nine.extend([None, None]);
        let scored = score(&dash, &answer_in_order(&dash, &nine));
        assert!(only(&scored).insufficient);
        assert_eq!(only(&scored).score, None);
        assert_eq!(change(&dash.scales[0], 50.0, 36.0), Some(Change::Improved));
        assert_eq!(change(&dash.scales[0], 50.0, 37.0), Some(Change::NoMeaningfulChange));
    }

    #[test]
    fn koos_scores_five_subscales_with_their_own_minimums_and_no_total() {
        let koos = definition(Instrument::Koos);
        assert_eq!(koos.items().count(), 42);
        let sizes: Vec<(String, usize, Option<usize>)> =
            koos.scales.iter().map(|s| (s.id.clone(), s.items.len(), s.min_answered)).collect();
        assert_eq!(
            sizes,
            [("pain", 9, Some(5)), ("symptoms", 7, Some(4)), ("adl", 17, Some(9)), ("sport_rec", 5, Some(3)), ("qol", 4, Some(2))]
                .map(|(id, n, min)| (id.to_string(), n, min))
        );
        // Pain: only its first five items answered, all 2 ("moderate") → 100 − 2 × 100/4 = 50.
        // Symptoms: three answered (needs four) → insufficient. ADL: all 17 at 1 → 75.
        // Sport/Rec: all 0 → 100. QOL: two of four answered, 4 and 3 → 100 − 3.5 × 25 = 12.5.
        let scale_items = |id: &str| koos.scales.iter().find(|s| s.id == id).unwrap().items.clone();
        let mut given = Vec::new();
        given.extend(scale_items("pain").into_iter().take(5).map(|id| (id, 2.0)));
        given.extend(scale_items("symptoms").into_iter().take(3).map(|id| (id, 1.0)));
        given.extend(scale_items("adl").into_iter().map(|id| (id, 1.0)));
        given.extend(scale_items("sport_rec").into_iter().map(|id| (id, 0.0)));
        given.extend(scale_items("qol").into_iter().take(2).zip([4.0, 3.0]));
        let scored = score(&koos, &answers(given));
        let by_id = |id: &str| scored.scales.iter().find(|s| s.scale == id).unwrap().clone();
        assert_eq!(by_id("pain").score, Some(50.0));
        assert!(by_id("symptoms").insufficient);
        assert_eq!(by_id("symptoms").score, None);
        assert_eq!(by_id("adl").score, Some(75.0));
        assert_eq!(by_id("sport_rec").score, Some(100.0));
        assert_eq!(by_id("qol").score, Some(12.5));
        // Higher is better on KOOS.
        assert_eq!(change(&koos.scales[0], 50.0, 65.0), None, "KOOS ships without an MCID");
    }

    #[test]
    fn phq9_totals_bands_and_item_9_alert() {
        let phq = definition(Instrument::Phq9);
        let band = |values: [f64; 9]| {
            let scored = score(&phq, &answer_in_order(&phq, &values.map(Some)));
            (only(&scored).score.unwrap(), only(&scored).band.clone().unwrap())
        };
        assert_eq!(band([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]), (4.0, "Minimal".into()));
        assert_eq!(band([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]), (5.0, "Mild".into()));
        assert_eq!(band([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]), (9.0, "Mild".into()));
        assert_eq!(band([2.0, 2.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0]), (10.0, "Moderate".into()));
        assert_eq!(band([3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0, 0.0, 0.0]), (15.0, "Moderately severe".into()));
        assert_eq!(band([3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.0, 0.0, 0.0]), (20.0, "Severe".into()));
        assert_eq!(band([3.0; 9]), (27.0, "Severe".into()));

        let quiet = score(&phq, &answer_in_order(&phq, &[Some(0.0); 9]));
        assert!(quiet.alerts.is_empty());
        let mut values = [Some(0.0); 9];
        values[8] = Some(1.0);
        let flagged = score(&phq, &answer_in_order(&phq, &values));
        assert_eq!(only(&flagged).score, Some(1.0));
        assert_eq!(only(&flagged).band.as_deref(), Some("Minimal"), "the alert fires whatever the total");
        assert_eq!(flagged.alerts.len(), 1);
        assert_eq!(flagged.alerts[0].item, "phq9_9");
        assert_eq!(flagged.alerts[0].value, 1.0);
    }

    #[test]
    fn gad7_totals_and_bands() {
        let gad = definition(Instrument::Gad7);
        let band = |values: [f64; 7]| only(&score(&gad, &answer_in_order(&gad, &values.map(Some)))).band.clone().unwrap();
        assert_eq!(band([1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]), "Minimal");
        assert_eq!(band([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]), "Mild");
        assert_eq!(band([2.0, 2.0, 2.0, 2.0, 2.0, 0.0, 0.0]), "Moderate");
        assert_eq!(band([3.0, 3.0, 3.0, 3.0, 3.0, 0.0, 0.0]), "Severe");
        assert_eq!(band([3.0; 7]), "Severe");
        let mut six = [Some(1.0); 7];
        six[3] = None;
        let scored = score(&gad, &answer_in_order(&gad, &six));
        assert!(only(&scored).insufficient, "a sum with an unanswered item is not a total");
    }

    #[test]
    fn answers_outside_options_unknown_items_and_missing_required_items_name_the_item() {
        let phq = definition(Instrument::Phq9);
        let mut bad = answer_in_order(&phq, &[Some(0.0); 9]);
        bad.insert("phq9_2".into(), json!(4));
        bad.insert("nope".into(), json!(1));
        bad.remove("phq9_5");
        let error = phq.check_answers(&bad, true).unwrap_err();
        let crate::error::ApiError::Validation(errors) = error else { panic!("a validation error") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["answers.nope", "answers.phq9_2", "answers.phq9_5"]);
        // A draft may leave required items open.
        let mut draft = answer_in_order(&phq, &[Some(0.0); 9]);
        draft.remove("phq9_5");
        assert!(phq.check_answers(&draft, false).is_ok());
    }
}
