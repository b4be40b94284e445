//! Stage: plan features, and the plans (tiers) with the features each includes.

use std::collections::BTreeMap;

use super::errors::{at, quoted, too_many};
use crate::bits::MAX_FEATURES;
use crate::error::RbacError;
use crate::names::{FeatureName, PlanName, check_name};
use crate::spec::PolicySpec;

/// The declared features, validated, without duplicates, sorted (a feature's position is
/// its bit in a plan's feature set).
pub(super) fn features(spec: &PolicySpec) -> Result<Vec<FeatureName>, RbacError> {
    too_many("features", spec.features.len(), MAX_FEATURES)?;
    let mut features: Vec<FeatureName> = Vec::with_capacity(spec.features.len());
    for f in &spec.features {
        check_name("feature", f).map_err(|e| at("features", e))?;
        let name = FeatureName::new(f.as_str())?;
        if features.contains(&name) {
            return Err(RbacError::Duplicate {
                key: "features".to_owned(),
                value: f.clone(),
            });
        }
        features.push(name);
    }
    features.sort();
    Ok(features)
}

/// The bit of feature `f`, referenced at `key`.
pub(super) fn feature(features: &[FeatureName], key: &str, f: &str) -> Result<u8, RbacError> {
    features
        .iter()
        .position(|n| n.as_str() == f)
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| RbacError::UnknownFeature {
            key: key.to_owned(),
            feature: f.to_owned(),
        })
}

/// Each plan and the set of feature bits it includes.
pub(super) fn plans(
    spec: &PolicySpec,
    features: &[FeatureName],
) -> Result<BTreeMap<PlanName, u64>, RbacError> {
    let mut plans = BTreeMap::new();
    for (plan, list) in &spec.plans {
        check_name("plan", plan).map_err(|e| at("plans", e))?;
        let key = format!("plans.{}", quoted(plan));
        let mut set = 0u64;
        for f in list {
            let i = feature(features, &key, f)?;
            set |= 1 << i;
        }
        plans.insert(PlanName::new(plan.as_str())?, set);
    }
    Ok(plans)
}
