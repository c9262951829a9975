-- One line per table of schema public: name|rows=<count> md5=<md5 of its
-- rows' text, in C order>. Run with psql -At -f (it uses \gexec): on a
-- source inside the backup's snapshot (tests/integration/wrappers/
-- pg_dump-snapshot-digests) and on a restore (odbox_test::table_digests);
-- equal lines mean equal content.
SELECT format(
  'SELECT %L || ''|rows='' || count(*) || '' md5='' || md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text COLLATE "C"), '''')) FROM %I.%I t',
  c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname = 'public'
 ORDER BY c.relname
\gexec
