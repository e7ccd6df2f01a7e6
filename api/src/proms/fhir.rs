//! FHIR R4 JSON for interoperability: templates as `Questionnaire`, responses as
//! `QuestionnaireResponse`. Sections become `group` items; choice options carry their
//! scoring value as the standard `ordinalValue` extension, so a receiving system can score.
//!
//! A template version's canonical reference is `urn:uuid:<template id>` with the version
//! number as `version`, which a response names as `urn:uuid:<template id>|<version>`.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use super::definition::{Answers, Definition, Item, ItemType};

const ORDINAL_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/ordinalValue";
const MIN_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/minValue";
const MAX_VALUE: &str = "http://hl7.org/fhir/StructureDefinition/maxValue";

/// A template version as a `Questionnaire`.
pub fn questionnaire(template_id: Uuid, version: i32, name: &str, description: Option<&str>, definition: &Definition) -> Value {
    let groups: Vec<Value> = definition
        .sections
        .iter()
        .enumerate()
        .map(|(n, section)| {
            json!({
                "linkId": format!("section-{}", n + 1),
                "type": "group",
                "text": section.title,
                "item": section.items.iter().map(|item| question(definition, item)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut resource = json!({
        "resourceType": "Questionnaire",
        "id": template_id,
        "url": format!("urn:uuid:{template_id}"),
        "version": version.to_string(),
        "name": name.chars().filter(char::is_ascii_alphanumeric).collect::<String>(),
        "title": name,
        "status": "active",
        "subjectType": ["Patient"],
        "item": groups,
    });
    if let Some(description) = description {
        resource["description"] = description.into();
    }
    resource
}

fn question(definition: &Definition, item: &Item) -> Value {
    let mut q = json!({
        "linkId": item.id,
        "text": item.text,
        "type": match item.kind {
            ItemType::Choice => "choice",
            ItemType::Scale => "integer",
            ItemType::Text => "text",
            ItemType::Date => "date",
        },
        "required": item.required,
    });
    match item.kind {
        ItemType::Choice => {
            q["answerOption"] = item
                .options
                .iter()
                .map(|o| {
                    json!({
                        "valueCoding": { "code": number(o.value), "display": o.label },
                        "extension": [{ "url": ORDINAL_VALUE, "valueDecimal": o.value }],
                    })
                })
                .collect();
        }
        ItemType::Scale => {
            q["extension"] = json!([
                { "url": MIN_VALUE, "valueInteger": item.min },
                { "url": MAX_VALUE, "valueInteger": item.max },
            ]);
        }
        ItemType::Text | ItemType::Date => {}
    }
    if let Some(rule) = &item.show_if {
        let source_is_choice = definition.item(&rule.item).is_some_and(|s| s.kind == ItemType::Choice);
        q["enableWhen"] = rule
            .any_of
            .iter()
            .map(|v| {
                if source_is_choice {
                    json!({ "question": rule.item, "operator": "=", "answerCoding": { "code": number(*v) } })
                } else {
                    json!({ "question": rule.item, "operator": "=", "answerInteger": *v as i64 })
                }
            })
            .collect();
        q["enableBehavior"] = "any".into();
    }
    q
}

/// What a `QuestionnaireResponse` is made from.
pub struct Response<'a> {
    pub id: Uuid,
    pub template_id: Uuid,
    pub version: i32,
    pub patient_id: Uuid,
    pub completed: bool,
    pub authored: Option<DateTime<Utc>>,
    pub definition: &'a Definition,
    pub answers: &'a Answers,
}

/// A response (completed or in progress) as a `QuestionnaireResponse`.
pub fn questionnaire_response(response: &Response) -> Value {
    let groups: Vec<Value> = response
        .definition
        .sections
        .iter()
        .enumerate()
        .filter_map(|(n, section)| {
            let items: Vec<Value> = section
                .items
                .iter()
                .filter_map(|item| {
                    let value = response.answers.get(&item.id)?;
                    let answer = match item.kind {
                        ItemType::Choice => {
                            let v = value.as_f64()?;
                            let label = item.options.iter().find(|o| o.value == v).map(|o| o.label.as_str());
                            json!({ "valueCoding": { "code": number(v), "display": label } })
                        }
                        ItemType::Scale => json!({ "valueInteger": value.as_f64()? as i64 }),
                        ItemType::Text => json!({ "valueString": value.as_str()? }),
                        ItemType::Date => json!({ "valueDate": value.as_str()? }),
                    };
                    Some(json!({ "linkId": item.id, "text": item.text, "answer": [answer] }))
                })
                .collect();
            (!items.is_empty()).then(|| json!({ "linkId": format!("section-{}", n + 1), "text": section.title, "item": items }))
        })
        .collect();
    let mut resource = json!({
        "resourceType": "QuestionnaireResponse",
        "id": response.id,
        "questionnaire": format!("urn:uuid:{}|{}", response.template_id, response.version),
        "status": if response.completed { "completed" } else { "in-progress" },
        "subject": { "reference": format!("Patient/{}", response.patient_id) },
        "item": groups,
    });
    if let Some(authored) = response.authored {
        resource["authored"] = authored.to_rfc3339().into();
    }
    resource
}

/// Option values as codes: `2`, not `2.0`.
fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{}", value as i64)
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::instruments::{definition, Instrument};
    use super::*;

    #[test]
    fn a_phq9_response_names_its_questionnaire_version_and_codes_each_answer() {
        let phq = definition(Instrument::Phq9);
        let template = Uuid::now_v7();
        let q = questionnaire(template, 3, "PHQ-9", None, &phq);
        assert_eq!(q["resourceType"], "Questionnaire");
        assert_eq!(q["version"], "3");
        assert_eq!(q["item"][0]["type"], "group");
        assert_eq!(q["item"][0]["item"][8]["linkId"], "phq9_9");
        assert_eq!(q["item"][0]["item"][8]["answerOption"][3]["valueCoding"]["code"], "3");
        assert_eq!(q["item"][0]["item"][8]["answerOption"][3]["extension"][0]["valueDecimal"], 3.0);

        let answers: Answers = [("phq9_1".to_string(), json!(2)), ("phq9_9".to_string(), json!(1))].into_iter().collect();
        let patient = Uuid::now_v7();
        let r = questionnaire_response(&Response {
            id: Uuid::now_v7(),
            template_id: template,
            version: 3,
            patient_id: patient,
            completed: true,
            authored: Some(Utc::now()),
            definition: &phq,
            answers: &answers,
        });
        assert_eq!(r["questionnaire"], format!("urn:uuid:{template}|3"));
        assert_eq!(r["status"], "completed");
        assert_eq!(r["subject"]["reference"], format!("Patient/{patient}"));
        let items = r["item"][0]["item"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["answer"][0]["valueCoding"]["display"], "Several days");
    }
}
