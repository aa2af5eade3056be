//! Go's `url.JoinPath(base, elem...)` followed by `String()` (Go `net/url`,
//! RFC 3986 §3.3), which Fulcio uses to build the GitHub, GitLab, Codefresh
//! and Chainguard URIs. The elements are joined to the base's escaped path as
//! already-escaped text, cleaned like `path.Join` (`.`/`..`, repeated `/`),
//! then the path is kept as written when every byte is a valid path byte, or
//! else decoded and re-escaped: `#` → `%23`, space → `%20`, UTF-8 → `%XX`.

use super::IdentityError;

/// `base` joined with `elements` as Go's `url.JoinPath(base, elements...)`.
///
/// Go silently returns the base unchanged when the joined path holds a `%`
/// that does not start a valid escape (its `setPath` error is ignored); that
/// would collapse many identities into one URI, so it is refused here.
pub(super) fn join_path(base: &str, elements: &[&str]) -> Result<String, IdentityError> {
    let refuse = |reason: &str| IdentityError::UrlJoin {
        base: base.to_owned(),
        reason: reason.to_owned(),
    };
    let base_url = BaseUrl::split(base).ok_or_else(|| refuse("not an absolute URL"))?;
    let base_path =
        escaped_path(base_url.path).ok_or_else(|| refuse("invalid %-escape in the base path"))?;
    let relative = !base_path.starts_with('/');
    let first = if relative {
        format!("/{base_path}")
    } else {
        base_path
    };
    let last_ends_with_slash = elements.last().copied().unwrap_or(&first).ends_with('/');
    let mut path = clean_rooted(std::iter::once(first.as_str()).chain(elements.iter().copied()));
    if relative {
        path.remove(0);
    }
    if last_ends_with_slash && !path.ends_with('/') {
        path.push('/');
    }
    let path = escaped_path(&path).ok_or_else(|| refuse("an element holds an invalid %-escape"))?;
    // Go's String() puts a `/` between a host and a path that lacks one.
    let slash = if !path.is_empty() && !path.starts_with('/') {
        "/"
    } else {
        ""
    };
    // Go's Parse lower-cases the scheme.
    let scheme_len = base_url.prefix.find(':').unwrap_or(0);
    Ok(format!(
        "{}{}{slash}{path}{}",
        base_url.prefix[..scheme_len].to_ascii_lowercase(),
        &base_url.prefix[scheme_len..],
        base_url.suffix
    ))
}

/// GitLab's `ci_config_ref_uri` (`host/path`, no scheme) as Fulcio renders
/// it: Go's `url.Parse` reads it as a path (with `?query` and `#fragment`),
/// the scheme becomes https, and `String()` prints `https://` + the escaped
/// path, the raw query and the escaped fragment.
pub(super) fn https_from_schemeless(uri: &str) -> Result<String, IdentityError> {
    let refuse = |reason: &str| IdentityError::UrlJoin {
        base: uri.to_owned(),
        reason: reason.to_owned(),
    };
    if uri.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err(refuse("control character in URL"));
    }
    let (rest, fragment) = match uri.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (uri, None),
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let first_segment = path.split('/').next().unwrap_or_default();
    if first_segment.contains(':') {
        return Err(refuse("first path segment in URL cannot contain colon"));
    }
    let mut out = String::from("https://");
    out.push_str(&escaped_path(path).ok_or_else(|| refuse("invalid %-escape in the path"))?);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    let fragment = match fragment {
        Some(f) => Some(unescape(f).ok_or_else(|| refuse("invalid %-escape in the fragment"))?),
        None => None,
    };
    if let (Some(raw), Some(decoded)) = (uri.split_once('#').map(|(_, f)| f), fragment) {
        // An empty fragment is dropped, as Go's String() does.
        if !decoded.is_empty() {
            out.push('#');
            if raw.bytes().all(valid_encoded_fragment_byte) {
                out.push_str(raw);
            } else {
                out.push_str(&escape_with(&decoded, fragment_safe_byte));
            }
        }
    }
    Ok(out)
}

/// `scheme://authority`, the raw path, and `?query#fragment` of a base URL.
struct BaseUrl<'a> {
    prefix: &'a str,
    path: &'a str,
    suffix: &'a str,
}

impl<'a> BaseUrl<'a> {
    fn split(url: &'a str) -> Option<Self> {
        let scheme_end = url.find("://")?;
        let scheme = &url[..scheme_end];
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return None;
        }
        let after = scheme_end + 3;
        let path_start = url[after..]
            .find(['/', '?', '#'])
            .map_or(url.len(), |i| after + i);
        let suffix_start = url[path_start..]
            .find(['?', '#'])
            .map_or(url.len(), |i| path_start + i);
        let authority = &url[after..path_start];
        if authority.is_empty() || authority.bytes().any(|b| b <= b' ' || b >= 0x7f) {
            return None;
        }
        Some(Self {
            prefix: &url[..path_start],
            path: &url[path_start..suffix_start],
            suffix: &url[suffix_start..],
        })
    }
}

/// `path.Join` of a rooted first element and the rest: empty elements are
/// skipped, repeated `/` collapse, `.` goes, `..` removes its predecessor
/// (never climbing above the root); no trailing `/`.
fn clean_rooted<'a>(elements: impl Iterator<Item = &'a str>) -> String {
    let mut stack: Vec<&str> = Vec::new();
    for segment in elements.flat_map(|e| e.split('/')) {
        match segment {
            "" | "." => {}
            ".." => {
                stack.pop();
            }
            s => stack.push(s),
        }
    }
    format!("/{}", stack.join("/"))
}

/// What Go's `EscapedPath()` returns after `setPath(p)`: `p` itself when all
/// its bytes may appear in an escaped path, else `p` decoded and re-escaped.
/// `None` when `p` has a `%` without two hex digits.
fn escaped_path(p: &str) -> Option<String> {
    let decoded = unescape(p)?;
    if p.bytes().all(valid_encoded_byte) {
        return Some(p.to_owned());
    }
    Some(escape(&decoded))
}

/// Go's `validEncoded(s, encodePath)` per byte: unreserved, sub-delims,
/// `:` `@` `/`, brackets, and `%` (escapes were checked by `unescape`).
fn valid_encoded_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
                | b'['
                | b']'
                | b'%'
                | b'/'
        )
}

/// Go's `validEncoded(s, encodeFragment)` per byte.
fn valid_encoded_fragment_byte(b: u8) -> bool {
    valid_encoded_byte(b) || b == b'?'
}

/// Go's `shouldEscape(b, encodeFragment)` is false for exactly these bytes.
fn fragment_safe_byte(b: u8) -> bool {
    path_safe_byte(b) || matches!(b, b'?' | b'!' | b'(' | b')' | b'*')
}

/// Go's `shouldEscape(b, encodePath)` is false for exactly these bytes.
fn path_safe_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_'
                | b'.'
                | b'~'
                | b'$'
                | b'&'
                | b'+'
                | b','
                | b'/'
                | b':'
                | b';'
                | b'='
                | b'@'
        )
}

/// Percent-decodes `s`; `None` on a `%` not followed by two hex digits.
fn unescape(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hi = (hex[0] as char).to_digit(16)?;
            let lo = (hex[1] as char).to_digit(16)?;
            // Two hex digits make at most 0xff.
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// Go's `escape(s, encodePath)`: `%XX` with upper-case hex.
fn escape(bytes: &[u8]) -> String {
    escape_with(bytes, path_safe_byte)
}

/// Go's `escape` for the mode whose safe bytes `safe` names.
fn escape_with(bytes: &[u8], safe: fn(u8) -> bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if safe(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(base: &str, elements: &[&str]) -> String {
        join_path(base, elements).unwrap()
    }

    // Expected values are what Go 1.22's url.JoinPath(...) returns.
    #[test]
    fn plain_joins() {
        assert_eq!(
            join(
                "https://github.com/",
                &["o/r", "actions/runs", "1", "attempts", "2"]
            ),
            "https://github.com/o/r/actions/runs/1/attempts/2"
        );
        assert_eq!(
            join("https://gitlab.com", &["g/p", "/-/jobs/", "9"]),
            "https://gitlab.com/g/p/-/jobs/9"
        );
        assert_eq!(
            join("https://g.codefresh.io", &["build", "abc"]),
            "https://g.codefresh.io/build/abc"
        );
        assert_eq!(
            join("https://issuer.example/base", &["sub"]),
            "https://issuer.example/base/sub"
        );
        // a trailing slash on the last element survives
        assert_eq!(join("https://h/a", &["b/"]), "https://h/a/b/");
        assert_eq!(join("HTTPS://h", &["x"]), "https://h/x");
        // query and fragment of the base stay after the path
        assert_eq!(join("https://h/a?x=1", &["b"]), "https://h/a/b?x=1");
    }

    #[test]
    fn escapes_like_go() {
        let gh = "https://github.com/";
        let wf = "o/r/.github/workflows/ci.yml@refs/heads/";
        assert_eq!(
            join(gh, &[&format!("{wf}fix#12")]),
            "https://github.com/o/r/.github/workflows/ci.yml@refs/heads/fix%2312"
        );
        assert_eq!(
            join(gh, &[&format!("{wf}my branch")]),
            "https://github.com/o/r/.github/workflows/ci.yml@refs/heads/my%20branch"
        );
        assert_eq!(
            join(gh, &[&format!("{wf}café")]),
            "https://github.com/o/r/.github/workflows/ci.yml@refs/heads/caf%C3%A9"
        );
        assert_eq!(
            join(gh, &["o/r@refs/heads/a?b"]),
            "https://github.com/o/r@refs/heads/a%3Fb"
        );
        // sub-delims stay when the whole path is valid as written…
        assert_eq!(
            join(gh, &["o/r@refs/heads/(x)!*'[y]"]),
            "https://github.com/o/r@refs/heads/(x)!*'[y]"
        );
        // …but are re-escaped with everything else when it is not
        assert_eq!(
            join(gh, &["o/r@refs/heads/(x)#"]),
            "https://github.com/o/r@refs/heads/%28x%29%23"
        );
        // valid escapes are text already: kept as written, or decoded then re-escaped
        assert_eq!(
            join(gh, &["o/r@refs/heads/100%25"]),
            "https://github.com/o/r@refs/heads/100%25"
        );
        assert_eq!(join(gh, &["a%41b"]), "https://github.com/a%41b");
        assert_eq!(join(gh, &["a%41b c"]), "https://github.com/aAb%20c");
        assert!(join(gh, &["a b"]).is_ascii());
    }

    #[test]
    fn cleans_dot_segments_and_slashes() {
        assert_eq!(join("https://h/", &["a/./b", "../c"]), "https://h/a/c");
        assert_eq!(join("https://h/", &["../../x"]), "https://h/x");
        assert_eq!(join("https://h//a//", &["//b"]), "https://h/a/b");
        assert_eq!(join("https://h", &[]), "https://h/");
    }

    #[test]
    fn gitlab_config_ref_uris_as_go_prints_them() {
        let https = |s| https_from_schemeless(s).unwrap();
        assert_eq!(
            https("gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main"),
            "https://gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main"
        );
        assert_eq!(
            https("gitlab.com/g/p//ci.yml@refs/heads/my branch"),
            "https://gitlab.com/g/p//ci.yml@refs/heads/my%20branch"
        );
        assert_eq!(
            https("gitlab.com/g/p//ci.yml@refs/heads/café"),
            "https://gitlab.com/g/p//ci.yml@refs/heads/caf%C3%A9"
        );
        // `#` starts a fragment, printed back (escaped as a fragment)
        assert_eq!(
            https("gitlab.com/g/p//ci.yml@refs/heads/fix#12"),
            "https://gitlab.com/g/p//ci.yml@refs/heads/fix#12"
        );
        assert_eq!(https("gitlab.com/p#a b"), "https://gitlab.com/p#a%20b");
        assert_eq!(https("gitlab.com/p#"), "https://gitlab.com/p");
        assert_eq!(https("gitlab.com/p?x=1"), "https://gitlab.com/p?x=1");
        for bad in [
            "gitlab.com/p%",
            "gitlab.com/p#%zz",
            "gitlab.com:1/p",
            "gitlab.com/\n",
        ] {
            assert!(https_from_schemeless(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_what_go_would_silently_drop() {
        for bad in ["100%", "a%zz", "a%4"] {
            assert!(
                matches!(
                    join_path("https://github.com/", &[bad]),
                    Err(IdentityError::UrlJoin { .. })
                ),
                "{bad}"
            );
        }
        for base in ["github.com", "://x", "https://", "1x://h", "https://h h/"] {
            assert!(join_path(base, &["a"]).is_err(), "{base}");
        }
    }
}
