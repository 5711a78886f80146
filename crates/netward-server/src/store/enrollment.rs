//! Enrollment tokens, and the enrollment of a device with one.

use netward_model::agent_wire::DeviceFacts;

use super::{Change, DeviceRecord, EnrollTokenColumn, ListPage, StoreError};

/// An enrollment token as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnrollTokenRecord {
    /// Id.
    pub id: i64,
    /// The group enrolled devices join.
    pub group: String,
    /// When it was created.
    pub created_at: i64,
    /// Who created it.
    pub created_by: String,
    /// When it stops working.
    pub expires_at: i64,
    /// How many devices it may enroll; `None` for a token made before this limit existed,
    /// which enrolls any number until it expires.
    pub max_uses: Option<u32>,
    /// How many devices it has enrolled.
    pub uses: u32,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

/// Why an enrollment token does not enroll a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrollRefusal {
    /// No token has this secret.
    Unknown,
    /// It has expired.
    Expired,
    /// It was revoked.
    Revoked,
    /// It has enrolled as many devices as it may.
    UsedUp {
        /// Its limit.
        max_uses: u32,
    },
}

impl EnrollTokenRecord {
    /// Whether the token may enroll one more device at `now`.
    pub fn usable_at(&self, now: i64) -> Result<(), EnrollRefusal> {
        if self.revoked_at.is_some() {
            return Err(EnrollRefusal::Revoked);
        }
        if self.expires_at <= now {
            return Err(EnrollRefusal::Expired);
        }
        match self.max_uses {
            Some(max_uses) if self.uses >= max_uses => Err(EnrollRefusal::UsedUp { max_uses }),
            _ => Ok(()),
        }
    }
}

/// Enrollment tokens and enrollment.
pub trait EnrollmentStore: Send + Sync {
    /// Stores an enrollment token by the hash of its secret; it enrolls up to `max_uses`
    /// devices.
    fn create_enroll_token(
        &self,
        secret_hash: &str,
        group: &str,
        expires_at: i64,
        max_uses: u32,
        change: &Change<'_>,
    ) -> Result<EnrollTokenRecord, StoreError>;
    /// Every enrollment token, newest first.
    fn enroll_tokens(&self) -> Result<Vec<EnrollTokenRecord>, StoreError>;
    /// One page of the enrollment tokens in its order (newest first without one), and how
    /// many there are.
    fn enroll_tokens_page(
        &self,
        page: &ListPage<EnrollTokenColumn>,
    ) -> Result<(Vec<EnrollTokenRecord>, u64), StoreError>;
    /// Revokes an enrollment token; `None` if the id is unknown.
    fn revoke_enroll_token(
        &self,
        id: i64,
        change: &Change<'_>,
    ) -> Result<Option<EnrollTokenRecord>, StoreError>;
    /// Creates a device with its credential's hash, in the group of the enrollment token
    /// whose secret hashes to `token_hash`, and counts the use: in one transaction, so a
    /// token is never used more often than [`EnrollTokenRecord::usable_at`] allows.
    fn enroll_device(
        &self,
        token_hash: &str,
        facts: &DeviceFacts,
        secret_hash: &str,
        change: &Change<'_>,
    ) -> Result<Result<DeviceRecord, EnrollRefusal>, StoreError>;
}
