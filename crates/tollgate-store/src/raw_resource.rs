//! A resource row as stored, read without a `String` per column. A list page reads a hundred
//! rows; each column allocated and checked for UTF-8 on its own was about a third of the cost
//! of reading one. [`RawResource`] keeps the seven text columns side by side in one buffer,
//! allocated once at its exact size and checked once, and answers from it (see
//! [`RawResource::view`]). [`ResourceFields`] is the same row with a field per column: the
//! export format's resource record, and how imports and tests build or change a row.
//! [`ResourceRecord`] is the row's columns borrowed from the statement, as both are read, and as
//! the export writes them without keeping them.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tollgate_core::time_fmt::{from_unix_micros, WireTime};
use tollgate_core::view::{CheckedJson, StoredResourceView};
use tollgate_core::{Attributes, Data, NewResource, ProjectId, Resource, ResourceId, ResourceStatus};

use crate::conn::{FromRow, Row};
use crate::StoreError;

/// The text columns, in [`crate::rows::resource_columns`]'s order.
const TEXTS: usize = 7;

/// A resource row as stored: the columns of [`crate::rows::resource_columns`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ResourceFields", into = "ResourceFields")]
pub struct RawResource {
    /// `id`, `project_id`, `name`, `type`, `status`, `attributes` and `data`, one after another.
    text: String,
    /// Where each text column but the last ends in `text`.
    ends: [u32; TEXTS - 1],
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Microseconds since the epoch.
    pub updated_at: i64,
    /// Version.
    pub version: i64,
}

/// A resource row with a field per column (also the export format's resource record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceFields {
    /// `res_...`.
    pub id: String,
    /// `prj_...`.
    pub project_id: String,
    /// Name.
    pub name: String,
    /// Type.
    #[serde(rename = "resource_type")]
    pub kind: String,
    /// `active` or `archived`.
    pub status: String,
    /// JSON object text.
    pub attributes: String,
    /// JSON text.
    pub data: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Microseconds since the epoch.
    pub updated_at: i64,
    /// Version.
    pub version: i64,
}

/// A resource row's columns, borrowed from wherever they were read. The text columns are
/// bytes, not yet checked to be UTF-8: whoever keeps or writes them checks them once
/// ([`RawResource`] its buffer, the export each line).
#[derive(Debug, Clone, Copy)]
pub struct ResourceRecord<'a> {
    /// `res_...`.
    pub id: &'a [u8],
    /// `prj_...`.
    pub project_id: &'a [u8],
    /// Name.
    pub name: &'a [u8],
    /// Type.
    pub kind: &'a [u8],
    /// `active` or `archived`.
    pub status: &'a [u8],
    /// JSON object text.
    pub attributes: &'a [u8],
    /// JSON text.
    pub data: &'a [u8],
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// Microseconds since the epoch.
    pub updated_at: i64,
    /// Version.
    pub version: i64,
}

impl<'a> ResourceRecord<'a> {
    /// A resource row's columns, borrowed from the row.
    pub fn from_row(r: &'a (impl Row + ?Sized)) -> Result<Self, StoreError> {
        Ok(Self {
            id: r.text_bytes(0)?,
            project_id: r.text_bytes(1)?,
            name: r.text_bytes(2)?,
            kind: r.text_bytes(3)?,
            status: r.text_bytes(4)?,
            attributes: r.text_bytes(5)?,
            data: r.text_bytes(6)?,
            created_at: r.int(7)?,
            updated_at: r.int(8)?,
            version: r.int(9)?,
        })
    }

    /// The text columns, in order.
    fn texts(&self) -> [&'a [u8]; TEXTS] {
        [self.id, self.project_id, self.name, self.kind, self.status, self.attributes, self.data]
    }
}

impl RawResource {
    /// Packs `texts` (the text columns, in order). `None` if a column is not UTF-8 or the row
    /// is over 4 GiB.
    fn pack(texts: [&[u8]; TEXTS], [created_at, updated_at, version]: [i64; 3]) -> Option<Self> {
        let mut bytes = Vec::with_capacity(texts.iter().map(|t| t.len()).sum());
        let mut ends = [0u32; TEXTS - 1];
        for (i, t) in texts.iter().enumerate() {
            bytes.extend_from_slice(t);
            if let Some(end) = ends.get_mut(i) {
                *end = u32::try_from(bytes.len()).ok()?;
            }
        }
        let text = String::from_utf8(bytes).ok()?;
        Some(Self { text, ends, created_at, updated_at, version })
    }

    /// Text column `i`.
    fn column(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let end = self.ends.get(i).map_or(self.text.len(), |&e| e as usize);
        &self.text[start..end]
    }

    /// `res_...`.
    pub fn id(&self) -> &str {
        self.column(0)
    }
    /// `prj_...`.
    pub fn project_id(&self) -> &str {
        self.column(1)
    }
    /// Name.
    pub fn name(&self) -> &str {
        self.column(2)
    }
    /// Type.
    pub fn kind(&self) -> &str {
        self.column(3)
    }
    /// `active` or `archived`.
    pub fn status(&self) -> &str {
        self.column(4)
    }
    /// JSON object text.
    pub fn attributes(&self) -> &str {
        self.column(5)
    }
    /// JSON text.
    pub fn data(&self) -> &str {
        self.column(6)
    }

    /// The row as an export record, borrowed.
    pub fn record(&self) -> ResourceRecord<'_> {
        ResourceRecord {
            id: self.id().as_bytes(),
            project_id: self.project_id().as_bytes(),
            name: self.name().as_bytes(),
            kind: self.kind().as_bytes(),
            status: self.status().as_bytes(),
            attributes: self.attributes().as_bytes(),
            data: self.data().as_bytes(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }

    /// The row with a field per column.
    pub fn fields(&self) -> ResourceFields {
        ResourceFields {
            id: self.id().to_owned(),
            project_id: self.project_id().to_owned(),
            name: self.name().to_owned(),
            kind: self.kind().to_owned(),
            status: self.status().to_owned(),
            attributes: self.attributes().to_owned(),
            data: self.data().to_owned(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }

    /// The row with `change` made to its fields.
    pub fn with(&self, change: impl FnOnce(&mut ResourceFields)) -> Self {
        let mut fields = self.fields();
        change(&mut fields);
        fields.into()
    }

    /// Checks the row back into a [`Resource`].
    pub fn into_resource(self) -> Result<Resource, StoreError> {
        let corrupt = |what: &str| StoreError::corrupt("resources", self.id(), what);
        let attributes: Attributes = serde_json::from_str(self.attributes()).map_err(|_| corrupt("attributes"))?;
        Ok(Resource {
            id: ResourceId::parse(self.id()).ok_or_else(|| corrupt("id"))?,
            project_id: ProjectId::parse(self.project_id()).ok_or_else(|| corrupt("project"))?,
            content: NewResource {
                status: ResourceStatus::parse(self.status()).ok_or_else(|| corrupt("status"))?,
                attributes,
                data: Data::from_stored(self.data()).map_err(|_| corrupt("data"))?,
                name: self.name().to_owned(),
                kind: self.kind().to_owned(),
            },
            created_at: from_unix_micros(self.created_at),
            updated_at: from_unix_micros(self.updated_at),
            version: self.version,
        })
    }

    /// The row's wire form, written from its stored text (see [`StoredResourceView`]). The row
    /// is checked as [`RawResource::into_resource`] checks it (`attributes` as [`Attributes`], so
    /// an object of strings), except that `data` is only checked to be JSON, not rebuilt.
    pub fn view(&self) -> Result<StoredResourceView<'_>, StoreError> {
        let corrupt = |what: &str| StoreError::corrupt("resources", self.id(), what);
        serde_json::from_str::<FlatStrings>(self.attributes()).map_err(|_| corrupt("attributes"))?;
        let data = serde_json::from_str::<&RawValue>(self.data()).map_err(|_| corrupt("data"))?;
        if !ResourceId::is_valid(self.id()) {
            return Err(corrupt("id"));
        }
        if !ProjectId::is_valid(self.project_id()) {
            return Err(corrupt("project"));
        }
        let created_at = WireTime::from_micros(self.created_at);
        Ok(StoredResourceView {
            id: self.id(),
            name: self.name(),
            kind: self.kind(),
            status: ResourceStatus::parse(self.status()).ok_or_else(|| corrupt("status"))?.as_str(),
            attributes: CheckedJson::new(self.attributes()),
            data,
            created_at,
            // A resource never updated has both times equal: written once, copied.
            updated_at: if self.updated_at == self.created_at {
                created_at
            } else {
                WireTime::from_micros(self.updated_at)
            },
            version: self.version,
        })
    }
}

impl std::fmt::Debug for RawResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.fields().fmt(f)
    }
}

impl From<ResourceFields> for RawResource {
    fn from(f: ResourceFields) -> Self {
        let texts = [&f.id, &f.project_id, &f.name, &f.kind, &f.status, &f.attributes, &f.data].map(|s| s.as_bytes());
        // Strings are UTF-8, and a row from fields in memory is far below 4 GiB.
        Self::pack(texts, [f.created_at, f.updated_at, f.version]).expect("a row of strings packs")
    }
}

impl From<RawResource> for ResourceFields {
    fn from(r: RawResource) -> Self {
        r.fields()
    }
}

impl FromRow for RawResource {
    /// A row whose columns do not decode (a NULL, a text that is not UTF-8) is a corrupt row
    /// ([`StoreError::corrupt`]), not a failed statement: the reads-by-id coalescer looks for
    /// such a row among the ids of its query, and fails only the reads of it.
    fn from_row(r: &impl Row) -> Result<Self, StoreError> {
        let row = ResourceRecord::from_row(r).map_err(|e| match e {
            StoreError::Internal { .. } => {
                let id = r.text_bytes(0).map(String::from_utf8_lossy).unwrap_or_default();
                StoreError::corrupt("resources", &id, &format!("column ({})", crate::error::chain(&e)))
            }
            other => other,
        })?;
        Self::pack(row.texts(), [row.created_at, row.updated_at, row.version])
            .ok_or_else(|| StoreError::corrupt("resources", &String::from_utf8_lossy(row.id), "text (not UTF-8)"))
    }
}

/// Checks that a JSON text is an object of strings, as [`Attributes`] reads it, without
/// building it: a list page checks every row's attributes, and the map's allocations were a
/// fifth of a page's cost.
struct FlatStrings;

impl<'de> serde::Deserialize<'de> for FlatStrings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Map;
        impl<'de> serde::de::Visitor<'de> for Map {
            type Value = FlatStrings;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<FlatStrings, A::Error> {
                while map.next_entry::<AnyStr, AnyStr>()?.is_some() {}
                Ok(FlatStrings)
            }
        }
        d.deserialize_map(Map)
    }
}

/// A JSON string, borrowed or escaped, checked and dropped.
struct AnyStr;

impl<'de> serde::Deserialize<'de> for AnyStr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Str;
        impl serde::de::Visitor<'_> for Str {
            type Value = AnyStr;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<AnyStr, E> {
                Ok(AnyStr)
            }
        }
        d.deserialize_str(Str)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tollgate_core::time_fmt::now;
    use tollgate_core::view::ResourceView;

    use super::*;

    /// A resource row whose `created_at` does not decode, as a driver reports a NULL.
    struct NullCreatedAt;

    impl Row for NullCreatedAt {
        fn text(&self, i: usize) -> Result<String, StoreError> {
            Ok(String::from_utf8_lossy(self.text_bytes(i)?).into_owned())
        }
        fn text_bytes(&self, i: usize) -> Result<&[u8], StoreError> {
            Ok(if i == 0 { b"res_1" } else { b"{}" })
        }
        fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
            self.text(i).map(Some)
        }
        fn int(&self, i: usize) -> Result<i64, StoreError> {
            match i {
                7 => Err(StoreError::internal("running a PostgreSQL statement", "unexpected null")),
                _ => Ok(1),
            }
        }
        fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
            self.int(i).map(Some)
        }
        fn blob(&self, _: usize) -> Result<Vec<u8>, StoreError> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn a_column_that_does_not_decode_is_a_corrupt_row() {
        let e = RawResource::from_row(&NullCreatedAt).unwrap_err();
        assert!(e.is_corrupt_row(), "{e:?}");
        let chain = crate::error::chain(&e);
        assert!(chain.contains("corrupt resources row res_1") && chain.contains("unexpected null"), "{chain}");
    }

    /// A row as a write stores it (`changes`: serde_json's text of the checked
    /// values).
    fn stored(body: serde_json::Value) -> RawResource {
        let at = now();
        let r = Resource {
            id: ResourceId::generate(),
            project_id: ProjectId::generate(),
            content: NewResource::parse(&body).expect("a valid body"),
            created_at: at,
            updated_at: at + time::Duration::microseconds(1_234_567),
            version: 3,
        };
        RawResource::from(ResourceFields {
            id: r.id.to_string(),
            project_id: r.project_id.to_string(),
            name: r.content.name.clone(),
            kind: r.content.kind.clone(),
            status: r.content.status.as_str().to_owned(),
            attributes: serde_json::to_string(&r.content.attributes).unwrap(),
            data: serde_json::to_string(&r.content.data).unwrap(),
            created_at: tollgate_core::time_fmt::to_unix_micros(r.created_at),
            updated_at: tollgate_core::time_fmt::to_unix_micros(r.updated_at),
            version: r.version,
        })
    }

    /// Reads answer from the stored text; the bytes must be those of the resource rebuilt from
    /// the row and written again, as reads answered before.
    #[test]
    fn a_row_view_is_byte_for_byte_the_resource_view() {
        let bodies = [
            json!({"name": "n", "type": "widget"}),
            json!({"name": "Ünïcödé \"quoted\" \\ back", "type": "t", "status": "archived",
                   "attributes": {"z": "last", "a": "first", "esc": "tab\there\nline"},
                   "data": {"b": 1, "a": [1.5, -0.0, 1e300, 0.1, 5e-324, 1.7976931348623157e308, 123456.789e3],
                            "nested": {"x": null, "y": true, "s": "\u{1F600}\u{1}\u{7}\u{7f}\u{2028}"},
                            "big": 18446744073709551615u64, "neg": -9223372036854775808i64}}),
            json!({"name": "scalar data", "type": "t", "data": "just a string"}),
            json!({"name": "array data", "type": "t", "data": [{"k": {}}, [], "", 0]}),
        ];
        for body in bodies {
            let raw = stored(body);
            let from_row = serde_json::to_string(&raw.view().unwrap()).unwrap();
            let rebuilt = serde_json::to_string(&ResourceView::from(raw.clone().into_resource().unwrap())).unwrap();
            assert_eq!(from_row, rebuilt);
            let mut by_hand = Vec::new();
            raw.view().unwrap().write_json(&mut by_hand);
            assert_eq!(String::from_utf8(by_hand).unwrap(), rebuilt, "write_json is serde_json's bytes");
        }
    }

    #[test]
    fn a_corrupt_row_is_refused_as_reads_refuse_it() {
        let good = stored(json!({"name": "n", "type": "t"}));
        for bad in [
            good.with(|f| f.data = "{".into()),
            good.with(|f| f.attributes = "[]".into()),
            good.with(|f| f.attributes = r#"{"a":1}"#.into()),
            good.with(|f| f.attributes = r#"{"a":"x","b":null}"#.into()),
            good.with(|f| f.attributes = r#"{"a":["x"]}"#.into()),
            good.with(|f| f.attributes = r#""a""#.into()),
            good.with(|f| f.attributes = r#"{"a":"x"} trailing"#.into()),
            good.with(|f| f.attributes = r#"{"a":"\ud800"}"#.into()),
            good.with(|f| f.status = "gone".into()),
            good.with(|f| f.id = "res_nope".into()),
            good.with(|f| f.id = "res_01arz3ndektsv4rrffq69g5fav".into()),
            good.with(|f| f.project_id = "prj_nope".into()),
        ] {
            assert!(bad.view().is_err(), "{bad:?}");
            assert!(bad.into_resource().is_err());
        }
    }

    /// Each column reads back what was packed, whatever its length or content (empty, multi-byte),
    /// and the fields form round-trips.
    #[test]
    fn packed_columns_read_back() {
        let fields = ResourceFields {
            id: "res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R".into(),
            project_id: String::new(),
            name: "Ünïcödé 🚀".into(),
            kind: String::new(),
            status: "active".into(),
            attributes: "{}".into(),
            data: r#"{"a":"é"}"#.into(),
            created_at: 1,
            updated_at: 2,
            version: 3,
        };
        let raw = RawResource::from(fields.clone());
        let columns = [raw.id(), raw.project_id(), raw.name(), raw.kind(), raw.status(), raw.attributes(), raw.data()];
        let expected = [
            &fields.id,
            &fields.project_id,
            &fields.name,
            &fields.kind,
            &fields.status,
            &fields.attributes,
            &fields.data,
        ];
        assert_eq!(columns, expected.map(String::as_str));
        assert_eq!(raw.fields(), fields);
        assert_eq!(raw.with(|f| f.name = "other".into()).name(), "other");
        let json = serde_json::to_value(&raw).unwrap();
        assert_eq!(json, serde_json::to_value(&fields).unwrap(), "serialised as its fields");
        assert_eq!(serde_json::from_value::<RawResource>(json).unwrap(), raw);
    }

    /// A never-updated row's two timestamps are written once and copied; the view is still the
    /// resource's.
    #[test]
    fn equal_timestamps_are_written_alike() {
        let raw = stored(json!({"name": "n", "type": "t"}));
        let raw = raw.with(|f| f.updated_at = f.created_at);
        let view = serde_json::to_value(raw.view().unwrap()).unwrap();
        assert_eq!(view, serde_json::to_value(ResourceView::from(raw.into_resource().unwrap())).unwrap());
        assert_eq!(view["created_at"], view["updated_at"]);
    }

    /// A stored column that is not UTF-8 is a corrupt row, not a panic or a lossy answer.
    #[test]
    fn a_column_that_is_not_utf8_is_refused() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let read = |sql: &str| db.query_row(sql, [], |row| Ok(RawResource::from_row(row)));
        let good = "SELECT 'res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R', 'prj_01JD3Z9T6W4X8Y2K5M7N9P1Q3R', 'n', 't', 'active', '{}', '{}', 1, 1, 1";
        assert!(read(good).unwrap().unwrap().view().is_ok());
        let bad = good.replace("'n'", "CAST(X'FF' AS TEXT)");
        assert!(matches!(read(&bad).unwrap(), Err(StoreError::Internal { .. })), "not UTF-8");
        let not_text = good.replace("'n'", "42");
        assert!(read(&not_text).unwrap().is_err(), "an integer where text belongs");
    }
}
