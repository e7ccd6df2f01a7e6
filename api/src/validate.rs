//! Input checks that collect every problem before answering, so a form learns about all its
//! bad fields in one round trip.

use chrono::NaiveDate;
use qivr_shared::FieldError;
use serde::{Deserialize, Deserializer};

use crate::error::{ApiError, ApiResult};

/// Longest free-text field we accept (notes, histories).
pub const LONG_TEXT: usize = 10_000;
/// Longest single-line field (names, subjects).
pub const SHORT_TEXT: usize = 200;

#[derive(Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// A required single-line text: not blank, at most `max` characters.
    pub fn required(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.fail(field, "must not be empty");
        } else {
            self.length(field, value, max);
        }
    }

    pub fn length(&mut self, field: &str, value: &str, max: usize) {
        if value.chars().count() > max {
            self.fail(field, format!("must be at most {max} characters"));
        }
    }

    pub fn optional(&mut self, field: &str, value: Option<&str>, max: usize) {
        if let Some(value) = value {
            self.length(field, value, max);
        }
    }

    pub fn email(&mut self, field: &str, value: &str) {
        let valid = value.len() <= 254
            && value.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            })
            && !value.chars().any(char::is_whitespace);
        if !valid {
            self.fail(field, "must be an email address");
        }
    }

    /// A date of birth: not in the future and not before 1900.
    pub fn birth_date(&mut self, field: &str, value: NaiveDate) {
        let today = chrono::Utc::now().date_naive();
        if value > today || value < NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") {
            self.fail(field, "must be a date between 1900-01-01 and today");
        }
    }

    pub fn finish(self) -> ApiResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// Trims, and treats an empty string as absent.
pub fn clean(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Normalises an email for storage and lookup.
pub fn normalize_email(value: &str) -> String {
    value.trim().to_lowercase()
}

/// For PATCH bodies: tells an absent field (`None`, leave alone) from an explicit `null`
/// (`Some(None)`, clear it). Use with `#[serde(default, deserialize_with = "patch")]`.
pub fn patch<'de, T: Deserialize<'de>, D: Deserializer<'de>>(de: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(de).map(Some)
}

/// A PATCH text field as `(was it sent, its cleaned value)`, for `CASE WHEN $sent THEN $value`
/// updates that can also clear a field.
pub fn patch_text(field: Option<Option<String>>) -> (bool, Option<String>) {
    match field {
        Some(value) => (true, clean(value)),
        None => (false, None),
    }
}
