//! Every resource, page by page: a stream that follows `next_cursor`, so that it neither skips
//! nor repeats resources when others are created or deleted while it runs, and costs the same
//! on the thousandth page as on the first. Search results by relevance, which have no cursor,
//! are followed by page number instead.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;

use crate::{Client, Error, ListParams, Resource};

/// The page size when none is given: the largest the API allows, for the fewest round trips
/// (as in the Python and Node.js SDKs).
const DEFAULT_PER_PAGE: u32 = 100;

impl Client {
    /// Every resource matching `params` (its `page`, `cursor` and `include_total` are ignored),
    /// in its `sort` order (id order by default; by relevance for a `q` without `sort`), fetched
    /// one page of `params.per_page` (default 100) at a time as the stream is polled.
    /// Boxed, so that it can be polled in place (`while let Some(r) = stream.try_next().await?`).
    pub fn list_all(&self, params: ListParams) -> BoxStream<'static, Result<Resource, Error>> {
        self.list_all_as(params)
    }

    /// [`Client::list_all`] with the items read as `T` (for sparse fieldsets, see
    /// [`Client::list_as`]).
    pub fn list_all_as<T: DeserializeOwned + Send + 'static>(
        &self,
        params: ListParams,
    ) -> BoxStream<'static, Result<T, Error>> {
        let client = self.clone();
        let per_page = Some(params.per_page.unwrap_or(DEFAULT_PER_PAGE));
        // Search results by relevance page only by number: no cursor can mark a place in a
        // ranking. Any other listing follows cursors.
        let by_number = params.q.is_some() && params.sort.is_empty();
        let (page, cursor) = if by_number { (Some(1), None) } else { (None, Some(String::new())) };
        // The total would cost a scan per page: the stream has no use for it.
        let first = ListParams { page, per_page, cursor, include_total: false, ..params };
        stream::try_unfold(Some(first), move |next| {
            let client = client.clone();
            async move {
                let Some(params) = next else { return Ok(None) };
                let page = client.list_as::<T>(&params).await?;
                // A page by number carries a `next_cursor` too, which search by relevance refuses.
                let following = match (page.has_next, params.page, page.next_cursor) {
                    (true, Some(number), _) => Some(ListParams { page: Some(number + 1), ..params }),
                    (true, None, Some(cursor)) => Some(ListParams { cursor: Some(cursor), ..params }),
                    _ => None,
                };
                Ok(Some((stream::iter(page.items.into_iter().map(Ok)), following)))
            }
        })
        .try_flatten()
        .boxed()
    }
}
