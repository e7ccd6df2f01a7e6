//! Channel names (DESIGN §6), who may subscribe to which, and how a name is scoped to a tenant.
//!
//! Clients name channels without their tenant. Everything past the connection's front door
//! (the registry, the broker, Redis keys) works with the [`ScopedChannel`] key
//! `t:<tenant>:<name>`, built from the verified token's tenant, so no client can even name
//! another tenant's channel.

use std::fmt;
use std::sync::Arc;

use qivr_shared::auth::{Principal, Role};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A channel as clients name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Evaluations,
    Appointments,
    /// Clinic staff online.
    Presence,
    Inbox,
    /// PROM assignments, submissions and item alerts, for clinic staff.
    Proms,
    /// Patients' records changing (documents added or removed, consents decided), for clinic
    /// staff: metadata only, never a document's content.
    Records,
    User(Uuid),
    Conversation(Uuid),
}

impl Channel {
    pub fn parse(name: &str) -> Result<Self> {
        let invalid = || Error::InvalidChannel(name.chars().take(80).collect());
        Ok(match name {
            "evaluations" => Channel::Evaluations,
            "appointments" => Channel::Appointments,
            "presence" => Channel::Presence,
            "inbox" => Channel::Inbox,
            "proms" => Channel::Proms,
            "records" => Channel::Records,
            _ => match name.split_once(':') {
                Some(("user", id)) => Channel::User(parse_uuid(id).ok_or_else(invalid)?),
                Some(("conversation", id)) => {
                    Channel::Conversation(parse_uuid(id).ok_or_else(invalid)?)
                }
                _ => return Err(invalid()),
            },
        })
    }

    /// Whether subscribers of this channel are tracked in presence (subscribing joins).
    pub fn has_presence(self) -> bool {
        matches!(self, Channel::Presence | Channel::Conversation(_))
    }

    /// Whether clients may publish this kind of ephemeral event here.
    pub fn accepts_client_publish(self, kind: &str) -> bool {
        matches!(self, Channel::Conversation(_)) && kind == "typing"
    }

    pub fn scoped(self, tenant_id: Uuid) -> ScopedChannel {
        ScopedChannel(format!("t:{tenant_id}:{self}").into())
    }
}

/// Only the canonical hyphenated lower-case form, so one channel has exactly one name.
fn parse_uuid(text: &str) -> Option<Uuid> {
    let id = Uuid::try_parse(text).ok()?;
    (id.hyphenated().to_string() == text).then_some(id)
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Evaluations => f.write_str("evaluations"),
            Channel::Appointments => f.write_str("appointments"),
            Channel::Presence => f.write_str("presence"),
            Channel::Inbox => f.write_str("inbox"),
            Channel::Proms => f.write_str("proms"),
            Channel::Records => f.write_str("records"),
            Channel::User(id) => write!(f, "user:{id}"),
            Channel::Conversation(id) => write!(f, "conversation:{id}"),
        }
    }
}

/// A channel within one tenant: `t:<tenant>:<name>`. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopedChannel(Arc<str>);

impl ScopedChannel {
    /// Reads a key back (from the broker); `None` if it is not one of ours.
    pub fn from_key(key: &str) -> Option<Self> {
        let rest = key.strip_prefix("t:")?;
        let (tenant, name) = rest.split_once(':')?;
        Uuid::try_parse(tenant).ok()?;
        Channel::parse(name).ok()?;
        Some(ScopedChannel(key.into()))
    }

    pub fn key(&self) -> &str {
        &self.0
    }

    pub fn tenant_id(&self) -> Uuid {
        Uuid::try_parse(&self.0[2..38]).expect("scoped channels start with a tenant id")
    }

    /// The name clients know it by.
    pub fn name(&self) -> &str {
        &self.0[39..]
    }

    pub fn channel(&self) -> Channel {
        Channel::parse(self.name()).expect("scoped channels hold valid names")
    }
}

impl fmt::Display for ScopedChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the hub needs to ask before letting someone into `conversation:<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// The role may not use this channel at all (`forbidden`).
    Forbidden,
    /// Depends on the conversation's participants: ask [`crate::ConversationAccess`].
    AskConversation(Uuid),
}

/// DESIGN §6's table, decided from the verified principal alone where it can be.
pub fn authorize(principal: &Principal, channel: Channel) -> Decision {
    match channel {
        Channel::Evaluations
        | Channel::Appointments
        | Channel::Presence
        | Channel::Inbox
        | Channel::Proms
        | Channel::Records => {
            if principal.role.is_clinic() {
                Decision::Allow
            } else {
                Decision::Forbidden
            }
        }
        Channel::User(id) if id == principal.user_id => Decision::Allow,
        Channel::User(_) => Decision::Forbidden,
        Channel::Conversation(_) if principal.role.is_clinic() => Decision::Allow,
        Channel::Conversation(id) => {
            debug_assert_eq!(principal.role, Role::Patient);
            Decision::AskConversation(id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role) -> Principal {
        Principal {
            user_id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            role,
            name: "Someone".into(),
            email: "someone@example.test".into(),
            session_id: None,
            expires_at: 0,
        }
    }

    #[test]
    fn names_round_trip_and_only_canonical_uuids_are_accepted() {
        let id = Uuid::now_v7();
        for name in ["evaluations", "appointments", "presence", "inbox", "proms", "records"] {
            assert_eq!(Channel::parse(name).unwrap().to_string(), name);
        }
        assert_eq!(
            Channel::parse(&format!("user:{id}")).unwrap(),
            Channel::User(id)
        );
        assert_eq!(
            Channel::parse(&format!("conversation:{id}")).unwrap(),
            Channel::Conversation(id)
        );
        assert!(Channel::parse(&format!("user:{}", id.simple())).is_err());
        assert!(Channel::parse(&format!("user:{}", id.to_string().to_uppercase())).is_err());
        assert!(Channel::parse("t:abc:evaluations").is_err());
        assert!(Channel::parse("").is_err());
    }

    #[test]
    fn scoped_channels_carry_the_tenant_and_give_back_the_client_name() {
        let tenant = Uuid::now_v7();
        let user = Uuid::now_v7();
        let scoped = Channel::User(user).scoped(tenant);
        assert_eq!(scoped.key(), format!("t:{tenant}:user:{user}"));
        assert_eq!(scoped.tenant_id(), tenant);
        assert_eq!(scoped.name(), format!("user:{user}"));
        assert_eq!(ScopedChannel::from_key(scoped.key()), Some(scoped));
        assert_eq!(ScopedChannel::from_key("t:nope:inbox"), None);
    }

    #[test]
    fn patients_get_only_their_own_user_channel_and_must_be_in_a_conversation() {
        let patient = principal(Role::Patient);
        for channel in [
            Channel::Evaluations,
            Channel::Appointments,
            Channel::Presence,
            Channel::Inbox,
            Channel::Proms,
            Channel::Records,
        ] {
            assert_eq!(authorize(&patient, channel), Decision::Forbidden);
        }
        assert_eq!(
            authorize(&patient, Channel::User(patient.user_id)),
            Decision::Allow
        );
        assert_eq!(
            authorize(&patient, Channel::User(Uuid::now_v7())),
            Decision::Forbidden
        );
        let conversation = Uuid::now_v7();
        assert_eq!(
            authorize(&patient, Channel::Conversation(conversation)),
            Decision::AskConversation(conversation)
        );
    }

    #[test]
    fn staff_and_admins_get_the_clinic_channels_and_every_conversation() {
        for role in [Role::Staff, Role::Admin] {
            let user = principal(role);
            for channel in [
                Channel::Evaluations,
                Channel::Appointments,
                Channel::Presence,
                Channel::Inbox,
                Channel::Proms,
                Channel::Records,
            ] {
                assert_eq!(authorize(&user, channel), Decision::Allow);
            }
            assert_eq!(
                authorize(&user, Channel::Conversation(Uuid::now_v7())),
                Decision::Allow
            );
            assert_eq!(
                authorize(&user, Channel::User(Uuid::now_v7())),
                Decision::Forbidden
            );
        }
    }
}
