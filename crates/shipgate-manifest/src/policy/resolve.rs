//! Picking the mode: context (flag, environment or fail-closed), the
//! policy's mode for it, then `--mode` (raise freely; lower only with
//! `--allow-downgrade`, never for `install`).

use super::{Context, ContextSource, Mode, PolicyConfig, detect_context};

/// What the caller asked for.
pub struct Request<'a> {
    /// `--context`.
    pub context_flag: Option<Context>,
    /// `--mode`.
    pub mode_flag: Option<Mode>,
    /// `--allow-downgrade`.
    pub allow_downgrade: bool,
    /// The policy in force.
    pub config: &'a PolicyConfig,
    /// Environment lookup (`std::env::var` in the binary; a map in tests).
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// How the final mode was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModeSource {
    /// The policy's mode for the context.
    Policy,
    /// `--mode` raised it.
    Raised,
    /// `--mode` lowered it, with `--allow-downgrade`.
    Downgraded,
}

/// The resolved context, mode and the reasons for both.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// The context (`None`: undetermined, fail closed).
    pub context: Option<Context>,
    /// How it was found.
    pub context_source: ContextSource,
    /// The mode the policy gives the context.
    pub policy_mode: Mode,
    /// The rule that gave it.
    pub rule: String,
    /// The mode that applies.
    pub mode: Mode,
    /// Whether `--mode` changed it.
    pub mode_source: ModeSource,
    /// Warnings to print (a downgrade).
    pub warnings: Vec<String>,
}

/// A request the policy refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// Anything below `require-signature` for `install`.
    #[error("the install context always requires a signature; --mode {0} is refused")]
    InstallCannotBeLowered(Mode),
    /// `--mode` below the policy without `--allow-downgrade`.
    #[error("--mode {requested} is below the policy's {policy} for {context}")]
    DowngradeNeedsFlag {
        /// Requested mode.
        requested: Mode,
        /// The policy's mode.
        policy: Mode,
        /// The context.
        context: String,
    },
    /// `--context` names a weaker context than the CI environment shows.
    #[error(
        "--context {flag} ({flag_mode}) is weaker than the CI context {detected} ({detected_mode}) from the environment"
    )]
    ContextFlagLowers {
        /// The flag's context.
        flag: String,
        /// Its mode.
        flag_mode: Mode,
        /// The detected context.
        detected: String,
        /// Its mode.
        detected_mode: Mode,
    },
}

fn context_name(context: Option<&Context>) -> String {
    context.map_or_else(|| "an undetermined context".to_string(), Context::to_string)
}

/// Resolves the mode for `request`.
pub fn resolve(request: &Request<'_>) -> Result<Resolution, ResolveError> {
    let detected = detect_context(request.env);
    let mut warnings = Vec::new();
    let (context, context_source) = match &request.context_flag {
        Some(flag) => {
            // A flag may not quietly weaken what GitHub Actions says this run is.
            if let Some(env_context) = detected.context.as_ref().filter(|c| *c != flag) {
                let (flag_mode, _) = request.config.mode_for(Some(flag));
                let (detected_mode, _) = request.config.mode_for(Some(env_context));
                if flag_mode < detected_mode {
                    let error = ResolveError::ContextFlagLowers {
                        flag: flag.to_string(),
                        flag_mode,
                        detected: env_context.to_string(),
                        detected_mode,
                    };
                    if !request.allow_downgrade {
                        return Err(error);
                    }
                    warnings.push(format!("{error} (allowed by --allow-downgrade)"));
                }
            }
            (Some(flag.clone()), ContextSource::Flag)
        }
        None => (detected.context, detected.source),
    };
    let (policy_mode, rule) = request.config.mode_for(context.as_ref());
    let (mode, mode_source) = match request.mode_flag {
        None => (policy_mode, ModeSource::Policy),
        Some(requested) if requested == policy_mode => (policy_mode, ModeSource::Policy),
        Some(requested) if requested > policy_mode => (requested, ModeSource::Raised),
        Some(requested) => {
            if context == Some(Context::Install) {
                return Err(ResolveError::InstallCannotBeLowered(requested));
            }
            let error = ResolveError::DowngradeNeedsFlag {
                requested,
                policy: policy_mode,
                context: context_name(context.as_ref()),
            };
            if !request.allow_downgrade {
                return Err(error);
            }
            warnings.push(format!("{error}; lowered by --allow-downgrade"));
            (requested, ModeSource::Downgraded)
        }
    };
    Ok(Resolution {
        context,
        context_source,
        policy_mode,
        rule,
        mode,
        mode_source,
        warnings,
    })
}
