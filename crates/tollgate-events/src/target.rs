//! Where webhooks may be sent. URLs must be http(s), and hosts that resolve to private,
//! loopback, link-local or otherwise internal addresses are refused (server-side request
//! forgery), unless configuration allows them. The check runs at registration, and again in
//! the dispatcher's DNS resolver ([`PolicyResolver`]) whenever it opens a connection, so the
//! address connected to is always one that was checked: a DNS answer that changes after
//! registration cannot redirect a delivery. IP-literal URLs never reach a resolver and are
//! checked by [`check_url`] before each attempt.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What is allowed besides public addresses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Allow 127.0.0.0/8 and ::1 (tests, a receiver on the same machine).
    pub allow_loopback: bool,
    /// Allow every address (a private network you trust).
    pub allow_private: bool,
}

/// Checks `url`'s form, and its address when the host is an IP literal.
pub fn check_url(url: &str, policy: TargetPolicy) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials".into());
    }
    let ip = match parsed.host().ok_or("must have a host")? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    };
    if let Some(ip) = ip.filter(|ip| !allowed(*ip, policy)) {
        return Err(format!("{ip} is a private, loopback or link-local address"));
    }
    Ok(parsed)
}

/// Checks `url` and returns the socket addresses it may be reached at (at registration).
pub async fn resolve(url: &str, policy: TargetPolicy) -> Result<(reqwest::Url, Vec<SocketAddr>), String> {
    let parsed = check_url(url, policy)?;
    let host = parsed.host_str().ok_or("must have a host")?.trim_matches(['[', ']']).to_owned();
    let port = parsed.port_or_known_default().ok_or("must have a port")?;
    let addrs = lookup(&host, port, policy).await?;
    Ok((parsed, addrs))
}

/// Every address of `host`, provided all of them are allowed.
async fn lookup(host: &str, port: u16, policy: TargetPolicy) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> =
        tokio::net::lookup_host((host, port)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no addresses"));
    }
    if let Some(bad) = addrs.iter().find(|a| !allowed(a.ip(), policy)) {
        return Err(format!("{host} resolves to {}, a private, loopback or link-local address", bad.ip()));
    }
    Ok(addrs)
}

/// The dispatcher's DNS resolver: one shared HTTP client (and its connection pool) for every
/// delivery, with the policy applied to each name it connects to.
#[derive(Debug, Clone, Copy)]
pub struct PolicyResolver(pub TargetPolicy);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0;
        Box::pin(async move {
            // The port is the URL's: reqwest replaces this one.
            let addrs = lookup(name.as_str(), 0, policy).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

fn allowed(ip: IpAddr, policy: TargetPolicy) -> bool {
    if policy.allow_private {
        return true;
    }
    if ip.is_loopback() {
        return policy.allow_loopback;
    }
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]) // carrier-grade NAT
                || v4.octets()[0] == 0)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| !allowed(IpAddr::V4(v4), policy)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_internal_addresses() {
        let strict = TargetPolicy::default();
        for url in [
            "http://127.0.0.1/x",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest",
            "http://[::1]/",
            "http://192.168.1.1/",
            "ftp://example.com/",
        ] {
            assert!(resolve(url, strict).await.is_err(), "{url}");
        }
        assert!(resolve("http://127.0.0.1:9/x", TargetPolicy { allow_loopback: true, allow_private: false })
            .await
            .is_ok());
        assert!(resolve("http://10.0.0.1/", TargetPolicy { allow_loopback: true, allow_private: false })
            .await
            .is_err());
        assert!(resolve("http://user:pw@127.0.0.1/", TargetPolicy { allow_loopback: true, allow_private: false })
            .await
            .is_err());
        assert!(check_url("http://[::1]:8080/", strict).is_err(), "IP literals are checked without DNS");
        assert!(check_url("http://localhost:8080/", strict).is_ok(), "names are checked by the resolver");
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_internal_addresses() {
        let strict = PolicyResolver(TargetPolicy::default());
        let refused = strict.resolve("localhost".parse().unwrap()).await;
        assert!(refused.is_err_and(|e| e.to_string().contains("loopback")));
        let loopback = PolicyResolver(TargetPolicy { allow_loopback: true, allow_private: false });
        let addrs: Vec<_> = loopback.resolve("localhost".parse().unwrap()).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }
}
