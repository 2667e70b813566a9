//! Where webhooks may be sent. URLs must be http(s), and hosts that resolve to an address of
//! one of the special-purpose ranges in [`crate::ranges`] (private, loopback, link-local,
//! NAT64 and 6to4 forms of those, and every other range that is not globally reachable) are
//! refused (server-side request forgery), unless configuration allows them. The check runs at registration, and again in
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

/// Checks `url`'s form, and its address when the host is an IP literal: what every delivery
/// attempt checks of a stored URL (see [`check_registered_url`] for what registration adds).
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
    if let Some(reason) = ip.and_then(|ip| refusal(ip, policy)) {
        return Err(reason);
    }
    Ok(parsed)
}

/// [`check_url`], and a text that is the URL exactly: what registration (API and CLI) checks.
/// The URL parser drops leading and trailing spaces and control characters and every tab, CR
/// and LF, so a URL holding them would be stored as one text and delivered to another; they are
/// refused, as is every other control or white-space character. Port 0 can receive nothing.
///
/// Only registration checks this: endpoints registered before it was a rule may hold such a
/// text, and their deliveries go on to the URL the parser reads from it, as they always did.
pub fn check_registered_url(url: &str, policy: TargetPolicy) -> Result<reqwest::Url, String> {
    if let Some(c) = url.chars().find(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("must not contain white space or control characters (U+{:04X})", u32::from(c)));
    }
    let parsed = check_url(url, policy)?;
    if parsed.port() == Some(0) {
        return Err("must not name port 0".into());
    }
    Ok(parsed)
}

/// Checks the egress proxy's URL (`webhook_proxy`): http(s), and when its host is an IP
/// literal, an address the policy allows (a host name is checked by [`PolicyResolver`] each
/// time a connection to the proxy is opened). Through a proxy, the proxy resolves the targets'
/// names: keeping it from reaching internal addresses is then the operator's responsibility.
pub fn check_proxy(url: &str, policy: TargetPolicy) -> Result<reqwest::Url, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("must be an http or https URL".into());
    }
    let ip = match parsed.host().ok_or("must have a host")? {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    };
    match ip.and_then(|ip| refusal(ip, policy)) {
        Some(reason) => Err(reason),
        None => Ok(parsed),
    }
}

/// Checks `url` as registration does ([`check_registered_url`]) and returns the socket
/// addresses it may be reached at.
pub async fn resolve(url: &str, policy: TargetPolicy) -> Result<(reqwest::Url, Vec<SocketAddr>), String> {
    let parsed = check_registered_url(url, policy)?;
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
    if let Some(reason) = addrs.iter().find_map(|a| refusal(a.ip(), policy)) {
        return Err(format!("{host} resolves to a refused address: {reason}"));
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

/// Why `ip` may not receive webhooks under `policy`, or `None` when it may.
pub fn refusal(ip: IpAddr, policy: TargetPolicy) -> Option<String> {
    if policy.allow_private {
        return None;
    }
    crate::ranges::refusal(ip, policy.allow_loopback)
        .map(|r| format!("{ip} is a {} address ({}), which may not receive webhooks", r.name, r.rfc))
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

    #[test]
    fn the_text_must_be_the_url_exactly() {
        let strict = TargetPolicy::default();
        for url in [
            "http://x.example/a\r\nX-Injected: 1",
            "http://x.example/a\tb",
            " http://x.example/",
            "http://x.example/\u{0}",
            "http://x.example/a b",
            "http://x.example/\u{a0}",
            "http://x.example/\u{85}",
            "http://x.example:0/",
            "http://x.example:00/",
            "https://[2001:db8::1]:0/",
        ] {
            assert!(check_registered_url(url, strict).is_err(), "{url:?}");
        }
        assert!(check_registered_url("https://x.example:1/a?b=c%20d#e", strict).is_ok());
    }

    /// An endpoint registered before the text had to be the URL exactly keeps being delivered
    /// to: the check before each attempt is the address policy alone.
    #[test]
    fn a_stored_url_with_surrounding_white_space_is_still_delivered_to() {
        let strict = TargetPolicy::default();
        for url in [" http://x.example/hook", "http://x.example/hook\n", "\thttp://x.example/hook \r\n"] {
            assert!(check_registered_url(url, strict).is_err(), "registration refuses {url:?}");
            let parsed = check_url(url, strict).unwrap_or_else(|e| panic!("delivery refuses {url:?}: {e}"));
            assert_eq!(parsed.as_str(), "http://x.example/hook");
        }
        // The address policy still holds at delivery, whatever the text around the URL.
        assert!(check_url(" http://127.0.0.1/hook\n", strict).is_err());
    }

    #[test]
    fn a_proxy_must_pass_the_same_policy() {
        let strict = TargetPolicy::default();
        let loopback = TargetPolicy { allow_loopback: true, allow_private: false };
        assert!(check_proxy("http://127.0.0.1:3128", strict).is_err());
        assert!(check_proxy("http://[::ffff:10.0.0.1]:3128", loopback).is_err());
        assert!(check_proxy("http://u:p@127.0.0.1:3128", loopback).is_ok());
        assert!(check_proxy("socks5://proxy.example:1080", strict).is_err());
        assert!(check_proxy("http://proxy.example:3128", strict).is_ok(), "names are checked by the resolver");
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
