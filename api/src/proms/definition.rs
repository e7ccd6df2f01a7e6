//! What a questionnaire version is: sections of items, and the rules that score it.
//!
//! A [`Definition`] is stored as JSON on each template version and never changes once saved
//! (editing a template saves a new version). [`Definition::check`] runs on every save, so the
//! scoring engine and the answer checks can trust what they read; [`Definition::check_answers`]
//! runs on every draft and submission, naming the offending item.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::validate::{Checks, LONG_TEXT, SHORT_TEXT};

/// Most items a questionnaire may have (KOOS, the longest we ship, has 42).
const MAX_ITEMS: usize = 200;

/// A questionnaire: its sections of items and how it is scored.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromDefinition)]
pub struct Definition {
    pub sections: Vec<Section>,
    /// Scales computed from the answers; empty when the questionnaire is not scored.
    #[serde(default)]
    pub scales: Vec<ScaleRule>,
    /// Answers that need a clinician at once, whatever the scores (e.g. PHQ-9 item 9 > 0).
    #[serde(default)]
    pub alerts: Vec<AlertRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromSection)]
pub struct Section {
    pub title: String,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PromItemType)]
pub enum ItemType {
    /// One of `options`; the answer is the option's value.
    Choice,
    /// A whole number from `min` to `max`.
    Scale,
    Text,
    /// `YYYY-MM-DD`.
    Date,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromItem)]
pub struct Item {
    /// Stable within the template (FHIR `linkId`); answers are keyed by it.
    pub id: String,
    pub text: String,
    #[serde(rename = "type")]
    pub kind: ItemType,
    #[serde(default)]
    pub required: bool,
    /// Choice items: the options in display order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChoiceOption>,
    /// Scale items: the range, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i32>,
    /// Asked only when an earlier item's answer is one of some values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<ShowIf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromChoiceOption)]
pub struct ChoiceOption {
    pub label: String,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromShowIf)]
pub struct ShowIf {
    /// An earlier choice or scale item.
    pub item: String,
    pub any_of: Vec<f64>,
}

/// How a scale turns answers into a score (PROMS.md "What the engine should support").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[schema(as = PromMethod)]
pub enum Method {
    /// The sum of the answers (PHQ-9, GAD-7, NDI raw).
    Sum,
    /// The sum as a percentage of the maximum of the answered items (ODI).
    PercentOfAnsweredMax,
    /// `intercept + slope × mean of the answers` (QuickDASH: −25 + 25·mean; KOOS: 100 − 25·mean).
    LinearMean { slope: f64, intercept: f64 },
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromScaleRule)]
pub struct ScaleRule {
    /// e.g. `total`, `pain`; unique within the template.
    pub id: String,
    pub label: String,
    /// The choice or scale items this scale scores.
    pub items: Vec<String>,
    pub method: Method,
    /// Fewer answered items than this scores as insufficient. Defaults to all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_answered: Option<usize>,
    /// Sums only: each missing item (within `min_answered`) counts as the mean of the
    /// answered ones (NDI).
    #[serde(default)]
    pub impute_mean: bool,
    /// Ascending by `max`; a score falls in the first band whose `max` is at least it.
    #[serde(default)]
    pub bands: Vec<Band>,
    /// The smallest change between two completions that is clinically meaningful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcid: Option<f64>,
    /// Whether a higher score is better (KOOS) rather than worse (most instruments).
    #[serde(default)]
    pub higher_is_better: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromBand)]
pub struct Band {
    /// Inclusive upper bound of the band.
    pub max: f64,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PromAlertRule)]
pub struct AlertRule {
    /// A choice or scale item.
    pub item: String,
    /// Fires when the answer is greater than this.
    pub above: f64,
    /// What staff are told, e.g. "Thoughts of self-harm reported".
    pub message: String,
}

/// Answers keyed by item id: numbers for choice and scale items, strings for text and dates.
pub type Answers = BTreeMap<String, serde_json::Value>;

impl Definition {
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items().find(|i| i.id == id)
    }

    /// Every problem with the definition, fields named by their JSON path under `field`.
    pub fn check(&self, checks: &mut Checks, field: &str) {
        if self.sections.is_empty() {
            checks.fail(&format!("{field}.sections"), "at least one section");
        }
        let mut seen: HashMap<&str, &Item> = HashMap::new();
        let mut count = 0;
        for (s, section) in self.sections.iter().enumerate() {
            let at = format!("{field}.sections[{s}]");
            checks.length(&format!("{at}.title"), &section.title, SHORT_TEXT);
            if section.items.is_empty() {
                checks.fail(&format!("{at}.items"), "at least one item");
            }
            for (i, item) in section.items.iter().enumerate() {
                count += 1;
                let at = format!("{at}.items[{i}]");
                check_item(checks, &at, item, &seen);
                if seen.contains_key(item.id.as_str()) {
                    checks.fail(&format!("{at}.id"), format!("{:?} is used by another item", item.id));
                } else {
                    seen.insert(item.id.as_str(), item);
                }
            }
        }
        if count > MAX_ITEMS {
            checks.fail(&format!("{field}.sections"), format!("at most {MAX_ITEMS} items"));
        }
        let numeric = |id: &str| seen.get(id).is_some_and(|i| matches!(i.kind, ItemType::Choice | ItemType::Scale));
        let mut scale_ids = HashSet::new();
        for (n, scale) in self.scales.iter().enumerate() {
            let at = format!("{field}.scales[{n}]");
            checks.required(&format!("{at}.id"), &scale.id, 60);
            checks.required(&format!("{at}.label"), &scale.label, SHORT_TEXT);
            if !scale_ids.insert(scale.id.as_str()) {
                checks.fail(&format!("{at}.id"), format!("{:?} is used by another scale", scale.id));
            }
            if scale.items.is_empty() {
                checks.fail(&format!("{at}.items"), "at least one item");
            }
            for (k, id) in scale.items.iter().enumerate() {
                if !numeric(id) {
                    checks.fail(&format!("{at}.items[{k}]"), format!("{id:?} is not a choice or scale item of this template"));
                }
            }
            if scale.items.iter().collect::<HashSet<_>>().len() != scale.items.len() {
                checks.fail(&format!("{at}.items"), "an item is listed twice");
            }
            if let Some(min) = scale.min_answered {
                if min == 0 || min > scale.items.len() {
                    checks.fail(&format!("{at}.min_answered"), format!("must be between 1 and {}", scale.items.len()));
                }
            }
            if scale.impute_mean && scale.method != Method::Sum {
                checks.fail(&format!("{at}.impute_mean"), "only sums impute missing items");
            }
            if let Method::LinearMean { slope, intercept } = scale.method {
                if !slope.is_finite() || !intercept.is_finite() || slope == 0.0 {
                    checks.fail(&format!("{at}.method"), "slope and intercept must be finite numbers, slope not 0");
                }
            }
            if scale.mcid.is_some_and(|m| !m.is_finite() || m <= 0.0) {
                checks.fail(&format!("{at}.mcid"), "must be a positive number");
            }
            for (b, band) in scale.bands.iter().enumerate() {
                checks.required(&format!("{at}.bands[{b}].label"), &band.label, 60);
                if !band.max.is_finite() || (b > 0 && band.max <= scale.bands[b - 1].max) {
                    checks.fail(&format!("{at}.bands[{b}].max"), "bands must ascend by max");
                }
            }
        }
        for (n, alert) in self.alerts.iter().enumerate() {
            let at = format!("{field}.alerts[{n}]");
            if !numeric(&alert.item) {
                checks.fail(&format!("{at}.item"), format!("{:?} is not a choice or scale item of this template", alert.item));
            }
            if !alert.above.is_finite() {
                checks.fail(&format!("{at}.above"), "must be a number");
            }
            checks.required(&format!("{at}.message"), &alert.message, SHORT_TEXT);
        }
    }

    /// Whether `item` is asked, given the answers so far.
    pub fn is_shown(&self, item: &Item, answers: &Answers) -> bool {
        match &item.show_if {
            None => true,
            Some(rule) => answers.get(&rule.item).and_then(|v| v.as_f64()).is_some_and(|v| rule.any_of.contains(&v)),
        }
    }

    /// Checks answers against this version: unknown items, values outside an item's options
    /// or range, and (when `complete`) unanswered required items that are shown. Answers to
    /// items hidden by their condition are dropped. Fields are named `answers.<item id>`.
    pub fn check_answers(&self, answers: &Answers, complete: bool) -> ApiResult<Answers> {
        let mut checks = Checks::new();
        for id in answers.keys() {
            if self.item(id).is_none() {
                checks.fail(&format!("answers.{id}"), "not an item of this template version");
            }
        }
        let mut kept = Answers::new();
        for item in self.items() {
            let field = format!("answers.{}", item.id);
            let answer = answers.get(&item.id).filter(|v| !v.is_null());
            if !self.is_shown(item, answers) {
                continue;
            }
            let Some(value) = answer else {
                if complete && item.required {
                    checks.fail(&field, "required");
                }
                continue;
            };
            if let Err(message) = item.accepts(value) {
                checks.fail(&field, message);
                continue;
            }
            kept.insert(item.id.clone(), value.clone());
        }
        checks.finish()?;
        Ok(kept)
    }
}

impl Item {
    /// The highest value an answer can have (choice and scale items).
    pub fn max_value(&self) -> Option<f64> {
        match self.kind {
            ItemType::Choice => self.options.iter().map(|o| o.value).reduce(f64::max),
            ItemType::Scale => self.max.map(f64::from),
            ItemType::Text | ItemType::Date => None,
        }
    }

    fn accepts(&self, value: &serde_json::Value) -> Result<(), String> {
        match self.kind {
            ItemType::Choice => {
                let allowed: Vec<String> = self.options.iter().map(|o| o.value.to_string()).collect();
                match value.as_f64() {
                    Some(v) if self.options.iter().any(|o| o.value == v) => Ok(()),
                    _ => Err(format!("must be one of the option values {}", allowed.join(", "))),
                }
            }
            ItemType::Scale => {
                let (min, max) = (self.min.unwrap_or(0), self.max.unwrap_or(0));
                match value.as_f64() {
                    Some(v) if v.fract() == 0.0 && v >= f64::from(min) && v <= f64::from(max) => Ok(()),
                    _ => Err(format!("must be a whole number from {min} to {max}")),
                }
            }
            ItemType::Text => match value.as_str() {
                Some(text) if text.chars().count() <= LONG_TEXT => Ok(()),
                Some(_) => Err(format!("must be at most {LONG_TEXT} characters")),
                None => Err("must be text".into()),
            },
            ItemType::Date => match value.as_str().map(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d")) {
                Some(Ok(_)) => Ok(()),
                _ => Err("must be a date, YYYY-MM-DD".into()),
            },
        }
    }
}

fn check_item(checks: &mut Checks, at: &str, item: &Item, earlier: &HashMap<&str, &Item>) {
    checks.required(&format!("{at}.id"), &item.id, 60);
    if !item.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.') {
        checks.fail(&format!("{at}.id"), "letters, digits, '_', '-' and '.' only");
    }
    checks.required(&format!("{at}.text"), &item.text, 1_000);
    match item.kind {
        ItemType::Choice => {
            if item.options.len() < 2 {
                checks.fail(&format!("{at}.options"), "a choice needs at least two options");
            }
            for (o, option) in item.options.iter().enumerate() {
                checks.required(&format!("{at}.options[{o}].label"), &option.label, SHORT_TEXT);
                if !option.value.is_finite() {
                    checks.fail(&format!("{at}.options[{o}].value"), "must be a number");
                }
                if item.options[..o].iter().any(|earlier| earlier.value == option.value) {
                    checks.fail(&format!("{at}.options[{o}].value"), "two options have this value");
                }
            }
        }
        ItemType::Scale => match (item.min, item.max) {
            (Some(min), Some(max)) if min < max && (max - min) <= 1_000 => {}
            _ => checks.fail(&format!("{at}.max"), "a scale needs min < max (at most 1000 apart)"),
        },
        ItemType::Text | ItemType::Date => {}
    }
    if !item.options.is_empty() && item.kind != ItemType::Choice {
        checks.fail(&format!("{at}.options"), "only choice items have options");
    }
    if let Some(rule) = &item.show_if {
        match earlier.get(rule.item.as_str()) {
            Some(source) if matches!(source.kind, ItemType::Choice | ItemType::Scale) => {}
            _ => checks.fail(&format!("{at}.show_if.item"), "must name an earlier choice or scale item"),
        }
        if rule.any_of.is_empty() {
            checks.fail(&format!("{at}.show_if.any_of"), "at least one value");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ApiError;

    fn problems(definition: serde_json::Value) -> Vec<String> {
        let definition: Definition = serde_json::from_value(definition).expect("well-formed");
        let mut checks = Checks::new();
        definition.check(&mut checks, "definition");
        match checks.finish() {
            Ok(()) => Vec::new(),
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn saving_refuses_inconsistent_definitions_naming_each_problem() {
        let fields = problems(json!({
            "sections": [{ "title": "A", "items": [
                { "id": "a", "text": "A?", "type": "choice", "options": [{ "label": "No", "value": 0 }, { "label": "Yes", "value": 0 }],
                  "show_if": { "item": "b", "any_of": [1] } },
                { "id": "b", "text": "B?", "type": "scale", "min": 5, "max": 1 },
                { "id": "a", "text": "Again", "type": "text" }
            ]}],
            "scales": [{ "id": "t", "label": "T", "items": ["a", "c"], "method": { "kind": "percent_of_answered_max" },
                         "min_answered": 3, "impute_mean": true, "bands": [{ "max": 10, "label": "x" }, { "max": 5, "label": "y" }] }],
            "alerts": [{ "item": "c", "above": 0, "message": "" }]
        }));
        assert_eq!(
            fields,
            [
                "definition.sections[0].items[0].options[1].value",
                "definition.sections[0].items[0].show_if.item",
                "definition.sections[0].items[1].max",
                "definition.sections[0].items[2].id",
                "definition.scales[0].items[1]",
                "definition.scales[0].min_answered",
                "definition.scales[0].impute_mean",
                "definition.scales[0].bands[1].max",
                "definition.alerts[0].item",
                "definition.alerts[0].message",
            ]
        );
    }

    #[test]
    fn a_conditional_item_is_asked_only_for_the_listed_answers() {
        let definition: Definition = serde_json::from_value(json!({
            "sections": [{ "title": "", "items": [
                { "id": "pain", "text": "Pain?", "type": "choice", "required": true, "options": [{ "label": "No", "value": 0 }, { "label": "Yes", "value": 1 }] },
                { "id": "where", "text": "Where?", "type": "text", "required": true, "show_if": { "item": "pain", "any_of": [1] } }
            ]}]
        }))
        .unwrap();
        let no: Answers = [("pain".to_string(), json!(0)), ("where".to_string(), json!("ignored"))].into_iter().collect();
        let kept = definition.check_answers(&no, true).expect("the hidden item is not required");
        assert!(!kept.contains_key("where"), "answers to hidden items are dropped");
        let yes: Answers = [("pain".to_string(), json!(1))].into_iter().collect();
        assert!(definition.check_answers(&yes, true).is_err(), "shown, so required");
    }
}
