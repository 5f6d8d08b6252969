//! Socket units in the boot. A container has no on-demand activation: the init binds a
//! socket unit's sockets when the boot begins and hands them to its service, which boots
//! with it. So a socket unit in the boot (enabled in `sockets.target.wants/`, or named by a
//! service's Requires=/Wants=) brings its service in too, even when only the socket is
//! enabled; a socket unit whose service cannot be loaded is dropped with one warning.

use std::collections::BTreeMap;

use super::super::discovery::{DiscoveryError, Loader};
use super::{Kind, Loaded};

/// The services (and what they pull in) that the socket units of `loaded` activate and
/// the boot does not have yet; each socket's Service= is made the service's own name
/// (the end of its alias chain).
pub(super) fn services_to_add(
    loader: &Loader,
    loaded: &mut BTreeMap<String, Loaded>,
) -> Result<Vec<String>, DiscoveryError> {
    let mut out: Vec<String> = Vec::new();
    for l in loaded.values_mut() {
        let Kind::Socket(socket) = &mut l.kind else {
            continue;
        };
        match loader.find(&socket.service) {
            Ok(Some(found)) if !found.masked => socket.service = found.name,
            Ok(_) | Err(DiscoveryError::InvalidName { .. }) => continue,
            Err(e) => return Err(e),
        }
        out.push(socket.service.clone());
        out.extend(loader.pulled_in(&socket.service)?);
    }
    out.retain(|n| !loaded.contains_key(n));
    crate::sort::sort(&mut out);
    out.dedup();
    Ok(out)
}

/// Drop the socket units whose service is not a loaded service, with one line each.
pub(super) fn drop_orphans(loaded: &mut BTreeMap<String, Loaded>, warnings: &mut Vec<String>) {
    let orphans: Vec<(String, String)> = loaded
        .iter()
        .filter_map(|(name, l)| match &l.kind {
            Kind::Socket(s)
                if !matches!(
                    loaded.get(&s.service).map(|l| &l.kind),
                    Some(Kind::Service(_))
                ) =>
            {
                Some((name.clone(), s.service.clone()))
            }
            _ => None,
        })
        .collect();
    for (name, service) in orphans {
        warnings.push(format!(
            "{name}: its service {service} cannot be loaded (no such unit, masked, or \
             skipped above), so nothing would get its sockets; skipping it; install \
             {service}, or name the right one with Service="
        ));
        loaded.remove(&name);
    }
}

#[cfg(test)]
#[path = "sockets_tests.rs"]
mod tests;
