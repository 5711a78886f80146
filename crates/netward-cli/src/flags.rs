//! The API's field names in the CLI's terms. The server names the field at fault in an error
//! (`target: expirationTime`) and speaks of `force`; a person typed `--expires` and
//! `--force`. One table per command maps each field it sends to the flag or argument that set
//! it, so an error says `--expires: … is not in the future`.

/// API field → flag or argument, for one command.
#[derive(Debug)]
pub struct FlagNames(pub &'static [(&'static str, &'static str)]);

impl FlagNames {
    /// The flag or argument that sets `field`, if this command sends it.
    pub fn flag(&self, field: &str) -> Option<&'static str> {
        self.0
            .iter()
            .find(|(f, _)| f.eq_ignore_ascii_case(field))
            .map(|(_, flag)| *flag)
    }

    /// `message` with the server's words for a query option (`force`) as the flag.
    pub fn rewrite(&self, message: &str) -> String {
        match self.flag("force") {
            Some(flag) => message
                .replace("with force", &format!("with {flag}"))
                .replace("without force", &format!("without {flag}")),
            None => message.to_owned(),
        }
    }
}

/// `indicator add`.
pub const INDICATOR_ADD: FlagNames = FlagNames(&[
    ("indicatorValue", "the VALUE argument"),
    ("action", "--action"),
    ("title", "--title"),
    ("description", "--description"),
    ("severity", "--severity"),
    ("expirationTime", "--expires"),
    ("generateAlert", "--alert"),
    ("rbacGroupNames", "--group"),
    ("recommendedActions", "--recommended-actions"),
    ("externalId", "--external-id"),
    ("force", "--force"),
]);

/// `indicator list`.
pub const INDICATOR_LIST: FlagNames = FlagNames(&[
    ("value", "--value"),
    ("action", "--action"),
    ("group", "--group"),
    ("source", "--source"),
    ("importId", "--import"),
    ("within", "--within"),
    ("containing", "--containing"),
    ("title", "--title"),
    ("$top", "--top"),
    ("$skip", "--skip"),
]);

/// `indicator import` (a plain list takes its fields from flags).
pub const INDICATOR_IMPORT: FlagNames = FlagNames(&[
    ("action", "--action"),
    ("title", "--title"),
    ("description", "--description"),
    ("severity", "--severity"),
    ("expirationTime", "--expires"),
    ("generateAlert", "--alert"),
    ("rbacGroupNames", "--group"),
    ("force", "--force"),
]);

/// `indicator show` and `rm`.
pub const INDICATOR_ONE: FlagNames = FlagNames(&[("id", "the INDICATOR argument")]);

/// `indicator rm` by filter.
pub const INDICATOR_RM: FlagNames = FlagNames(&[
    ("source", "--source"),
    ("group", "--group"),
    ("action", "--action"),
    ("title", "--title"),
    ("values", "--file"),
]);

/// `group create` and `update`.
pub const GROUP: FlagNames = FlagNames(&[
    ("name", "the NAME argument"),
    ("description", "--description"),
    ("mode", "--mode"),
    ("coverage", "--coverage"),
]);

/// `feed add` and `update`.
pub const FEED: FlagNames = FlagNames(&[
    ("name", "the NAME argument"),
    ("kind", "--kind"),
    ("url", "--url"),
    ("collection", "--collection"),
    ("username", "--username"),
    ("password", "--password-file"),
    ("apiKey", "--api-key-file"),
    ("apiKeyHeader", "--api-key-header"),
    ("caCert", "--ca-cert"),
    ("action", "--action"),
    ("severity", "--severity"),
    ("generateAlert", "--alert"),
    ("groups", "--group"),
    ("refreshMinutes", "--refresh-minutes"),
    ("mode", "--mode"),
    ("removeAfterDays", "--remove-after-days"),
    ("maxShrinkPercent", "--max-shrink-percent"),
    ("allowWideRanges", "--allow-wide-ranges"),
    ("maxBytes", "--max-bytes"),
    ("maxEntries", "--max-entries"),
    ("csvColumn", "--csv-column"),
    ("csvCommentPrefix", "--csv-comment-prefix"),
    ("confidenceBlock", "--confidence-block"),
    ("confidenceAudit", "--confidence-audit"),
]);

/// `token create` and `revoke`.
pub const TOKEN: FlagNames =
    FlagNames(&[("name", "--name"), ("role", "--role"), ("force", "--force")]);

/// `enroll-token create`.
pub const ENROLL_TOKEN: FlagNames = FlagNames(&[
    ("group", "--group"),
    ("validHours", "--valid-hours"),
    ("maxUses", "--uses"),
]);

/// `device move`.
pub const DEVICE: FlagNames = FlagNames(&[("group", "--group")]);

/// `events`, `timeline`, `hunt`, `alert list`, `incident list`.
pub const DETECTION: FlagNames = FlagNames(&[
    ("remoteIp", "--remote-ip"),
    ("indicatorId", "--indicator"),
    ("deviceId", "--device"),
    ("outcome", "--outcome"),
    ("status", "--status"),
    ("from", "--from"),
    ("to", "--to"),
    ("$top", "--top"),
    ("determination", "--determination"),
    ("assignedTo", "the TO argument"),
    ("classification", "the CLASSIFICATION argument"),
    ("comment", "the COMMENT argument"),
]);

/// `hunt`.
pub const HUNT: FlagNames = FlagNames(&[
    ("remoteIp", "the REMOTE_IP argument"),
    ("from", "--from"),
    ("to", "--to"),
]);

/// `audit`.
pub const AUDIT: FlagNames = FlagNames(&[
    ("from", "--from"),
    ("target", "--target"),
    ("$top", "--top"),
    ("$skip", "--skip"),
]);

/// Commands that send no field of their own.
pub const NONE: FlagNames = FlagNames(&[]);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_become_flags_and_force_becomes_the_flag() {
        assert_eq!(INDICATOR_ADD.flag("expirationTime"), Some("--expires"));
        assert_eq!(
            INDICATOR_ADD.flag("indicatorValue"),
            Some("the VALUE argument")
        );
        assert_eq!(INDICATOR_ADD.flag("nope"), None);
        assert_eq!(
            INDICATOR_ADD.rewrite(
                "a block on 127.0.0.1 would cover loopback; resubmit with force to block it anyway"
            ),
            "a block on 127.0.0.1 would cover loopback; resubmit with --force to block it anyway"
        );
        assert_eq!(NONE.rewrite("with force"), "with force");
    }
}
