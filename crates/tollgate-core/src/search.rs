//! Full-text search: what is indexed of a resource (its name, attribute values and the string
//! values of its data), and `q=` parsed into words and quoted phrases, rendered for SQLite FTS5
//! and for PostgreSQL's `tsquery`. Words are letters and digits only, so nothing a client types
//! can become an operator of either query language; common English stop words are dropped from
//! queries, so both backends (PostgreSQL's `english` configuration drops them from documents)
//! answer alike.

use serde_json::Value;

use crate::resource::NewResource;

/// Longest `q` accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most words (and phrase words) in one query.
pub const MAX_WORDS: usize = 32;

/// Words never searched for (PostgreSQL's `english` configuration does not index them).
const STOP_WORDS: [&str; 33] = [
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of",
    "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with",
];

/// A parsed `q`: every word and every phrase must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Single words, lower-case.
    pub words: Vec<String>,
    /// Quoted phrases: words that must appear together, in order.
    pub phrases: Vec<Vec<String>>,
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
}

impl SearchQuery {
    /// Parses `q`: words, and `"quoted phrases"`.
    pub fn parse(q: &str) -> Result<Self, String> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(format!("at most {MAX_QUERY_CHARS} characters"));
        }
        let mut query = SearchQuery { words: Vec::new(), phrases: Vec::new() };
        for (i, part) in q.split('"').enumerate() {
            if i % 2 == 1 {
                let phrase: Vec<String> = words(part).collect();
                match phrase.len() {
                    0 => {}
                    1 => query.words.extend(phrase),
                    _ => query.phrases.push(phrase),
                }
            } else {
                query.words.extend(words(part));
            }
        }
        let count = query.words.len() + query.phrases.iter().map(Vec::len).sum::<usize>();
        if count == 0 {
            return Err("must hold at least one word (common words like `the` are not searched)".into());
        }
        if count > MAX_WORDS {
            return Err(format!("at most {MAX_WORDS} words"));
        }
        Ok(query)
    }

    /// The FTS5 `MATCH` expression: each word and phrase quoted, all required.
    pub fn fts5(&self) -> String {
        let mut parts: Vec<String> = self.words.iter().map(|w| format!("\"{w}\"")).collect();
        parts.extend(self.phrases.iter().map(|p| format!("\"{}\"", p.join(" "))));
        parts.join(" ")
    }

    /// The `to_tsquery` text: words joined by `&`, phrase words by `<->`.
    pub fn tsquery(&self) -> String {
        let mut parts: Vec<String> = self.words.clone();
        parts.extend(self.phrases.iter().map(|p| format!("({})", p.join(" <-> "))));
        parts.join(" & ")
    }
}

/// What is indexed of a resource: its name, its attribute values and every string in its data.
pub fn document(content: &NewResource) -> String {
    let mut out = content.name.clone();
    for v in content.attributes.values() {
        out.push(' ');
        out.push_str(v);
    }
    strings(&content.data, &mut out);
    out
}

fn strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push(' ');
            out.push_str(s);
        }
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(o) => o.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_words_and_phrases_and_never_operators() {
        let q = SearchQuery::parse(r#"Build "rack server" NEAR(x) OR -y* zürich"#).unwrap();
        assert_eq!(q.words, ["build", "near", "x", "y", "zürich"]);
        assert_eq!(q.phrases, [vec!["rack".to_owned(), "server".to_owned()]]);
        assert_eq!(q.fts5(), r#""build" "near" "x" "y" "zürich" "rack server""#);
        assert_eq!(q.tsquery(), "build & near & x & y & zürich & (rack <-> server)");
        assert!(SearchQuery::parse("the of and").is_err());
        assert!(SearchQuery::parse("\"\"").is_err());
        assert!(SearchQuery::parse(&"a".repeat(501)).is_err());
    }

    #[test]
    fn the_document_holds_name_attributes_and_data_strings() {
        let content = NewResource {
            name: "Build server".into(),
            kind: "machine".into(),
            status: crate::ResourceStatus::Active,
            attributes: [("region".to_owned(), "eu-west-1".to_owned())].into_iter().collect(),
            data: serde_json::json!({"os": "Debian", "cpus": 8, "tags": ["ci", {"note": "fast"}]}).into(),
        };
        assert_eq!(document(&content), "Build server eu-west-1 Debian ci fast");
    }
}
