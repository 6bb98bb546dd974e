//! What the log means: the entries audit replays every event in order and
//! checks that the gate followed its own rules, so a gate that appends a
//! `released` leaf nobody approved is caught even though its hashes are
//! consistent.
//!
//! The log carries what the rules need: `package_policy` (a package's
//! quorum and listed maintainers, logged when the gate starts with a new
//! policy), `maintainer_enrolled` (the packages a maintainer may decide on)
//! and `maintainer_revoked`. The rules:
//!
//! - every `released` has at least the package's quorum of distinct
//!   `approved` events for that release, counting only maintainers who, at
//!   the release, are enrolled for the package, not revoked and listed in
//!   its policy (a revocation withdraws the maintainer's approvals of
//!   undecided releases, as the gate does);
//! - each package@version is released at most once;
//! - no decision (`approved`, `rejected`, `released`, `expired`) on a
//!   release that is already decided;
//! - no event for a release that was never staged, and none naming another
//!   package or version than its staging;
//! - `execution_token_issued` only for a released release;
//! - an approval or rejection only by a maintainer who may decide on the
//!   package, and one approval per maintainer;
//! - a passkey decision (`"approval": "passkey"`) is a valid WebAuthn
//!   assertion by a credential enrolled earlier for that maintainer and not
//!   revoked, over exactly this release and the manifest digest its staged
//!   files give (and its `released` leaf names); each nonce is used once and
//!   a credential's non-zero signature counter only grows (see
//!   [`super::passkeys`]);
//! - a package whose policy says `"approval": "passkey"` gets no TOTP
//!   decisions, and its quorum counts passkey approvals only (distinct
//!   credentials of distinct maintainers).
//!
//! For every release the report lists how each standing approval was made
//! ([`ReleaseApprovals`]).
//!
//! Releases decided before the first `package_policy` of their package (logs
//! written before the event existed) are checked against a quorum of one
//! and reported as unchecked rather than failed or silently passed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::Value;
use shipgate_protocol::leaf::LogEvent;
use shipgate_protocol::manifest::{release_manifest, sha256_hex};
use shipgate_protocol::passkey;
use shipgate_protocol::release::ReleaseFile;

use super::passkeys::{PasskeyFault, Passkeys};

/// Violations kept in full; more are only counted (a hostile log could
/// hold millions).
pub const MAX_REPORTED_VIOLATIONS: usize = 1000;

/// Which rule a leaf breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rule {
    /// A release without its quorum of approvals that count.
    Quorum,
    /// A package@version released a second time.
    ReleasedTwice,
    /// A decision on a release already released, rejected or expired.
    AlreadyDecided,
    /// An event about a release that was never staged (or staged twice).
    NotStaged,
    /// An event naming another package or version than the release's staging.
    WrongRelease,
    /// An execution token for a release that is not released.
    TokenForUnreleased,
    /// A decision by someone who may not decide on the package, or a
    /// second approval by the same maintainer.
    NotAllowed,
    /// An event without the fields its kind needs.
    Malformed,
    /// A passkey decision whose assertion does not verify, or is made with
    /// a credential that is not the maintainer's, not enrolled or revoked,
    /// or over another manifest than the release's.
    Passkey,
    /// A passkey assertion's nonce used again, or a signature counter that
    /// did not increase.
    Replayed,
    /// A TOTP decision on a package whose policy requires passkeys.
    ApprovalKind,
}

/// How one standing approval was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRecord {
    /// The maintainer.
    pub maintainer: String,
    /// `passkey` or `totp`.
    pub approval: ApprovalKind,
    /// The passkey credential (base64url), for passkey approvals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// The `approved` leaf.
    pub index: u64,
}

/// The second factor behind a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApprovalKind {
    /// A WebAuthn assertion, checked here against the enrolled key.
    Passkey,
    /// A TOTP code: the gate's word.
    Totp,
}

/// How a released release was approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseApprovals {
    /// The `released` leaf.
    pub index: u64,
    /// The release id.
    pub release_id: i64,
    /// Package.
    pub package: String,
    /// Version.
    pub version: String,
    /// The manifest digest the `released` leaf names.
    pub manifest_sha256: Option<String>,
    /// The quorum its policy asked for (1 without a logged policy).
    pub quorum: u64,
    /// Whether its policy required passkey approvals.
    pub passkey_required: bool,
    /// The approvals that count towards its quorum, in log order.
    pub approvals: Vec<ApprovalRecord>,
}

impl ReleaseApprovals {
    /// Distinct credentials of distinct maintainers behind its passkey
    /// approvals (each verified by the replay).
    pub fn passkey_approvals(&self) -> usize {
        let credentials: BTreeSet<&str> = self
            .approvals
            .iter()
            .filter(|a| a.approval == ApprovalKind::Passkey)
            .filter_map(|a| a.credential_id.as_deref())
            .collect();
        credentials.len()
    }
}

/// One leaf that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Leaf index.
    pub index: u64,
    /// The rule.
    pub rule: Rule,
    /// What is wrong, in one line (may hold text from the log: escape it
    /// before printing).
    pub message: String,
}

/// A leaf whose meaning could be checked only in part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unchecked {
    /// Leaf index.
    pub index: u64,
    /// What was not checked.
    pub message: String,
}

/// What the replay found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Meaning {
    /// Broken rules, in log order (the first [`MAX_REPORTED_VIOLATIONS`]).
    pub violations: Vec<Violation>,
    /// Violations beyond those listed.
    pub more_violations: u64,
    /// Leaves checked only in part (the first [`MAX_REPORTED_VIOLATIONS`]).
    pub unchecked: Vec<Unchecked>,
    /// Leaves checked only in part beyond those listed.
    pub more_unchecked: u64,
    /// Every released release and how its approvals were made, in log order.
    pub releases: Vec<ReleaseApprovals>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Released,
    Rejected,
    Expired,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Released => "released",
            Decision::Rejected => "rejected",
            Decision::Expired => "expired",
        }
    }
}

#[derive(Debug)]
struct Release {
    package: String,
    version: String,
    decided: Option<(Decision, u64)>,
    approvals: BTreeMap<String, ApprovalRecord>,
    /// The digest of the manifest its staged files give (`None`: they do
    /// not form one).
    manifest_sha256: Option<String>,
}

#[derive(Debug)]
struct Maintainer {
    packages: BTreeSet<String>,
    revoked: bool,
}

#[derive(Debug)]
struct Policy {
    quorum: u64,
    maintainers: BTreeSet<String>,
    index: u64,
    /// `"approval": "passkey"`: TOTP decisions are refused.
    passkey: bool,
}

/// Replays events one at a time ([`Replay::apply`]) and collects what breaks
/// the rules ([`Replay::finish`]).
#[derive(Debug, Default)]
pub struct Replay {
    releases: HashMap<i64, Release>,
    released: HashMap<(String, String), u64>,
    maintainers: HashMap<String, Maintainer>,
    policies: BTreeMap<String, Policy>,
    passkeys: Passkeys,
    meaning: Meaning,
}

impl Replay {
    /// A replay of an empty log.
    pub fn new() -> Replay {
        Replay::default()
    }

    /// What the replay found.
    pub fn finish(self) -> Meaning {
        self.meaning
    }

    fn violation(&mut self, index: u64, rule: Rule, message: String) {
        if self.meaning.violations.len() < MAX_REPORTED_VIOLATIONS {
            self.meaning.violations.push(Violation {
                index,
                rule,
                message,
            });
        } else {
            self.meaning.more_violations += 1;
        }
    }

    /// Replays leaf `index`.
    pub fn apply(&mut self, index: u64, event: &LogEvent) {
        match event.kind.as_str() {
            "package_policy" => self.policy(index, event),
            "maintainer_enrolled" => self.enrolled(index, event),
            "maintainer_revoked" => self.revoked(index, event),
            "staged" => self.staged(index, event),
            "passkey_enrolled" => {
                let result = self.passkeys.enrolled(index, event);
                self.passkey_fault(index, result.err());
            }
            "passkey_revoked" => {
                let result = self.passkeys.revoked(index, event);
                self.passkey_fault(index, result.err());
            }
            _ => self.about_release(index, event),
        }
    }

    fn policy(&mut self, index: u64, event: &LogEvent) {
        let package = event.detail_str("package");
        let quorum = event.detail.get("quorum").and_then(Value::as_u64);
        let maintainers = names(event.detail.get("maintainers"));
        // Logs from before passkeys have no `approval`: any factor.
        let passkey = match event.detail.get("approval") {
            None => Some(false),
            Some(Value::String(kind)) if kind == "any" => Some(false),
            Some(Value::String(kind)) if kind == "passkey" => Some(true),
            Some(_) => None,
        };
        match (package, quorum, maintainers, passkey) {
            (Some(package), Some(quorum), Some(maintainers), Some(passkey)) if quorum >= 1 => {
                self.policies.insert(
                    package.to_owned(),
                    Policy {
                        quorum,
                        maintainers,
                        index,
                        passkey,
                    },
                );
            }
            _ => self.violation(
                index,
                Rule::Malformed,
                "is a package_policy without a package, a quorum of at least 1 and a list of maintainers, or with an approval other than \"any\" or \"passkey\"".into(),
            ),
        }
    }

    fn enrolled(&mut self, index: u64, event: &LogEvent) {
        let (Some(name), Some(packages)) = (
            event.detail_str("maintainer"),
            names(event.detail.get("packages")),
        ) else {
            self.violation(
                index,
                Rule::Malformed,
                "is a maintainer_enrolled without a maintainer and a list of packages".into(),
            );
            return;
        };
        self.maintainers.insert(
            name.to_owned(),
            Maintainer {
                packages,
                revoked: false,
            },
        );
    }

    fn revoked(&mut self, index: u64, event: &LogEvent) {
        let Some(name) = event.detail_str("maintainer") else {
            self.violation(
                index,
                Rule::Malformed,
                "is a maintainer_revoked without a maintainer".into(),
            );
            return;
        };
        if let Some(maintainer) = self.maintainers.get_mut(name) {
            maintainer.revoked = true;
        }
        self.passkeys.maintainer_revoked(index, name);
        // The gate withdraws a revoked maintainer's approvals of releases
        // still undecided.
        for release in self.releases.values_mut() {
            if release.decided.is_none() {
                release.approvals.remove(name);
            }
        }
    }

    fn staged(&mut self, index: u64, event: &LogEvent) {
        let (Some(id), Some(package), Some(version)) =
            (event.release_id, &event.package, &event.version)
        else {
            self.violation(
                index,
                Rule::Malformed,
                "is a staged event without a release id, package and version".into(),
            );
            return;
        };
        if self.releases.contains_key(&id) {
            self.violation(index, Rule::NotStaged, format!("stages release {id} again"));
            return;
        }
        let manifest_sha256 = staged_manifest_digest(package, version, event);
        self.releases.insert(
            id,
            Release {
                package: package.clone(),
                version: version.clone(),
                decided: None,
                approvals: BTreeMap::new(),
                manifest_sha256,
            },
        );
    }

    fn passkey_fault(&mut self, index: u64, fault: Option<PasskeyFault>) {
        match fault {
            None => {}
            Some(PasskeyFault::Malformed(message)) => {
                self.violation(index, Rule::Malformed, message);
            }
            Some(PasskeyFault::Invalid(message)) => self.violation(index, Rule::Passkey, message),
            Some(PasskeyFault::Replayed(message)) => {
                self.violation(index, Rule::Replayed, message);
            }
        }
    }

    /// The factor behind decision leaf `index` on release `id`: for a
    /// passkey, the checked credential; `Err(())` once the violation is
    /// recorded (the decision then does not count).
    fn second_factor(
        &mut self,
        index: u64,
        event: &LogEvent,
        id: i64,
        package: &str,
        what: &str,
    ) -> Result<Option<String>, ()> {
        let verb = verb(&event.kind);
        let passkey_policy = self
            .policies
            .get(package)
            .filter(|p| p.passkey)
            .map(|p| p.index);
        match event.detail.get("approval") {
            // Logs from before passkeys: TOTP.
            None => {}
            Some(Value::String(kind)) if kind == "totp" => {}
            Some(Value::String(kind)) if kind == "passkey" => {
                let decision = if event.kind == "rejected" {
                    passkey::Decision::Reject
                } else {
                    passkey::Decision::Approve
                };
                let digest = self
                    .releases
                    .get(&id)
                    .and_then(|r| r.manifest_sha256.clone());
                return match self
                    .passkeys
                    .decision(index, event, decision, digest.as_deref())
                {
                    Ok(checked) => Ok(Some(checked.credential_id)),
                    Err(fault) => {
                        let fault = match fault {
                            PasskeyFault::Invalid(m) => PasskeyFault::Invalid(format!(
                                "{verb} {what} with a passkey decision that does not stand: {m}"
                            )),
                            PasskeyFault::Replayed(m) => PasskeyFault::Replayed(format!(
                                "{verb} {what} with a passkey that {m}"
                            )),
                            other => other,
                        };
                        self.passkey_fault(index, Some(fault));
                        Err(())
                    }
                };
            }
            Some(_) => {
                self.violation(
                    index,
                    Rule::Malformed,
                    format!("{verb} {what} with an approval other than \"passkey\" or \"totp\""),
                );
                return Err(());
            }
        }
        if let Some(policy) = passkey_policy {
            self.violation(
                index,
                Rule::ApprovalKind,
                format!(
                    "{verb} {what} with TOTP, but its policy (leaf {policy}) requires passkeys: it does not count"
                ),
            );
            return Err(());
        }
        Ok(None)
    }

    /// Why `name` may not decide on `package` now, if they may not.
    fn may_not_decide(&self, name: &str, package: &str) -> Option<String> {
        let Some(maintainer) = self.maintainers.get(name) else {
            return Some(format!("{name} is not an enrolled maintainer"));
        };
        if maintainer.revoked {
            return Some(format!("{name} is revoked"));
        }
        if !maintainer.packages.contains(package) {
            return Some(format!("{name} is not enrolled for {package}"));
        }
        match self.policies.get(package) {
            Some(policy) if !policy.maintainers.contains(name) => Some(format!(
                "{name} is not listed for {package} in its policy (leaf {})",
                policy.index
            )),
            _ => None,
        }
    }

    fn about_release(&mut self, index: u64, event: &LogEvent) {
        let kind = event.kind.as_str();
        let decision = match kind {
            "released" => Some(Decision::Released),
            "rejected" => Some(Decision::Rejected),
            "expired" => Some(Decision::Expired),
            _ => None,
        };
        let about_release = decision.is_some()
            || matches!(kind, "approved" | "execution_token_issued")
            || event.release_id.is_some();
        if !about_release {
            return;
        }
        let Some(id) = event.release_id else {
            self.violation(
                index,
                Rule::Malformed,
                format!("is a {kind} event without a release id"),
            );
            return;
        };
        let Some(release) = self.releases.get(&id) else {
            self.violation(
                index,
                Rule::NotStaged,
                format!("is a {kind} event for release {id}, which was never staged"),
            );
            return;
        };
        let (package, version, decided) = (
            release.package.clone(),
            release.version.clone(),
            release.decided,
        );
        if event.package.as_deref() != Some(package.as_str())
            || event.version.as_deref() != Some(version.as_str())
        {
            self.violation(
                index,
                Rule::WrongRelease,
                format!(
                    "is a {kind} event for release {id} naming {} {}, but release {id} was staged as {package} {version}",
                    event.package.as_deref().unwrap_or("no package"),
                    event.version.as_deref().unwrap_or("no version"),
                ),
            );
        }
        let what = format!("{package} {version} (release {id})");
        if let Some((earlier, at)) = decided
            && (decision.is_some() || kind == "approved")
        {
            self.violation(
                index,
                Rule::AlreadyDecided,
                format!(
                    "{} {what}, which was already {} at leaf {at}",
                    verb(kind),
                    earlier.as_str()
                ),
            );
        }
        match kind {
            "approved" if decided.is_none() => self.approved(index, event, id, &package, &what),
            "rejected" if decided.is_none() => {
                if let Some(why) = self.may_not_decide(&event.actor, &package) {
                    self.violation(
                        index,
                        Rule::NotAllowed,
                        format!("rejects {what}, but {why}"),
                    );
                } else {
                    let _ = self.second_factor(index, event, id, &package, &what);
                }
            }
            "released" => self.check_released(index, event, id, &package, &version, &what),
            // The gate withdrew an approval whose maintainer may no longer
            // approve the package: it no longer counts.
            "approval_withdrawn" if decided.is_none() => {
                if let Some(name) = event.detail.get("maintainer").and_then(|v| v.as_str())
                    && let Some(release) = self.releases.get_mut(&id)
                {
                    release.approvals.remove(name);
                }
            }
            "execution_token_issued" if decided.map(|d| d.0) != Some(Decision::Released) => {
                self.violation(
                    index,
                    Rule::TokenForUnreleased,
                    format!(
                        "issues an execution token for {what}, which is {}",
                        decided.map_or("not released", |d| d.0.as_str())
                    ),
                );
            }
            _ => {}
        }
        if let (Some(decision), None) = (decision, decided)
            && let Some(release) = self.releases.get_mut(&id)
        {
            release.decided = Some((decision, index));
        }
    }

    fn approved(&mut self, index: u64, event: &LogEvent, id: i64, package: &str, what: &str) {
        let name = event.actor.as_str();
        if event.detail_str("maintainer").is_some_and(|m| m != name) {
            self.violation(
                index,
                Rule::Malformed,
                format!("approves {what} as {name} but names another maintainer"),
            );
            return;
        }
        if let Some(why) = self.may_not_decide(name, package) {
            self.violation(
                index,
                Rule::NotAllowed,
                format!("approves {what}, but {why}"),
            );
            return;
        }
        if self
            .releases
            .get(&id)
            .is_some_and(|r| r.approvals.contains_key(name))
        {
            self.violation(
                index,
                Rule::NotAllowed,
                format!("approves {what} a second time as {name}"),
            );
            return;
        }
        let Ok(credential_id) = self.second_factor(index, event, id, package, what) else {
            return;
        };
        let record = ApprovalRecord {
            maintainer: name.to_owned(),
            approval: if credential_id.is_some() {
                ApprovalKind::Passkey
            } else {
                ApprovalKind::Totp
            },
            credential_id,
            index,
        };
        let first = self
            .releases
            .get_mut(&id)
            .is_some_and(|r| r.approvals.insert(name.to_owned(), record).is_none());
        if !first {
            self.violation(
                index,
                Rule::NotAllowed,
                format!("approves {what} a second time as {name}"),
            );
        }
    }

    fn check_released(
        &mut self,
        index: u64,
        event: &LogEvent,
        id: i64,
        package: &str,
        version: &str,
        what: &str,
    ) {
        let key = (package.to_owned(), version.to_owned());
        if let Some(earlier) = self.released.get(&key) {
            self.violation(
                index,
                Rule::ReleasedTwice,
                format!("releases {what}, but {package} {version} was already released at leaf {earlier}"),
            );
        } else {
            self.released.insert(key, index);
        }
        let (records, staged_digest) = self
            .releases
            .get(&id)
            .map(|r| (r.approvals.clone(), r.manifest_sha256.clone()))
            .unwrap_or_default();
        let approvals: BTreeSet<String> = records.keys().cloned().collect();
        let passkey_required = self.policies.get(package).is_some_and(|p| p.passkey);
        // Under a passkey policy only passkey approvals count, even those
        // made before the policy changed.
        let (counted, discarded): (Vec<&String>, Vec<&String>) =
            approvals.iter().partition(|name| {
                self.may_not_decide(name, package).is_none()
                    && (!passkey_required
                        || records
                            .get(*name)
                            .is_some_and(|r| r.approval == ApprovalKind::Passkey))
            });
        let released_digest = event.detail_str("manifest_sha256").map(str::to_owned);
        let any_passkey = records
            .values()
            .any(|r| r.approval == ApprovalKind::Passkey);
        // Passkey approvals commit to the staged files' manifest: the one
        // released must be that one.
        if (any_passkey || passkey_required) && released_digest != staged_digest {
            self.violation(
                index,
                Rule::Passkey,
                format!(
                    "releases {what} with manifest {}, but its staged files give manifest {}, the one its passkey approvals commit to",
                    released_digest.as_deref().unwrap_or("(none)"),
                    staged_digest.as_deref().unwrap_or("(none: the staged files do not form a manifest)"),
                ),
            );
        }
        let (quorum, source) = match self.policies.get(package) {
            Some(policy) => (policy.quorum, format!("its policy (leaf {})", policy.index)),
            None => {
                if self.meaning.unchecked.len() < MAX_REPORTED_VIOLATIONS {
                    self.meaning.unchecked.push(Unchecked {
                        index,
                        message: format!(
                            "no policy for {package} logged before leaf {index}: its quorum was taken as 1 and its maintainer list was not checked"
                        ),
                    });
                } else {
                    self.meaning.more_unchecked += 1;
                }
                (1, "any policy".to_owned())
            }
        };
        if (counted.len() as u64) < quorum {
            let mut message = format!(
                "releases {what} with {} approval(s) that count{}, but {source} needs {quorum}",
                counted.len(),
                list(&counted),
            );
            if !discarded.is_empty() {
                let reasons: Vec<String> = discarded
                    .iter()
                    .map(|name| {
                        self.may_not_decide(name, package)
                            .unwrap_or_else(|| format!("{name} approved with TOTP"))
                    })
                    .collect();
                message.push_str(&format!(" (not counted: {})", reasons.join("; ")));
            }
            self.violation(index, Rule::Quorum, message);
        }
        if let Some(claimed) = names(event.detail.get("approved_by")) {
            for name in claimed.difference(&approvals) {
                self.violation(
                    index,
                    Rule::Quorum,
                    format!("names {name} among the approvers of {what}, but the log holds no approval by {name} that stands"),
                );
            }
        }
        // Only the approvals that count: a consumer reading the report must
        // not see one that the quorum check set aside.
        let mut approvals: Vec<ApprovalRecord> = records
            .into_values()
            .filter(|r| counted.contains(&&r.maintainer))
            .collect();
        approvals.sort_by_key(|a| a.index);
        self.meaning.releases.push(ReleaseApprovals {
            index,
            release_id: id,
            package: package.to_owned(),
            version: version.to_owned(),
            manifest_sha256: released_digest,
            quorum,
            passkey_required,
            approvals,
        });
    }
}

/// The digest of the release manifest the `staged` leaf's files give, as
/// the gate computes it when it signs (`None` when the files do not form a
/// manifest: then no passkey decision on the release can be checked).
fn staged_manifest_digest(package: &str, version: &str, event: &LogEvent) -> Option<String> {
    let files: Vec<ReleaseFile> =
        serde_json::from_value(event.detail.get("files")?.clone()).ok()?;
    let manifest = release_manifest(package, version, &files).ok()?;
    Some(sha256_hex(&manifest.to_bytes()))
}

fn verb(kind: &str) -> &'static str {
    match kind {
        "released" => "releases",
        "approved" => "approves",
        "rejected" => "rejects",
        "expired" => "expires",
        _ => "decides",
    }
}

fn list(names: &[&String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
        format!(" ({})", names.join(", "))
    }
}

/// A JSON array of strings as a set; `None` for anything else.
fn names(value: Option<&Value>) -> Option<BTreeSet<String>> {
    value?
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(kind: &str, actor: &str, release: Option<(i64, &str)>, detail: Value) -> LogEvent {
        LogEvent {
            seq: 0,
            time: 0,
            kind: kind.into(),
            actor: actor.into(),
            release_id: release.map(|r| r.0),
            package: release.map(|_| "hello".to_owned()),
            version: release.map(|r| r.1.to_owned()),
            detail: detail.as_object().cloned().unwrap(),
        }
    }

    fn policy(quorum: u64, maintainers: &[&str]) -> LogEvent {
        event(
            "package_policy",
            "gate",
            None,
            json!({"package": "hello", "quorum": quorum, "maintainers": maintainers}),
        )
    }

    fn enrolled(name: &str) -> LogEvent {
        event(
            "maintainer_enrolled",
            "admin",
            None,
            json!({"maintainer": name, "packages": ["hello"]}),
        )
    }

    fn revoked(name: &str) -> LogEvent {
        event(
            "maintainer_revoked",
            "admin",
            None,
            json!({"maintainer": name}),
        )
    }

    fn staged(id: i64, version: &str) -> LogEvent {
        event("staged", "ci", Some((id, version)), json!({"files": []}))
    }

    fn approved(id: i64, version: &str, who: &str) -> LogEvent {
        event(
            "approved",
            who,
            Some((id, version)),
            json!({"maintainer": who}),
        )
    }

    fn released(id: i64, version: &str, by: &[&str]) -> LogEvent {
        event(
            "released",
            "gate",
            Some((id, version)),
            json!({"approved_by": by}),
        )
    }

    fn replay(events: &[LogEvent]) -> Meaning {
        let mut replay = Replay::new();
        for (index, event) in events.iter().enumerate() {
            replay.apply(index as u64, event);
        }
        replay.finish()
    }

    /// (index, rule) of each violation.
    fn broken(events: &[LogEvent]) -> Vec<(u64, Rule)> {
        replay(events)
            .violations
            .iter()
            .map(|v| (v.index, v.rule))
            .collect()
    }

    fn honest() -> Vec<LogEvent> {
        vec![
            policy(2, &["alice", "bob", "carol"]),
            enrolled("alice"),
            enrolled("bob"),
            staged(1, "1.0"),
            approved(1, "1.0", "alice"),
            approved(1, "1.0", "bob"),
            released(1, "1.0", &["alice", "bob"]),
            event(
                "execution_token_issued",
                "ci",
                Some((1, "1.0")),
                json!({"jti": "x"}),
            ),
            staged(2, "2.0"),
            event(
                "rejected",
                "alice",
                Some((2, "2.0")),
                json!({"maintainer": "alice", "reason": "no"}),
            ),
            event(
                "maintainer_unlocked",
                "admin",
                None,
                json!({"maintainer": "bob"}),
            ),
            staged(3, "3.0"),
            approved(3, "3.0", "alice"),
            // Revoked: alice's approval of 3 is withdrawn; re-enrolled, she
            // approves again.
            revoked("alice"),
            enrolled("alice"),
            approved(3, "3.0", "alice"),
            approved(3, "3.0", "bob"),
            released(3, "3.0", &["alice", "bob"]),
            event("test", "me", None, json!({})),
        ]
    }

    #[test]
    fn an_honest_log_means_what_it_says() {
        let meaning = replay(&honest());
        assert_eq!(
            Meaning {
                releases: Vec::new(),
                ..meaning.clone()
            },
            Meaning::default()
        );
        // Both releases are listed with their TOTP approvals.
        let listed: Vec<(u64, Vec<(&str, ApprovalKind)>)> = meaning
            .releases
            .iter()
            .map(|r| {
                let approvals = r
                    .approvals
                    .iter()
                    .map(|a| (a.maintainer.as_str(), a.approval))
                    .collect();
                (r.index, approvals)
            })
            .collect();
        let both = vec![("alice", ApprovalKind::Totp), ("bob", ApprovalKind::Totp)];
        assert_eq!(listed, [(6, both.clone()), (17, both)]);
    }

    #[test]
    fn a_release_without_its_quorum_is_a_violation() {
        let mut log = honest();
        log[5] = approved(1, "1.0", "carol"); // listed but never enrolled
        let meaning = replay(&log);
        assert_eq!(
            broken(&log),
            [(5, Rule::NotAllowed), (6, Rule::Quorum), (6, Rule::Quorum)]
        );
        assert!(
            meaning.violations[1]
                .message
                .contains("with 1 approval(s) that count (alice), but its policy (leaf 0) needs 2"),
            "{meaning:?}"
        );
        // No approvals at all.
        let log = [
            policy(1, &["alice"]),
            staged(1, "1.0"),
            released(1, "1.0", &[]),
        ];
        assert_eq!(broken(&log), [(2, Rule::Quorum)]);
    }

    #[test]
    fn approvals_by_a_revoked_maintainer_do_not_count() {
        let log = [
            policy(2, &["alice", "bob"]),
            enrolled("alice"),
            enrolled("bob"),
            staged(1, "1.0"),
            approved(1, "1.0", "alice"),
            revoked("alice"),
            approved(1, "1.0", "alice"),
            approved(1, "1.0", "bob"),
            released(1, "1.0", &["bob"]),
        ];
        let meaning = replay(&log);
        assert_eq!(broken(&log), [(6, Rule::NotAllowed), (8, Rule::Quorum)]);
        assert!(meaning.violations[0].message.contains("alice is revoked"));
        // Revoked after approving a release still staged, then released on
        // the strength of that approval.
        let log = [
            policy(2, &["alice", "bob"]),
            enrolled("alice"),
            enrolled("bob"),
            staged(1, "1.0"),
            approved(1, "1.0", "alice"),
            approved(1, "1.0", "bob"),
            revoked("bob"),
            released(1, "1.0", &["alice", "bob"]),
        ];
        assert_eq!(broken(&log), [(7, Rule::Quorum), (7, Rule::Quorum)]);
    }

    #[test]
    fn a_maintainer_removed_from_the_policy_no_longer_counts() {
        let log = [
            policy(2, &["alice", "bob"]),
            enrolled("alice"),
            enrolled("bob"),
            staged(1, "1.0"),
            approved(1, "1.0", "alice"),
            policy(2, &["bob", "carol"]),
            approved(1, "1.0", "bob"),
            released(1, "1.0", &["alice", "bob"]),
        ];
        let meaning = replay(&log);
        assert_eq!(broken(&log), [(7, Rule::Quorum)]);
        assert!(
            meaning.violations[0]
                .message
                .contains("not counted: alice is not listed for hello in its policy (leaf 5)"),
            "{meaning:?}"
        );
    }

    #[test]
    fn a_version_is_released_once_and_a_release_decided_once() {
        let mut log = honest();
        // Release 3 claims version 1.0 (staged and released as such).
        log[11] = staged(3, "1.0");
        log[12] = approved(3, "1.0", "alice");
        log[15] = approved(3, "1.0", "alice");
        log[16] = approved(3, "1.0", "bob");
        log[17] = released(3, "1.0", &["alice", "bob"]);
        assert_eq!(broken(&log), [(17, Rule::ReleasedTwice)]);

        let mut log = honest();
        log.push(released(2, "2.0", &[]));
        log.push(approved(1, "1.0", "bob"));
        log.push(event("rejected", "bob", Some((1, "1.0")), json!({})));
        assert_eq!(
            broken(&log),
            [
                (19, Rule::AlreadyDecided),
                (19, Rule::Quorum),
                (20, Rule::AlreadyDecided),
                (21, Rule::AlreadyDecided)
            ]
        );
        assert!(
            replay(&log).violations[0]
                .message
                .contains("releases hello 2.0 (release 2), which was already rejected at leaf 9")
        );
    }

    #[test]
    fn events_for_releases_never_staged_are_violations() {
        let mut log = honest();
        log.push(released(9, "9.0", &[]));
        log.push(approved(8, "8.0", "bob"));
        log.push(staged(1, "1.0"));
        let mut wrong = approved(3, "3.0", "bob");
        wrong.version = Some("4.0".into());
        log.push(wrong);
        assert_eq!(
            broken(&log),
            [
                (19, Rule::NotStaged),
                (20, Rule::NotStaged),
                (21, Rule::NotStaged),
                (22, Rule::WrongRelease),
                (22, Rule::AlreadyDecided)
            ]
        );
    }

    #[test]
    fn execution_tokens_only_for_released_releases() {
        let mut log = honest();
        for id in [2, 3] {
            let version = if id == 2 { "2.0" } else { "3.0" };
            log.push(event(
                "execution_token_issued",
                "ci",
                Some((id, version)),
                json!({}),
            ));
        }
        log.insert(
            12,
            event("execution_token_issued", "ci", Some((3, "3.0")), json!({})),
        );
        assert_eq!(
            broken(&log),
            [
                (12, Rule::TokenForUnreleased),
                (20, Rule::TokenForUnreleased)
            ]
        );
    }

    #[test]
    fn decisions_only_by_maintainers_who_may_decide() {
        let mut log = honest();
        log[9] = event("rejected", "mallory", Some((2, "2.0")), json!({}));
        log[16] = approved(3, "3.0", "alice");
        assert_eq!(
            broken(&log),
            [
                (9, Rule::NotAllowed),
                (16, Rule::NotAllowed),
                (17, Rule::Quorum),
                (17, Rule::Quorum)
            ]
        );
        let mut other = enrolled("bob");
        other.detail.insert("packages".into(), json!(["other"]));
        let log = [
            policy(1, &["bob"]),
            other,
            staged(1, "1.0"),
            approved(1, "1.0", "bob"),
        ];
        assert!(
            replay(&log).violations[0]
                .message
                .contains("bob is not enrolled for hello")
        );
    }

    /// The rewrite `docs/transparency-log.md` shows: a dev gate's approval
    /// made to say "mallory".
    #[test]
    fn the_documented_rewrite_reads_as_documented() {
        let mut enrolled_dev = enrolled("dev");
        enrolled_dev
            .detail
            .insert("packages".into(), json!(["hello"]));
        let log = [
            enrolled_dev,
            policy(1, &["dev"]),
            staged(1, "1.0.0"),
            approved(1, "1.0.0", "mallory"),
            released(1, "1.0.0", &["dev"]),
        ];
        let messages: Vec<String> = replay(&log)
            .violations
            .iter()
            .map(|v| format!("log leaf {} {}", v.index, v.message))
            .collect();
        assert_eq!(
            messages,
            [
                "log leaf 3 approves hello 1.0.0 (release 1), but mallory is not an enrolled maintainer",
                "log leaf 4 releases hello 1.0.0 (release 1) with 0 approval(s) that count, but its policy (leaf 1) needs 1",
                "log leaf 4 names dev among the approvers of hello 1.0.0 (release 1), but the log holds no approval by dev that stands",
            ]
        );
    }

    /// A log from before `package_policy` existed: its releases are
    /// checked against a quorum of one and reported as unchecked.
    #[test]
    fn releases_before_any_policy_are_reported_unchecked() {
        let mut log = honest();
        log.remove(0);
        let meaning = replay(&log);
        assert!(meaning.violations.is_empty(), "{meaning:?}");
        assert_eq!(meaning.unchecked.len(), 2);
        assert_eq!(meaning.unchecked[0].index, 5);
        assert!(
            meaning.unchecked[0]
                .message
                .starts_with("no policy for hello logged before leaf 5"),
        );
        let log = [enrolled("bob"), staged(1, "1.0"), released(1, "1.0", &[])];
        assert_eq!(broken(&log), [(2, Rule::Quorum)]);
    }

    #[test]
    fn malformed_events_are_violations_and_reports_are_bounded() {
        let log = [
            event(
                "package_policy",
                "gate",
                None,
                json!({"package": "hello", "quorum": 0, "maintainers": []}),
            ),
            event(
                "maintainer_enrolled",
                "admin",
                None,
                json!({"maintainer": "x"}),
            ),
            event("approved", "x", None, json!({})),
        ];
        assert_eq!(
            broken(&log),
            [
                (0, Rule::Malformed),
                (1, Rule::Malformed),
                (2, Rule::Malformed)
            ]
        );
        let mut replay = Replay::new();
        for index in 0..(MAX_REPORTED_VIOLATIONS as u64 + 5) {
            replay.apply(index, &released(7, "7.0", &[]));
        }
        let meaning = replay.finish();
        assert_eq!(meaning.violations.len(), MAX_REPORTED_VIOLATIONS);
        assert_eq!(meaning.more_violations, 5);
    }
}
