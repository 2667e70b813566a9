//! The export format's resource record written by hand: the bytes serde_json writes for
//! [`ExportRecord::Resource`](crate::export::ExportRecord::Resource) (a test compares them over
//! rows with escapes and every kind of character), without serde's call per field and its
//! byte-by-byte escaping. An export is almost all resource records, and serialising them
//! through serde was about 40% of its instructions.

use tollgate_core::json_out::{push_int, push_text};

use crate::raw_resource::ResourceRecord;
use crate::StoreError;

impl ResourceRecord<'_> {
    /// Appends the record, without a line end: `{"type":"resource","id":...}` with the fields
    /// in [`crate::rows::RawResource`]'s order, as serde_json writes the tagged enum. Every field sits between
    /// ASCII quotes and escaping adds only ASCII, so the record is UTF-8 exactly when every
    /// field is.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        use Member::{Int, Text};
        let members: [(&[u8], Member<'_>); 10] = [
            (b"{\"type\":\"resource\",\"id\":", Text(self.id)),
            (b",\"project_id\":", Text(self.project_id)),
            (b",\"name\":", Text(self.name)),
            (b",\"resource_type\":", Text(self.kind)),
            (b",\"status\":", Text(self.status)),
            (b",\"attributes\":", Text(self.attributes)),
            (b",\"data\":", Text(self.data)),
            (b",\"created_at\":", Int(self.created_at)),
            (b",\"updated_at\":", Int(self.updated_at)),
            (b",\"version\":", Int(self.version)),
        ];
        for (name, value) in members {
            out.extend_from_slice(name);
            match value {
                Text(text) => push_text(out, text),
                Int(n) => push_int(out, n),
            }
        }
        out.push(b'}');
    }
}

/// A record member's value: one list holds the members' order and kinds.
enum Member<'a> {
    Text(&'a [u8]),
    Int(i64),
}

/// A page of resources as the export format's lines.
#[derive(Debug, Default)]
pub struct ResourceLines {
    /// One resource record per line, each ending in `\n`.
    pub text: Vec<u8>,
    /// How many lines.
    pub count: usize,
    /// The last resource's id: the next page starts after it.
    pub last_id: Option<String>,
}

impl ResourceLines {
    /// An empty page that writes into `text` (cleared): an export hands each page's buffer back
    /// for the next, so one allocation, grown once, serves every page.
    pub fn new(mut text: Vec<u8>) -> Self {
        text.clear();
        Self { text, count: 0, last_id: None }
    }

    /// Appends `r` as a line; a row whose text is not UTF-8 is refused (and nothing of it kept).
    pub fn push(&mut self, r: &ResourceRecord<'_>) -> Result<(), StoreError> {
        let start = self.text.len();
        r.write_json(&mut self.text);
        // Checked once per line (see `write_json`) rather than once per column: the check's
        // cost is mostly per call, and a line is one call where its columns were seven.
        let checked = std::str::from_utf8(&self.text[start..]).and_then(|_| std::str::from_utf8(r.id));
        let Ok(id) = checked else {
            self.text.truncate(start);
            return Err(StoreError::corrupt("resources", &String::from_utf8_lossy(r.id), "text (not UTF-8)"));
        };
        self.text.push(b'\n');
        self.count += 1;
        // One `String` for the page, its allocation reused from row to row.
        let last = self.last_id.get_or_insert_with(String::new);
        last.clear();
        last.push_str(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::{ResourceLines, ResourceRecord};
    use crate::export::ExportRecord;
    use crate::rows::{RawResource, ResourceFields};

    /// Strings of every kind: plain, escaped, control characters, multi-byte, JSON text.
    const STRINGS: [&str; 10] = [
        "",
        "res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R",
        "Build server",
        "quote \" backslash \\ slash /",
        "tab\tnewline\nreturn\rbell\u{7}nul\u{0}unit\u{1f}del\u{7f}",
        "é ü 漢字 🚀 \u{2028}",
        "{\"env\":\"bench\",\"tier\":\"gold\"}",
        "{\"cpus\":8,\"tags\":[\"a\",\"b\"],\"nested\":{\"q\":\"say \\\"hi\\\"\",\"u\":\"\\u00e9\"}}",
        "{}",
        "null",
    ];

    #[test]
    fn records_are_the_bytes_serde_json_writes() {
        let ints = [0, 1, -1, 1_796_559_239_307_486, i64::MAX, i64::MIN];
        let pick = |i: usize, k: usize| STRINGS[(i * 7 + k * 3 + i / 10) % STRINGS.len()].to_owned();
        for i in 0..200 {
            let row = RawResource::from(ResourceFields {
                id: pick(i, 0),
                project_id: pick(i, 1),
                name: pick(i, 2),
                kind: pick(i, 3),
                status: pick(i, 4),
                attributes: pick(i, 5),
                data: pick(i, 6),
                created_at: ints[i % ints.len()],
                updated_at: ints[(i / 2) % ints.len()],
                version: ints[(i / 3) % ints.len()],
            });
            let mut ours = Vec::new();
            row.record().write_json(&mut ours);
            let serde = serde_json::to_vec(&ExportRecord::Resource(row.clone())).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(serde).unwrap(), "{row:?}");
        }
    }

    #[test]
    fn a_row_whose_text_is_not_utf8_is_refused_whole() {
        let row = RawResource::from(ResourceFields {
            id: "res_1".into(),
            project_id: "prj_1".into(),
            name: "n".into(),
            kind: "t".into(),
            status: "active".into(),
            attributes: "{}".into(),
            data: "{}".into(),
            created_at: 1,
            updated_at: 2,
            version: 3,
        });
        let mut page = ResourceLines::new(Vec::new());
        page.push(&row.record()).unwrap();
        let good = page.text.clone();
        // A lone continuation byte, a truncated sequence (at the end of a field, before its
        // closing quote), and a lead byte followed by ASCII.
        for bad in [&b"\x80"[..], b"caf\xc3", b"\xe2(x"] {
            let broken = ResourceRecord { data: bad, ..row.record() };
            let e = page.push(&broken).unwrap_err();
            assert!(format!("{:?}", e.source()).contains("not UTF-8"), "{e:?}");
            assert_eq!((page.text.as_slice(), page.count), (good.as_slice(), 1), "nothing of it is kept");
            assert_eq!(page.last_id.as_deref(), Some("res_1"));
        }
    }
}
