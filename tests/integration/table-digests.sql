-- One line per user table: name|rows|md5 of its rows in a stable order.
-- Used on the source (inside the backup's snapshot) and on the restore.
SELECT format(
  'SELECT %L || ''|'' || count(*) || ''|'' || md5(coalesce(string_agg(t::text, E''\n'' ORDER BY t::text), '''')) FROM %I.%I t',
  c.relname, n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r' AND n.nspname = 'public'
 ORDER BY c.relname
\gexec
