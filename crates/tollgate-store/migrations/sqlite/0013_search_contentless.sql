-- The full-text index without a copy of each document: FTS5 kept every indexed text in a
-- content table of its own, written with each create and read by nothing (searches use MATCH
-- and bm25 only, which need the index and the document sizes). `contentless_delete` keeps
-- deleting a resource's entry by its rowid, as before.
CREATE VIRTUAL TABLE resource_search_v13 USING fts5(
    body, content = '', contentless_delete = 1, tokenize = 'porter unicode61 remove_diacritics 0'
);
INSERT INTO resource_search_v13 (rowid, body) SELECT rowid, body FROM resource_search;
DROP TABLE resource_search;
ALTER TABLE resource_search_v13 RENAME TO resource_search;
