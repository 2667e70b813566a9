//! The store's conformance suite: one set of tests written against the storage traits, run on
//! SQLite and on PostgreSQL (a fresh database per test). Every operation, every error kind,
//! tenant isolation, concurrent writers, and the outbox and idempotency rows written atomically
//! with their change.

mod attribute_counts;
mod auth_cache;
mod batches;
mod coalescing;
mod credentials;
mod event_log;
mod migrations;
mod opening;
mod outbox;
mod queries;
mod resources;
mod search;
mod support;
mod transfer;
mod types;
mod usage;

/// Declares each test once per backend: `sqlite::name` and `postgres::name`.
macro_rules! conformance {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                crate::$module::$name(crate::support::Backend::Sqlite.open().await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                crate::$module::$name(crate::support::Backend::Postgres.open().await).await;
            })*
        }
    };
}

conformance!(
    resources::create_read_list_update_delete,
    resources::lists_filter_and_page_both_ways,
    resources::preconditions_and_validation,
    resources::another_projects_rows_are_not_found,
    resources::concurrent_updates_with_one_if_match_one_wins,
    resources::events_and_idempotency_commit_with_the_change,
    resources::a_corrupt_row_is_an_internal_error_with_its_cause,
    resources::coalesced_reads_answer_each_caller_as_alone,
    attribute_counts::counters_follow_every_write,
    attribute_counts::concurrent_writers_keep_the_counters_exact,
    attribute_counts::a_walk_by_attribute_misses_nothing_while_others_write,
    batches::a_batch_applies_whole_or_not_at_all,
    batches::concurrent_batches_over_one_resource_serialise,
    batches::a_mixed_batch_matches_a_model_of_its_operations,
    batches::a_full_batch_is_searchable_when_answered,
    coalescing::concurrent_creates_each_get_their_own_answer,
    coalescing::a_group_that_fails_as_a_whole_answers_each_member_alone,
    credentials::credential_lifecycle,
    credentials::another_projects_credentials_are_not_found,
    credentials::tokens_and_signing_keys,
    credentials::projects_and_bootstrap,
    auth_cache::every_change_reaches_a_caching_node_within_a_second,
    auth_cache::a_node_that_cannot_read_changes_reads_credentials_through,
    outbox::webhooks_deliveries_and_attempts,
    event_log::events_list_filter_and_page,
    event_log::settled_reads_miss_nothing_under_racing_writers,
    event_log::committed_after_lists_events_already_past_the_settled_position,
    event_log::retention_prunes_old_rows_and_keeps_recent_and_pending,
    outbox::publishing_to_the_message_queue,
    queries::every_order_matches_the_model_through_every_page,
    queries::ranges_filters_and_totals_match_the_model,
    queries::cursor_pages_skip_and_repeat_nothing_while_others_insert,
    queries::stale_planner_statistics_are_refreshed,
    search::search_finds_the_same_resources_on_every_backend,
    transfer::an_export_pages_through_one_project_or_all,
    transfer::an_export_stops_at_a_row_whose_text_is_not_utf8,
    transfer::export_lines_are_the_bytes_serde_json_writes,
    transfer::export_and_import_round_trip,
    transfer::import_keeps_the_later_state_of_credentials,
    types::writes_are_checked_against_their_registered_type,
    types::deleting_a_type_races_creating_its_resource,
    types::a_type_registered_again_is_checked_against_its_new_schema,
    usage::hourly_counts_add_up_stay_in_their_project_and_are_pruned,
);
