//! Arbitrary policy files never panic; what compiles round-trips through TOML to an equal
//! policy, and checks against it never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::{ActorId, TenantId};
use portcullis_rbac::{Policy, PolicySpec, Principal, Resource};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(spec) = PolicySpec::from_toml(text) else { return };
    // Through the file path, so validation errors are also located in the text.
    let Ok(policy) = Policy::from_toml(text) else { return };
    assert_eq!(spec.compile().expect("same spec compiles"), policy);
    let again = spec.to_toml().expect("a parsed spec encodes");
    assert_eq!(Policy::from_toml(&again).expect("round trip compiles"), policy);
    let (Ok(actor), Ok(tenant)) = (ActorId::new("a"), TenantId::new("t")) else { return };
    let mut principal = Principal::new(actor, tenant.clone());
    for role in policy.roles() {
        principal = principal.with_role(role.as_str());
    }
    let resolved = policy.resolve(&principal);
    let resource = Resource::new(&tenant, "doc", "1");
    for permission in policy.permissions() {
        let _ = policy.authorize_named(&resolved, permission.as_str(), &resource).is_allowed();
    }
    let _ = policy.permissions_in(&resolved, &tenant);
});
