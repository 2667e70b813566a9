//! `GET /v1/resource`: a page of resources, by page number or by cursor, with filters.

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use tollgate_core::query::project_fields;
use tollgate_core::view::StoredResourceView;
use tollgate_core::{ListQuery, PageMode, ResourceStatus};
use utoipa::openapi::schema::{AnyOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::view::{json_response, json_size, ResourceView};
use crate::error::{ApiError, ErrorEnvelope};
use crate::extract::{Auth, QueryPairs, Read};
use crate::state::AppState;

/// One page.
// It borrows the stored rows it is written from (StoredResourceView).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResourcePage<'a> {
    /// The resources, in the order asked (id order by default); with `fields=`, each holds only
    /// `id` and the fields asked for.
    #[schema(value_type = Vec<ResourceItem>)]
    pub items: Vec<Item<'a>>,
    /// The page number (offset paging), or `null` when paging by cursor.
    pub page: Option<u32>,
    /// Items per page.
    pub per_page: u32,
    /// Whether another page follows.
    pub has_next: bool,
    /// Pass as `cursor` (with the same `sort`) to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many resources match, with `include_total=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// A resource whole, or only the fields asked for (the common case costs no detour through a
/// JSON tree).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Item<'a> {
    /// Every field.
    Whole(StoredResourceView<'a>),
    /// A sparse fieldset.
    Sparse(serde_json::Value),
}

/// A page's item as the OpenAPI document describes it: the whole resource, or (with `fields=`)
/// `id` and the members asked for.
pub struct ResourceItem;

impl PartialSchema for ResourceItem {
    fn schema() -> RefOr<Schema> {
        let RefOr::T(Schema::Object(mut sparse)) = ResourceView::schema() else { return ResourceView::schema() };
        sparse.required = vec!["id".to_owned()];
        sparse.example = None;
        sparse.description = Some(
            "With `fields=`: `id` and the members asked for (`attributes.KEY` and `data.KEY` keep only those keys)"
                .to_owned(),
        );
        AnyOfBuilder::new().item(Ref::from_schema_name("ResourceView")).item(Schema::Object(sparse)).into()
    }
}

impl ToSchema for ResourceItem {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("ResourceView".to_owned(), ResourceView::schema()));
    }
}

/// The `attributes[KEY]=VALUE` filters as the document describes them: as `ListQuery::parse`
/// reads them, at most 20, each KEY an attribute key; a VALUE is any string.
pub struct AttributeFilters;

impl PartialSchema for AttributeFilters {
    fn schema() -> RefOr<Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let string = || ObjectBuilder::new().schema_type(SchemaType::Type(Type::String));
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .property_names(Some(string().pattern(Some(tollgate_core::schema::ATTRIBUTE_KEY))))
            .additional_properties(Some(string()))
            .max_properties(Some(tollgate_core::page::MAX_ATTRIBUTE_FILTERS))
            .into()
    }
}

impl ToSchema for AttributeFilters {}

/// `fields=`, which lists and reads by id take alike.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Read by the document only; the handlers parse the query themselves.
pub struct FieldsParam {
    /// Sparse fieldset: comma-separated members (`name`, `type`, `status`, `attributes`, `data`,
    /// `created_at`, `updated_at`, `version`), `attributes.KEY` or `data.KEY` (KEY 1-128 bytes);
    /// at most 32 different ones; the answer then holds `id` and those
    #[param(
        pattern = r"^(id|name|type|status|attributes|data|created_at|updated_at|version|attributes\.[A-Za-z0-9_.-]{1,40}|data\.[^,]{1,128})(,(id|name|type|status|attributes|data|created_at|updated_at|version|attributes\.[A-Za-z0-9_.-]{1,40}|data\.[^,]{1,128}))*$"
    )]
    fields: Option<String>,
}

/// Lists the caller's project's resources.
#[utoipa::path(get, path = "/v1/resource", tag = "resources",
    params(("page" = Option<u32>, Query, minimum = 1, maximum = 1000000), ("per_page" = Option<u32>, Query, minimum = 1, maximum = 100),
           ("cursor" = Option<String>, Query, pattern = "^[A-Za-z0-9_-]*$", description = "The previous page's `next_cursor`, or empty for the first page; not with `page`, and with `q` only when `sort` is given"),
           ("type" = Option<String>, Query, pattern = "^[a-z][a-z0-9_]{0,63}$"), ("status" = Option<ResourceStatus>, Query),
           ("sort" = Option<String>, Query,
            pattern = r"^-?(created_at|updated_at|name|type|status|attributes\.[A-Za-z0-9_.-]{1,40})(,-?(created_at|updated_at|name|type|status|attributes\.[A-Za-z0-9_.-]{1,40})){0,3}$",
            description = "Keys among created_at, updated_at, name, type, status, attributes.KEY; `-` for descending; comma-separated, at most 4, each at most once; the id breaks ties; resources without an attribute come after those with it, in either direction"),
           ("created_after" = Option<String>, Query, format = DateTime), ("created_before" = Option<String>, Query, format = DateTime),
           ("updated_after" = Option<String>, Query, format = DateTime), ("updated_before" = Option<String>, Query, format = DateTime),
           ("include_total" = Option<bool>, Query, description = "Adds `total`, the count of matching resources (a scan)"),
           ("attributes" = inline(Option<AttributeFilters>), Query, style = DeepObject, explode, description = "`attributes[KEY]=VALUE`: resources whose attribute KEY equals VALUE (several are all required)"),
           FieldsParam,
           ("q" = Option<String>, Query, min_length = 1, max_length = 500, description = "Full-text search over name, attribute values and data strings: words and \"quoted phrases\", all required, stemmed, at least one word that is not a common one like `the`, at most 32; by relevance unless `sort` is given (then cursors work too)")),
    responses((status = 200, body = ResourcePage<'static>), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn list_resources(
    auth: Auth<Read>,
    State(state): State<AppState>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Response, ApiError> {
    let query = ListQuery::parse(&pairs)?;
    let page = match query.mode {
        PageMode::Offset { page } => Some(page),
        PageMode::Cursor { .. } => None,
    };
    let (per_page, fields) = (query.per_page, query.fields.clone());
    let result = state.store.list_resource_rows(auth.principal.project_id, query).await?;
    let mut items = Vec::with_capacity(result.items.len());
    for row in &result.items {
        let view = row.view()?;
        items.push(match &fields {
            Some(f) => Item::Sparse(project_fields(serde_json::to_value(view).map_err(ApiError::internal)?, f)),
            None => Item::Whole(view),
        });
    }
    let page = ResourcePage {
        items,
        total: result.total,
        page,
        per_page,
        has_next: result.has_next,
        next_cursor: result.next_cursor.clone(),
    };
    // Sized for the whole page, so that writing it never moves what is already written.
    let mut body = Vec::with_capacity(256 + result.items.iter().map(json_size).sum::<usize>());
    page.write_json(&mut body).map_err(ApiError::internal)?;
    Ok(json_response(body, None))
}

impl ResourcePage<'_> {
    /// Appends the page as JSON: the bytes `serde_json::to_writer` writes for it (a test checks
    /// they are), each whole item written by [`StoredResourceView::write_json`].
    fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        use tollgate_core::json_out::{push_int, push_str};
        out.extend_from_slice(b"{\"items\":[");
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match item {
                Item::Whole(view) => view.write_json(out),
                Item::Sparse(value) => serde_json::to_writer(&mut *out, value)?,
            }
        }
        out.extend_from_slice(b"],\"page\":");
        match self.page {
            Some(n) => push_int(out, i64::from(n)),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"per_page\":");
        push_int(out, i64::from(self.per_page));
        out.extend_from_slice(if self.has_next { b",\"has_next\":true" } else { b",\"has_next\":false" });
        out.extend_from_slice(b",\"next_cursor\":");
        match &self.next_cursor {
            Some(c) => push_str(out, c),
            None => out.extend_from_slice(b"null"),
        }
        if let Some(total) = self.total {
            out.extend_from_slice(b",\"total\":");
            out.extend_from_slice(itoa::Buffer::new().format(total).as_bytes());
        }
        out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tollgate_store::rows::{RawResource, ResourceFields};

    use super::*;

    fn row(name: &str, attributes: &str, data: &str) -> RawResource {
        RawResource::from(ResourceFields {
            id: "res_01JD3Z9T6W4X8Y2K5M7N9P1Q3R".into(),
            project_id: "prj_01JD3Z9T6W4X8Y2K5M7N9P1Q3R".into(),
            name: name.into(),
            kind: "machine".into(),
            status: "archived".into(),
            attributes: attributes.into(),
            data: data.into(),
            created_at: 1_700_000_000_123_456,
            updated_at: 1_700_000_001_000_000,
            version: 7,
        })
    }

    #[test]
    fn a_page_is_written_as_serde_json_writes_it() {
        let rows = [
            row("plain", r#"{"region":"eu"}"#, r#"{"cpus":8}"#),
            row("q\"uote \\ \u{1} é 🚀", r#"{"a":"\"x\"","b":"\u0001"}"#, r#"[1.5,null,"\n"]"#),
        ];
        let views: Vec<_> = rows.iter().map(|r| r.view().unwrap()).collect();
        let sparse = json!({"id": "res_x", "attributes": {"region": "eu"}});
        for (page, next_cursor, total) in [(Some(2), None, Some(u64::MAX)), (None, Some("c\"ur".to_owned()), None)] {
            for has_next in [true, false] {
                let mut items: Vec<Item<'_>> = views.iter().map(|v| Item::Whole(v.clone())).collect();
                items.push(Item::Sparse(sparse.clone()));
                let p = ResourcePage { items, page, per_page: 100, has_next, next_cursor: next_cursor.clone(), total };
                let mut by_hand = Vec::new();
                p.write_json(&mut by_hand).unwrap();
                assert_eq!(String::from_utf8(by_hand).unwrap(), serde_json::to_string(&p).unwrap());
            }
        }
        let empty = ResourcePage {
            items: vec![],
            page: Some(1),
            per_page: 10,
            has_next: false,
            next_cursor: None,
            total: None,
        };
        let mut by_hand = Vec::new();
        empty.write_json(&mut by_hand).unwrap();
        assert_eq!(by_hand, serde_json::to_vec(&empty).unwrap());
    }
}
