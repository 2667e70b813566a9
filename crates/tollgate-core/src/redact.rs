//! URLs as they may appear in logs and messages: a URL that can carry credentials (database,
//! Redis, NATS, webhook, proxy) is shown with its password masked, `user:***@host`, and with
//! the values of secret-looking query parameters masked too. NATS also accepts a bare token
//! as the user part (`nats://TOKEN@host`), so a user without a password is masked there.
//! Comma-separated lists of URLs (NATS server lists) are masked one by one. This is the one
//! place that does it: everything that logs such a URL goes through [`mask_url`].

use std::fmt;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Query parameters whose values are secrets (compared without case).
const SECRET_PARAMS: [&str; 8] = ["password", "pass", "passwd", "pwd", "secret", "token", "auth_token", "sslpassword"];

/// `url` with its credentials masked; text that is not a URL comes back unchanged.
pub fn mask_url(url: &str) -> String {
    url.split(',').map(mask_one).collect::<Vec<_>>().join(",")
}

/// Displays a URL masked, for log fields: `tracing::warn!(url = %MaskedUrl(&url), ...)`.
#[derive(Clone, Copy)]
pub struct MaskedUrl<'a>(pub &'a str);

impl fmt::Display for MaskedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_url(self.0))
    }
}

impl fmt::Debug for MaskedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", mask_url(self.0))
    }
}

fn mask_one(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let head = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    // The last `@` before the query ends the user information: a password may itself hold
    // `@` or an unescaped `/`, and a secret cut in two would still leak half of it.
    let after = match head.rfind('@').filter(|at| is_userinfo(&head[..*at])) {
        Some(at) => {
            let userinfo = &head[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(MASK);
                }
                // A NATS token, or a user name alone elsewhere (kept: it is not a secret).
                None if scheme.starts_with("nats") || scheme.starts_with("tls") => out.push_str(MASK),
                None => out.push_str(userinfo),
            }
            &rest[at..]
        }
        None => rest,
    };
    out.push_str(&mask_query(after));
    out
}

/// Whether the text before an `@` is user information rather than a host and a path that
/// happens to contain `@` (`example.com:8443/users/@me`).
fn is_userinfo(before_at: &str) -> bool {
    match before_at.find('/') {
        None => true,
        // A `/` before the `@`: a path, unless it sits inside a password (`user:pa/ss@`).
        Some(slash) => before_at[..slash]
            .split_once(':')
            .is_some_and(|(_, port)| !port.is_empty() && !port.bytes().all(|b| b.is_ascii_digit())),
    }
}

fn mask_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else { return tail.to_owned() };
    let (query, fragment) = match query.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s)) => format!("{k}={MASK}"),
            _ => pair.to_owned(),
        })
        .collect();
    let mut out = format!("{path}?{}", pairs.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_of_every_kind_of_url() {
        for (url, masked) in [
            ("postgres://tollgate:pg-s3cret@db:5432/tollgate", "postgres://tollgate:***@db:5432/tollgate"),
            ("postgresql://u:p%40ss@db/x?sslmode=require", "postgresql://u:***@db/x?sslmode=require"),
            ("postgres://u@db/x?password=pw&sslmode=require", "postgres://u@db/x?password=***&sslmode=require"),
            ("redis://:r3dis@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
            ("rediss://default:pw@cache:6380", "rediss://default:***@cache:6380"),
            ("nats://app:n@ts@127.0.0.1:4222", "nats://app:***@127.0.0.1:4222"),
            ("nats://s3cr3tt0ken@127.0.0.1:4222", "nats://***@127.0.0.1:4222"),
            ("nats://a:x@h1:4222,nats://a:y@h2:4222", "nats://a:***@h1:4222,nats://a:***@h2:4222"),
            ("https://hook:pw@example.com/h?token=abc#frag", "https://hook:***@example.com/h?token=***#frag"),
            ("http://user@example.com/x", "http://user@example.com/x"),
            ("redis://u:pa/ss@h:6379", "redis://u:***@h:6379"),
            ("https://example.com:8443/users/@me", "https://example.com:8443/users/@me"),
            ("https://example.com/users/@me?x=1", "https://example.com/users/@me?x=1"),
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            ("not a url", "not a url"),
        ] {
            assert_eq!(mask_url(url), masked, "{url}");
        }
    }

    #[test]
    fn the_display_wrapper_masks_too() {
        assert_eq!(MaskedUrl("redis://:pw@h").to_string(), "redis://:***@h");
        assert_eq!(format!("{:?}", MaskedUrl("redis://:pw@h")), "\"redis://:***@h\"");
    }
}
