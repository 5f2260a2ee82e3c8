/*
 * store_sql: the store's SQL, written once for SQLite and PostgreSQL.
 *
 * Owns: the schema (as an ordered list of migrations) and the text of
 * every statement the store prepares, shared by every backend (a driver
 * may replace the text of a statement its dialect needs written
 * otherwise: store_driver.sql). Does not own: running them (store.c and
 * its driver, store_schema.c, the record files).
 *
 * Portability rules this file keeps, so a PostgreSQL backend can reuse it
 * verbatim: types TEXT, INTEGER, BIGINT only; no AUTOINCREMENT, rowid,
 * instr, datetime or other SQLite-only functions; parameters $1..$n,
 * numbered in order of first appearance (SQLite numbers `$NAME`
 * parameters that way; the SQLite driver checks it at prepare time); UPSERT as
 * INSERT ... ON CONFLICT (...) DO UPDATE ... RETURNING (SQLite >= 3.35,
 * PostgreSQL >= 9.5); an insert that may meet an existing key says ON
 * CONFLICT DO NOTHING and counts its rows rather than failing (a failed
 * statement aborts a whole PostgreSQL transaction, not only itself as
 * in SQLite, so a write scope could not go on after it). Money is TEXT
 * holding an exact decimal (TEXT affinity: SQLite never converts it to a
 * number), timestamps are TEXT in
 * ISO 8601 UTC, booleans INTEGER 0/1.
 *
 * Invariant: a migration, once released, never changes; a schema change
 * is a new entry at the end (and STORE_SCHEMA_VERSION + 1).
 */
#include "store_int.h"

/* clang-format off */
const char store_sql_bootstrap[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "  version    INTEGER NOT NULL PRIMARY KEY,"
    "  applied_at TEXT NOT NULL"
    ")";

const char *const store_migrations[STORE_SCHEMA_VERSION] = {
    /* 0 -> 1: quotes, their versions and history, numbering, idempotency. */
    "CREATE TABLE quote_counters ("
    "  year     INTEGER NOT NULL PRIMARY KEY,"
    "  last_seq BIGINT NOT NULL CHECK (last_seq > 0)"
    ");"
    /* The head of a quote: one row per quote, mirroring its latest version
     * for lookups, filters and ordering. */
    "CREATE TABLE quotes ("
    "  id             TEXT NOT NULL PRIMARY KEY,"
    "  number         TEXT NOT NULL UNIQUE,"
    "  year           INTEGER NOT NULL,"
    "  seq            BIGINT NOT NULL,"
    "  latest_version INTEGER NOT NULL CHECK (latest_version > 0),"
    "  status         TEXT NOT NULL,"
    "  customer_id    TEXT NOT NULL,"
    "  partner_id     TEXT,"
    "  currency       TEXT NOT NULL,"
    "  total          TEXT NOT NULL,"
    "  created_by     TEXT NOT NULL,"
    "  created_at     TEXT NOT NULL,"
    "  updated_at     TEXT NOT NULL,"
    "  UNIQUE (year, seq)"
    ");"
    "CREATE INDEX quotes_by_created ON quotes (created_at, year, seq);"
    "CREATE INDEX quotes_by_customer ON quotes (customer_id, created_at);"
    "CREATE INDEX quotes_by_partner ON quotes (partner_id, created_at);"
    "CREATE INDEX quotes_by_status ON quotes (status, created_at);"
    /* Every version as it was priced; a row is never changed once a newer
     * version exists (only the latest one's status and updated_at move). */
    "CREATE TABLE quote_versions ("
    "  quote_id          TEXT NOT NULL REFERENCES quotes (id),"
    "  version           INTEGER NOT NULL CHECK (version > 0),"
    "  status            TEXT NOT NULL,"
    "  customer_id       TEXT NOT NULL,"
    "  partner_id        TEXT,"
    "  currency          TEXT NOT NULL,"
    "  total             TEXT NOT NULL,"
    "  catalog_version   TEXT NOT NULL,"
    "  request           TEXT NOT NULL,"
    "  priced            TEXT NOT NULL,"
    "  valid_until       TEXT,"
    "  approval_required INTEGER NOT NULL CHECK (approval_required IN (0, 1)),"
    "  approval_level    TEXT,"
    "  created_by        TEXT NOT NULL,"
    "  created_at        TEXT NOT NULL,"
    "  updated_at        TEXT NOT NULL,"
    "  PRIMARY KEY (quote_id, version)"
    ");"
    /* Status history, oldest first by seq (1.. per quote). */
    "CREATE TABLE quote_events ("
    "  quote_id    TEXT NOT NULL REFERENCES quotes (id),"
    "  seq         INTEGER NOT NULL CHECK (seq > 0),"
    "  version     INTEGER NOT NULL,"
    "  from_status TEXT,"
    "  to_status   TEXT NOT NULL,"
    "  actor       TEXT NOT NULL,"
    "  note        TEXT,"
    "  at          TEXT NOT NULL,"
    "  PRIMARY KEY (quote_id, seq)"
    ");"
    "CREATE TABLE idempotency ("
    "  caller      TEXT NOT NULL,"
    "  idem_key    TEXT NOT NULL,"
    "  route       TEXT NOT NULL,"
    "  body_hash   TEXT NOT NULL,"
    "  status      INTEGER NOT NULL,"
    "  response    TEXT NOT NULL,"
    "  resource_id TEXT,"
    "  created_at  TEXT NOT NULL,"
    "  PRIMARY KEY (caller, idem_key)"
    ");",
    /* 1 -> 2: the catalog files each quoted snapshot was loaded from, so a
     * quote re-prices on exactly its catalogs after any reload or restart. */
    "CREATE TABLE catalog_archives ("
    "  version     TEXT NOT NULL PRIMARY KEY,"
    "  catalog_dir TEXT NOT NULL,"
    "  rules_dir   TEXT NOT NULL,"
    "  archived_at TEXT NOT NULL"
    ");"
    "CREATE TABLE catalog_files ("
    "  version TEXT NOT NULL REFERENCES catalog_archives (version),"
    "  kind    TEXT NOT NULL CHECK (kind IN ('catalog', 'rule')),"
    "  path    TEXT NOT NULL,"
    "  content TEXT NOT NULL,"
    "  PRIMARY KEY (version, kind, path)"
    ");",
    /* 2 -> 3: the outbox (events to the CRM, written in the transaction of
     * the change they report) and the counter behind its cursor. */
    "CREATE TABLE outbox_counter ("
    "  id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),"
    "  last_seq BIGINT NOT NULL CHECK (last_seq > 0)"
    ");"
    "CREATE TABLE outbox ("
    "  seq             BIGINT NOT NULL PRIMARY KEY,"
    "  id              TEXT NOT NULL UNIQUE,"
    "  type            TEXT NOT NULL,"
    "  resource_kind   TEXT NOT NULL,"
    "  resource_id     TEXT NOT NULL,"
    "  order_key       TEXT NOT NULL,"
    "  payload         TEXT NOT NULL,"
    "  body            TEXT NOT NULL,"
    "  created_at      TEXT NOT NULL,"
    "  status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),"
    "  attempts        INTEGER NOT NULL CHECK (attempts >= 0),"
    "  next_attempt_at TEXT NOT NULL,"
    "  last_error      TEXT,"
    "  delivered_at    TEXT"
    ");"
    /* what blocks a key, and what is due: both stay small however many
     * events were delivered (partial indexes: SQLite and PostgreSQL) */
    "CREATE INDEX outbox_undelivered ON outbox (order_key, seq) WHERE status <> 'delivered';"
    "CREATE INDEX outbox_due ON outbox (next_attempt_at, seq) WHERE status = 'pending';"
    "CREATE INDEX outbox_by_status ON outbox (status, seq);",
    /* 3 -> 4: contracts (an accepted quote), their receivable items,
     * payments, and the warnings already emitted (docs/receivables.md
     * "Contracts"). */
    "CREATE TABLE contract_counters ("
    "  year     INTEGER NOT NULL PRIMARY KEY,"
    "  last_seq BIGINT NOT NULL CHECK (last_seq > 0)"
    ");"
    "CREATE TABLE contracts ("
    "  id              TEXT NOT NULL PRIMARY KEY,"
    "  number          TEXT NOT NULL UNIQUE,"
    "  year            INTEGER NOT NULL,"
    "  seq             BIGINT NOT NULL,"
    "  quote_id        TEXT NOT NULL UNIQUE REFERENCES quotes (id),"
    "  quote_version   INTEGER NOT NULL CHECK (quote_version > 0),"
    "  customer_id     TEXT NOT NULL,"
    "  partner_id      TEXT,"
    "  currency        TEXT NOT NULL,"
    "  total           TEXT NOT NULL,"
    "  signed_on       TEXT NOT NULL,"
    "  start_on        TEXT NOT NULL,"
    "  catalog_version TEXT NOT NULL,"
    "  request         TEXT NOT NULL,"
    "  created_by      TEXT NOT NULL,"
    "  created_at      TEXT NOT NULL,"
    "  UNIQUE (year, seq)"
    ");"
    "CREATE INDEX contracts_by_partner ON contracts (partner_id, created_at);"
    /* One row per sched item; (contract, line_no, kind, service, seq,
     * part) is the item's stable key: a recomputed line updates by it. */
    "CREATE TABLE receivables ("
    "  id           TEXT NOT NULL PRIMARY KEY,"
    "  contract_id  TEXT NOT NULL REFERENCES contracts (id),"
    "  line_id      TEXT NOT NULL,"
    "  line_no      INTEGER NOT NULL CHECK (line_no >= 0),"
    "  kind         TEXT NOT NULL,"
    "  service      INTEGER NOT NULL,"
    "  seq          INTEGER NOT NULL,"
    "  part         INTEGER NOT NULL,"
    "  ref          TEXT,"
    "  waits_for    TEXT,"
    "  due_on       TEXT,"
    "  bill_on      TEXT,"
    "  expected_on  TEXT,"
    "  period_from  TEXT,"
    "  period_to    TEXT,"
    "  amount       TEXT NOT NULL,"
    "  amount_known INTEGER NOT NULL CHECK (amount_known IN (0, 1)),"
    "  description  TEXT NOT NULL,"
    "  paid         TEXT NOT NULL,"
    "  UNIQUE (contract_id, line_no, kind, service, seq, part)"
    ");"
    "CREATE INDEX receivables_by_due ON receivables (due_on);"
    "CREATE TABLE payments ("
    "  id            TEXT NOT NULL PRIMARY KEY,"
    "  receivable_id TEXT NOT NULL REFERENCES receivables (id),"
    "  client_id     TEXT NOT NULL,"
    "  amount        TEXT NOT NULL,"
    "  paid_on       TEXT NOT NULL,"
    "  created_at    TEXT NOT NULL,"
    "  UNIQUE (receivable_id, client_id)"
    ");"
    /* a warning event (due_soon, overdue) is emitted once per item and
     * state: the row is its proof */
    "CREATE TABLE receivable_warnings ("
    "  receivable_id TEXT NOT NULL REFERENCES receivables (id),"
    "  state         TEXT NOT NULL,"
    "  at            TEXT NOT NULL,"
    "  PRIMARY KEY (receivable_id, state)"
    ");",
    /* 4 -> 5: what happens after signing (docs/receivables.md
     * "After signing"): event dates reported per line (delivery, service
     * acceptance, a milestone's acceptance; ref is the milestone id, ''
     * otherwise: one date per event, never changed), and metered usage
     * records, idempotent per client id within a contract. */
    "CREATE TABLE contract_line_events ("
    "  contract_id TEXT NOT NULL REFERENCES contracts (id),"
    "  line_no     INTEGER NOT NULL CHECK (line_no >= 0),"
    "  event       TEXT NOT NULL CHECK (event IN ('delivered', 'accepted', 'milestone')),"
    "  ref         TEXT NOT NULL,"
    "  happened_on TEXT NOT NULL,"
    "  recorded_by TEXT NOT NULL,"
    "  recorded_at TEXT NOT NULL,"
    "  PRIMARY KEY (contract_id, line_no, event, ref)"
    ");"
    "CREATE TABLE usage_records ("
    "  contract_id TEXT NOT NULL REFERENCES contracts (id),"
    "  client_id   TEXT NOT NULL,"
    "  line_no     INTEGER NOT NULL CHECK (line_no >= 0),"
    "  seq         INTEGER NOT NULL CHECK (seq >= 0),"
    "  quantity    TEXT NOT NULL,"
    "  recorded_on TEXT NOT NULL,"
    "  recorded_by TEXT NOT NULL,"
    "  created_at  TEXT NOT NULL,"
    "  PRIMARY KEY (contract_id, client_id)"
    ");"
    "CREATE INDEX usage_by_period ON usage_records (contract_id, line_no, seq);",
    /* 5 -> 6: a subscription line's term changes (docs/receivables.md
     * "Renewals and seat changes"): a renewal (kind 'renewal', client_id
     * "<line_no>:<term>") or a mid-term seat change (kind 'seats', the
     * client's change id, change_no 1.. per line: the `service` of its
     * credit and charge items). One row per change, never changed. */
    "CREATE TABLE contract_line_changes ("
    "  contract_id   TEXT NOT NULL REFERENCES contracts (id),"
    "  kind          TEXT NOT NULL CHECK (kind IN ('renewal', 'seats')),"
    "  client_id     TEXT NOT NULL,"
    "  line_no       INTEGER NOT NULL CHECK (line_no >= 0),"
    "  term_no       INTEGER NOT NULL CHECK (term_no >= 0),"
    "  change_no     INTEGER NOT NULL CHECK (change_no >= 0),"
    "  effective_on  TEXT NOT NULL,"
    "  quantity      TEXT NOT NULL,"
    "  old_quantity  TEXT NOT NULL,"
    "  period_amount TEXT NOT NULL,"
    "  old_amount    TEXT NOT NULL,"
    "  source        TEXT NOT NULL,"
    "  created_by    TEXT NOT NULL,"
    "  created_at    TEXT NOT NULL,"
    "  PRIMARY KEY (contract_id, kind, client_id)"
    ");",
    /* 6 -> 7: promotion usage counters that limit rules read: redemptions
     * and discount granted, overall (scope '*'), per customer ('c:<id>')
     * and per partner ('p:<id>'); counted when a quote becomes a contract. */
    "CREATE TABLE promotion_usage ("
    "  promotion TEXT NOT NULL,"
    "  scope     TEXT NOT NULL,"
    "  uses      BIGINT NOT NULL CHECK (uses >= 0),"
    "  spent     TEXT NOT NULL,"
    "  PRIMARY KEY (promotion, scope)"
    ");",
    /* 7 -> 8: the items the receivables sweep could not process
     * (docs/receivables.md "Sweep failures"): one row per item (a period
     * to close, a line to renew, a warning to write), its last error,
     * when it first and last failed and how often; resolved_at is set
     * when a later sweep got it through (and cleared when it fails
     * again). */
    "CREATE TABLE sweep_failures ("
    "  item            TEXT NOT NULL PRIMARY KEY,"
    "  kind            TEXT NOT NULL CHECK (kind IN ('period_close', 'renewal', 'warning')),"
    "  contract_id     TEXT NOT NULL,"
    "  ref             TEXT NOT NULL,"
    "  code            TEXT NOT NULL,"
    "  message         TEXT NOT NULL,"
    "  first_failed_at TEXT NOT NULL,"
    "  last_failed_at  TEXT NOT NULL,"
    "  failures        BIGINT NOT NULL CHECK (failures > 0),"
    "  resolved_at     TEXT"
    ");"
    "CREATE INDEX sweep_failures_by_last ON sweep_failures (last_failed_at, item);",
    /* 8 -> 9: an event stores its payload once and compactly: a quote
     * event leaves out the version's priced result, which the version
     * already stores (priced_quote, priced_version: that version;
     * priced_at: the byte of the payload where it goes back in when the
     * event is read), and the webhook body is rebuilt from the event
     * when read (body '' ; rows from before keep theirs). Delivered
     * events are pruned after a retention period: the index finds them. */
    "ALTER TABLE outbox ADD COLUMN priced_quote TEXT;"
    "ALTER TABLE outbox ADD COLUMN priced_version INTEGER;"
    "ALTER TABLE outbox ADD COLUMN priced_at BIGINT;"
    "CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE status = 'delivered';",
    /* 9 -> 10: the finance loop (docs/finance.md): customers (payer
     * identity for matching, credit limits and risk flags); invoices and
     * credit notes with the receivable items they cover (an item is on at
     * most one document at a time: cancelled_by frees it); bank
     * statements, their credits, the matches applying them to items and
     * their allocations (each allocation is a payment row); write-offs;
     * the vouchers of the ERP feed; revenue posted per contract and
     * category. fin_counters hands out gap-free invoice numbers per
     * issuer, kind and year and the feed sequences (as outbox_counter, in
     * commit order). sweep_failures gets the kinds of the finance sweep
     * (a table rebuilt: a CHECK cannot be altered in SQLite). */
    "CREATE TABLE fin_counters ("
    "  counter  TEXT NOT NULL PRIMARY KEY,"
    "  last_seq BIGINT NOT NULL CHECK (last_seq > 0)"
    ");"
    "CREATE TABLE customers ("
    "  id              TEXT NOT NULL PRIMARY KEY,"
    "  name            TEXT,"
    "  accounts        TEXT NOT NULL,"
    "  credit_limit    TEXT,"
    "  credit_currency TEXT,"
    "  risk_flags      TEXT NOT NULL,"
    "  credit_note     TEXT,"
    "  updated_by      TEXT NOT NULL,"
    "  updated_at      TEXT NOT NULL"
    ");"
    "CREATE TABLE invoices ("
    "  id          TEXT NOT NULL PRIMARY KEY,"
    "  seq         BIGINT NOT NULL UNIQUE,"
    "  number      TEXT NOT NULL UNIQUE,"
    "  issuer      TEXT NOT NULL,"
    "  kind        TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),"
    "  reason      TEXT NOT NULL CHECK (reason IN ('sale', 'credit', 'cancellation')),"
    "  year        INTEGER NOT NULL,"
    "  doc_seq     BIGINT NOT NULL,"
    "  contract_id TEXT NOT NULL REFERENCES contracts (id),"
    "  customer_id TEXT NOT NULL,"
    "  currency    TEXT NOT NULL,"
    "  issued_on   TEXT NOT NULL,"
    "  due_on      TEXT NOT NULL,"
    "  net         TEXT NOT NULL,"
    "  tax         TEXT NOT NULL,"
    "  total       TEXT NOT NULL,"
    "  original_id TEXT,"
    "  source      TEXT NOT NULL,"
    "  document    TEXT NOT NULL,"
    "  created_by  TEXT NOT NULL,"
    "  created_at  TEXT NOT NULL,"
    "  UNIQUE (issuer, kind, year, doc_seq)"
    ");"
    "CREATE INDEX invoices_by_contract ON invoices (contract_id, seq);"
    "CREATE TABLE invoice_items ("
    "  invoice_id    TEXT NOT NULL REFERENCES invoices (id),"
    "  receivable_id TEXT NOT NULL REFERENCES receivables (id),"
    "  amount        TEXT NOT NULL,"
    "  cancelled_by  TEXT,"
    "  PRIMARY KEY (invoice_id, receivable_id)"
    ");"
    "CREATE UNIQUE INDEX invoice_items_open ON invoice_items (receivable_id)"
    " WHERE cancelled_by IS NULL;"
    "CREATE TABLE bank_statements ("
    "  id          TEXT NOT NULL PRIMARY KEY,"
    "  issuer      TEXT NOT NULL,"
    "  format      TEXT NOT NULL CHECK (format IN ('camt053', 'csv')),"
    "  ref         TEXT NOT NULL,"
    "  account     TEXT NOT NULL,"
    "  credits     BIGINT NOT NULL,"
    "  duplicates  BIGINT NOT NULL,"
    "  skipped     BIGINT NOT NULL,"
    "  matched     BIGINT NOT NULL,"
    "  unmatched   BIGINT NOT NULL,"
    "  imported_by TEXT NOT NULL,"
    "  imported_at TEXT NOT NULL"
    ");"
    "CREATE TABLE bank_credits ("
    "  id             TEXT NOT NULL PRIMARY KEY,"
    "  seq            BIGINT NOT NULL UNIQUE,"
    "  statement_id   TEXT NOT NULL REFERENCES bank_statements (id),"
    "  tx_id          TEXT NOT NULL UNIQUE,"
    "  amount         TEXT NOT NULL,"
    "  currency       TEXT NOT NULL,"
    "  value_date     TEXT NOT NULL,"
    "  booking_date   TEXT,"
    "  remittance     TEXT NOT NULL,"
    "  debtor_name    TEXT NOT NULL,"
    "  debtor_account TEXT NOT NULL,"
    "  end_to_end_id  TEXT NOT NULL,"
    "  customer_id    TEXT,"
    "  applied        TEXT NOT NULL,"
    "  status         TEXT NOT NULL CHECK (status IN ('unmatched', 'matched')),"
    "  rule           TEXT NOT NULL,"
    "  reason         TEXT,"
    "  suggestions    TEXT NOT NULL,"
    "  created_at     TEXT NOT NULL"
    ");"
    "CREATE INDEX bank_credits_by_status ON bank_credits (status, seq);"
    "CREATE INDEX bank_credits_by_customer ON bank_credits (customer_id, seq);"
    "CREATE TABLE matches ("
    "  id           TEXT NOT NULL PRIMARY KEY,"
    "  seq          BIGINT NOT NULL UNIQUE,"
    "  credit_id    TEXT NOT NULL REFERENCES bank_credits (id),"
    "  kind         TEXT NOT NULL CHECK (kind IN ('auto', 'manual')),"
    "  rule         TEXT NOT NULL,"
    "  customer_id  TEXT,"
    "  amount       TEXT NOT NULL,"
    "  overpaid     TEXT NOT NULL,"
    "  note         TEXT,"
    "  created_by   TEXT NOT NULL,"
    "  created_at   TEXT NOT NULL,"
    "  reversed_at  TEXT,"
    "  reversed_by  TEXT,"
    "  reverse_note TEXT"
    ");"
    "CREATE INDEX matches_by_credit ON matches (credit_id, seq);"
    "CREATE TABLE match_allocations ("
    "  match_id      TEXT NOT NULL REFERENCES matches (id),"
    "  receivable_id TEXT NOT NULL REFERENCES receivables (id),"
    "  amount        TEXT NOT NULL,"
    "  payment_id    TEXT NOT NULL,"
    "  PRIMARY KEY (match_id, receivable_id)"
    ");"
    "CREATE TABLE write_offs ("
    "  id            TEXT NOT NULL PRIMARY KEY,"
    "  receivable_id TEXT NOT NULL REFERENCES receivables (id),"
    "  amount        TEXT NOT NULL,"
    "  reason        TEXT NOT NULL,"
    "  payment_id    TEXT NOT NULL,"
    "  created_by    TEXT NOT NULL,"
    "  created_at    TEXT NOT NULL"
    ");"
    "CREATE TABLE vouchers ("
    "  seq         BIGINT NOT NULL PRIMARY KEY,"
    "  number      TEXT NOT NULL UNIQUE,"
    "  kind        TEXT NOT NULL,"
    "  date        TEXT NOT NULL,"
    "  currency    TEXT NOT NULL,"
    "  source      TEXT NOT NULL,"
    "  customer_id TEXT,"
    "  contract    TEXT,"
    "  total       TEXT NOT NULL,"
    "  lines       TEXT NOT NULL,"
    "  created_at  TEXT NOT NULL"
    ");"
    "CREATE TABLE revenue_positions ("
    "  contract_id TEXT NOT NULL REFERENCES contracts (id),"
    "  category    TEXT NOT NULL,"
    "  posted      TEXT NOT NULL,"
    "  upto        TEXT NOT NULL,"
    "  PRIMARY KEY (contract_id, category)"
    ");"
    "CREATE TABLE sweep_failures_v9 ("
    "  item            TEXT NOT NULL PRIMARY KEY,"
    "  kind            TEXT NOT NULL CHECK (kind IN ('period_close', 'renewal', 'warning',"
    "                                               'invoice', 'revenue')),"
    "  contract_id     TEXT NOT NULL,"
    "  ref             TEXT NOT NULL,"
    "  code            TEXT NOT NULL,"
    "  message         TEXT NOT NULL,"
    "  first_failed_at TEXT NOT NULL,"
    "  last_failed_at  TEXT NOT NULL,"
    "  failures        BIGINT NOT NULL CHECK (failures > 0),"
    "  resolved_at     TEXT"
    ");"
    "INSERT INTO sweep_failures_v9 (item, kind, contract_id, ref, code, message,"
    " first_failed_at, last_failed_at, failures, resolved_at)"
    " SELECT item, kind, contract_id, ref, code, message, first_failed_at, last_failed_at,"
    " failures, resolved_at FROM sweep_failures;"
    "DROP TABLE sweep_failures;"
    "ALTER TABLE sweep_failures_v9 RENAME TO sweep_failures;"
    "CREATE INDEX sweep_failures_by_last ON sweep_failures (last_failed_at, item);",
    /* 10 -> 11: stock levels and lead times per SKU and warehouse, pushed
     * by the ERP or CRM (PUT /v1/stock, docs/portal.md "Availability");
     * quantity is exact decimal text, >= 0. */
    "CREATE TABLE stock ("
    "  sku            TEXT NOT NULL,"
    "  warehouse      TEXT NOT NULL,"
    "  quantity       TEXT NOT NULL,"
    "  lead_time_days INTEGER NOT NULL CHECK (lead_time_days >= 0),"
    "  updated_at     TEXT NOT NULL,"
    "  updated_by     TEXT NOT NULL,"
    "  PRIMARY KEY (sku, warehouse)"
    ");",
    /* 11 -> 12: the portal's sessions, shared by every instance on the
     * database (docs/portal.md "Sessions"): the token's SHA-256 in hex,
     * never the token; expires_ms in unix milliseconds. */
    "CREATE TABLE portal_sessions ("
    "  digest     TEXT NOT NULL PRIMARY KEY,"
    "  key_id     TEXT NOT NULL,"
    "  csrf       TEXT NOT NULL,"
    "  expires_ms BIGINT NOT NULL"
    ");"
    "CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_ms);"
    "CREATE INDEX portal_sessions_key ON portal_sessions (key_id, expires_ms);",
    /* 12 -> 13: the entity tag of a stored reply, so that a replay by
     * Idempotency-Key carries the ETag the first reply had (docs/api.md
     * "Concurrent edits"); NULL for records written before, and for
     * replies without one. */
    "ALTER TABLE idempotency ADD COLUMN etag TEXT;",
    /* 13 -> 14: a stored reply that holds a quote version's priced result
     * (a quote made or revised with an Idempotency-Key: most of its
     * bytes) references it as an outbox event does (6 -> 7) instead of
     * storing it again: NULL for records written before, and for replies
     * without one. */
    "ALTER TABLE idempotency ADD COLUMN priced_quote TEXT;"
    "ALTER TABLE idempotency ADD COLUMN priced_version INTEGER;"
    "ALTER TABLE idempotency ADD COLUMN priced_at BIGINT;",
};

/* Every table of the schema but schema_version, parents before children
 * (foreign keys), with all its columns and its primary key: what
 * store_move copies and checks. A migration that adds a table or a column
 * adds it here too (test_store checks this list against the schema). */
const store_table store_tables[] = {
    {"quote_counters", "year, last_seq", "year"},
    {"quotes",
     "id, number, year, seq, latest_version, status, customer_id, partner_id, currency, total,"
     " created_by, created_at, updated_at",
     "id"},
    {"quote_versions",
     "quote_id, version, status, customer_id, partner_id, currency, total, catalog_version,"
     " request, priced, valid_until, approval_required, approval_level, created_by, created_at,"
     " updated_at",
     "quote_id, version"},
    {"quote_events", "quote_id, seq, version, from_status, to_status, actor, note, at",
     "quote_id, seq"},
    {"idempotency",
     "caller, idem_key, route, body_hash, status, response, resource_id, created_at, etag,"
     " priced_quote, priced_version, priced_at",
     "caller, idem_key"},
    {"catalog_archives", "version, catalog_dir, rules_dir, archived_at", "version"},
    {"catalog_files", "version, kind, path, content", "version, kind, path"},
    {"outbox_counter", "id, last_seq", "id"},
    {"outbox",
     "seq, id, type, resource_kind, resource_id, order_key, payload, body, created_at, status,"
     " attempts, next_attempt_at, last_error, delivered_at, priced_quote, priced_version,"
     " priced_at",
     "seq"},
    {"contract_counters", "year, last_seq", "year"},
    {"contracts",
     "id, number, year, seq, quote_id, quote_version, customer_id, partner_id, currency, total,"
     " signed_on, start_on, catalog_version, request, created_by, created_at",
     "id"},
    {"receivables",
     "id, contract_id, line_id, line_no, kind, service, seq, part, ref, waits_for, due_on,"
     " bill_on, expected_on, period_from, period_to, amount, amount_known, description, paid",
     "id"},
    {"payments", "id, receivable_id, client_id, amount, paid_on, created_at", "id"},
    {"receivable_warnings", "receivable_id, state, at", "receivable_id, state"},
    {"contract_line_events",
     "contract_id, line_no, event, ref, happened_on, recorded_by, recorded_at",
     "contract_id, line_no, event, ref"},
    {"usage_records",
     "contract_id, client_id, line_no, seq, quantity, recorded_on, recorded_by, created_at",
     "contract_id, client_id"},
    {"contract_line_changes",
     "contract_id, kind, client_id, line_no, term_no, change_no, effective_on, quantity,"
     " old_quantity, period_amount, old_amount, source, created_by, created_at",
     "contract_id, kind, client_id"},
    {"promotion_usage", "promotion, scope, uses, spent", "promotion, scope"},
    {"sweep_failures",
     "item, kind, contract_id, ref, code, message, first_failed_at, last_failed_at, failures,"
     " resolved_at",
     "item"},
    {"fin_counters", "counter, last_seq", "counter"},
    {"customers",
     "id, name, accounts, credit_limit, credit_currency, risk_flags, credit_note, updated_by,"
     " updated_at",
     "id"},
    {"invoices",
     "id, seq, number, issuer, kind, reason, year, doc_seq, contract_id, customer_id, currency,"
     " issued_on, due_on, net, tax, total, original_id, source, document, created_by, created_at",
     "id"},
    {"invoice_items", "invoice_id, receivable_id, amount, cancelled_by",
     "invoice_id, receivable_id"},
    {"bank_statements",
     "id, issuer, format, ref, account, credits, duplicates, skipped, matched, unmatched,"
     " imported_by, imported_at",
     "id"},
    {"bank_credits",
     "id, seq, statement_id, tx_id, amount, currency, value_date, booking_date, remittance,"
     " debtor_name, debtor_account, end_to_end_id, customer_id, applied, status, rule, reason,"
     " suggestions, created_at",
     "id"},
    {"matches",
     "id, seq, credit_id, kind, rule, customer_id, amount, overpaid, note, created_by,"
     " created_at, reversed_at, reversed_by, reverse_note",
     "id"},
    {"match_allocations", "match_id, receivable_id, amount, payment_id",
     "match_id, receivable_id"},
    {"write_offs", "id, receivable_id, amount, reason, payment_id, created_by, created_at", "id"},
    {"vouchers",
     "seq, number, kind, date, currency, source, customer_id, contract, total, lines, created_at",
     "seq"},
    {"revenue_positions", "contract_id, category, posted, upto", "contract_id, category"},
    {"stock", "sku, warehouse, quantity, lead_time_days, updated_at, updated_by",
     "sku, warehouse"},
    {"portal_sessions", "digest, key_id, csrf, expires_ms", "digest"},
};
const size_t store_table_count = sizeof(store_tables) / sizeof(store_tables[0]);

/* The columns of a store_quote, in the order store_quote.c reads them. */
#define QUOTE_COLS(request, priced)                                                             \
    "q.id, q.number, v.version, v.status, v.customer_id, v.partner_id, v.currency, v.total,"   \
    " v.catalog_version, " request ", " priced ", v.valid_until, v.approval_required,"         \
    " v.approval_level, v.created_by, v.created_at, v.updated_at"

/* Filters of the list; $1 customer, $2 status, $3 partner, $4 LIKE pattern.
 * (A parameter's first use is typed: PostgreSQL infers no type from
 * `$1 IS NULL`.) */
#define LIST_WHERE                                                                              \
    " WHERE (CAST($1 AS TEXT) IS NULL OR q.customer_id = $1)"                                   \
    " AND (CAST($2 AS TEXT) IS NULL OR q.status = $2)"                                          \
    " AND (CAST($3 AS TEXT) IS NULL OR q.partner_id = $3)"                                      \
    " AND (CAST($4 AS TEXT) IS NULL OR lower(q.number) LIKE lower($4) ESCAPE '\\'"             \
    "      OR lower(q.customer_id) LIKE lower($4) ESCAPE '\\')"

/* The columns of a store_outbox_event, in the order store_outbox.c reads
 * them (body: a column, or NULL where lists leave it out). */
#define OUTBOX_COLS(body)                                                                       \
    "o.id, o.seq, o.type, o.resource_kind, o.resource_id, o.order_key, o.payload, " body ","   \
    " o.created_at, o.status, o.attempts, o.next_attempt_at, o.last_error, o.delivered_at,"    \
    " o.priced_at, v.priced"
/* One (promotion, scope) pair of STMT_PROMO_USAGE_n; the three scopes of
 * the first promotion, and of another one. */
#define USAGE_ARM(p, s)                                                                         \
    "SELECT promotion, scope, uses, spent FROM promotion_usage WHERE promotion = $" p             \
    " AND scope = $" s
#define USAGE_ARMS1 USAGE_ARM("1", "2") " UNION ALL " USAGE_ARM("1", "3") " UNION ALL " USAGE_ARM("1", "4")
#define USAGE_ARMS(p)                                                                           \
    " UNION ALL " USAGE_ARM(p, "2") " UNION ALL " USAGE_ARM(p, "3") " UNION ALL " USAGE_ARM(p, "4")
/* The version whose priced result an event references (none: NULLs). */
#define OUTBOX_PRICED                                                                           \
    " LEFT JOIN quote_versions v ON v.quote_id = o.priced_quote"                                \
    " AND v.version = o.priced_version"

/* The columns of a store_contract, store_receivable and store_payment,
 * in the order store_contract.c reads them. */
#define CONTRACT_COLS                                                                           \
    "id, number, quote_id, quote_version, customer_id, partner_id, currency, total, signed_on," \
    " start_on, catalog_version, request, created_by, created_at"
#define RECV_COLS                                                                               \
    "r.id, r.contract_id, r.line_id, r.line_no, r.kind, r.service, r.seq, r.part, r.ref,"      \
    " r.waits_for, r.due_on, r.bill_on, r.expected_on, r.period_from, r.period_to, r.amount,"  \
    " r.amount_known, r.description, r.paid, c.number, c.currency, c.partner_id, c.customer_id"
#define PAYMENT_COLS "id, receivable_id, client_id, amount, paid_on, created_at"
#define USAGE_COLS                                                                              \
    "contract_id, client_id, line_no, seq, quantity, recorded_on, recorded_by, created_at"

#define CHANGE_COLS                                                                             \
    "contract_id, kind, client_id, line_no, term_no, change_no, effective_on, quantity,"         \
    " old_quantity, period_amount, old_amount, source, created_by, created_at"
#define SWEEP_FAIL_COLS                                                                         \
    "item, kind, contract_id, ref, code, message, first_failed_at, last_failed_at, failures,"    \
    " resolved_at"

const char *const store_sql[STMT_COUNT] = {
    /* Safe under concurrent transactions by itself: the upsert locks the
     * year's row until commit (PostgreSQL READ COMMITTED then re-reads
     * the latest last_seq; a first insert of a year waits on the other's
     * key), and the write lock serialises the transactions anyway. */
    [STMT_COUNTER_NEXT] =
        "INSERT INTO quote_counters (year, last_seq) VALUES ($1, 1)"
        " ON CONFLICT (year) DO UPDATE SET last_seq = quote_counters.last_seq + 1"
        " RETURNING last_seq",
    [STMT_QUOTE_INSERT] =
        "INSERT INTO quotes (id, number, year, seq, latest_version, status, customer_id,"
        " partner_id, currency, total, created_by, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        " ON CONFLICT DO NOTHING",
    [STMT_VERSION_INSERT] =
        "INSERT INTO quote_versions (quote_id, version, status, customer_id, partner_id,"
        " currency, total, catalog_version, request, priced, valid_until, approval_required,"
        " approval_level, created_by, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    [STMT_QUOTE_HEAD] =
        "SELECT latest_version, status FROM quotes WHERE id = $1",
    /* The latest_version condition makes a concurrent add_version (on
     * PostgreSQL, without BEGIN IMMEDIATE) lose cleanly. */
    [STMT_QUOTE_HEAD_UPDATE] =
        "UPDATE quotes SET latest_version = $1, status = $2, customer_id = $3, partner_id = $4,"
        " currency = $5, total = $6, updated_at = $7"
        " WHERE id = $8 AND latest_version = $9",
    [STMT_QUOTE_GET] =
        "SELECT " QUOTE_COLS("v.request", "v.priced")
        " FROM quotes q JOIN quote_versions v ON v.quote_id = q.id"
        " WHERE q.id = $1 AND v.version = CASE WHEN $2 = 0 THEN q.latest_version ELSE $2 END",
    /* the latest version without its request and priced result */
    [STMT_QUOTE_GET_HEAD] =
        "SELECT " QUOTE_COLS("NULL", "NULL")
        " FROM quotes q JOIN quote_versions v ON v.quote_id = q.id AND v.version = q.latest_version"
        " WHERE q.id = $1",
    [STMT_STATUS_UPDATE] =
        "UPDATE quotes SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
    [STMT_VERSION_STATUS_UPDATE] =
        "UPDATE quote_versions SET status = $1, updated_at = $2"
        " WHERE quote_id = $3 AND version = $4",
    [STMT_EVENT_NEXT] =
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM quote_events WHERE quote_id = $1",
    [STMT_EVENT_INSERT] =
        "INSERT INTO quote_events (quote_id, seq, version, from_status, to_status, actor, note, at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    [STMT_EVENTS] =
        "SELECT from_status, to_status, actor, note, at, version FROM quote_events"
        " WHERE quote_id = $1 ORDER BY seq",
    [STMT_LIST] =
        "SELECT " QUOTE_COLS("NULL", "NULL")
        " FROM quotes q JOIN quote_versions v"
        " ON v.quote_id = q.id AND v.version = q.latest_version"
        LIST_WHERE
        " AND (CAST($5 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM quotes a WHERE a.id = $5"
        "      AND (q.created_at, q.year, q.seq) < (a.created_at, a.year, a.seq)))"
        " ORDER BY q.created_at DESC, q.year DESC, q.seq DESC LIMIT $6",
    [STMT_IDEM_GET] =
        "SELECT i.caller, i.idem_key, i.route, i.body_hash, i.status, i.response, i.resource_id,"
        " i.created_at, i.etag, i.priced_at, v.priced FROM idempotency i"
        " LEFT JOIN quote_versions v ON v.quote_id = i.priced_quote AND v.version = i.priced_version"
        " WHERE i.caller = $1 AND i.idem_key = $2",
    [STMT_IDEM_INSERT] =
        "INSERT INTO idempotency (caller, idem_key, route, body_hash, status, response,"
        " resource_id, created_at, etag, priced_quote, priced_version, priced_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    [STMT_VERSION_GET] =
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
    [STMT_VERSION_RECORD] =
        "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
    [STMT_ARCHIVE_GET] =
        "SELECT catalog_dir, rules_dir FROM catalog_archives WHERE version = $1",
    [STMT_ARCHIVE_INSERT] =
        "INSERT INTO catalog_archives (version, catalog_dir, rules_dir, archived_at)"
        " VALUES ($1, $2, $3, $4)",
    [STMT_ARCHIVE_FILE_INSERT] =
        "INSERT INTO catalog_files (version, kind, path, content) VALUES ($1, $2, $3, $4)",
    [STMT_ARCHIVE_FILES] =
        "SELECT kind, path, content FROM catalog_files WHERE version = $1 ORDER BY kind, path",
    /* The row lock this takes is held to commit, so seqs are handed out
     * in commit order (the pull cursor never skips a late commit). */
    [STMT_OUTBOX_SEQ_NEXT] =
        "INSERT INTO outbox_counter (id, last_seq) VALUES (1, 1)"
        " ON CONFLICT (id) DO UPDATE SET last_seq = outbox_counter.last_seq + 1"
        " RETURNING last_seq",
    [STMT_OUTBOX_INSERT] =
        "INSERT INTO outbox (seq, id, type, resource_kind, resource_id, order_key, payload, body,"
        " created_at, status, attempts, next_attempt_at, priced_quote, priced_version, priced_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 0, $10, $11, $12, $13)"
        " ON CONFLICT DO NOTHING",
    [STMT_OUTBOX_LIST] =
        "SELECT " OUTBOX_COLS("NULL") " FROM outbox o" OUTBOX_PRICED
        " WHERE o.seq > $1 AND (CAST($2 AS TEXT) IS NULL OR o.status = $2) ORDER BY o.seq LIMIT $3",
    /* the head of each key: nothing earlier of the same key undelivered */
    [STMT_OUTBOX_DUE] =
        "SELECT " OUTBOX_COLS("o.body") " FROM outbox o" OUTBOX_PRICED
        " WHERE o.status = 'pending' AND o.next_attempt_at <= $1"
        " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.order_key = o.order_key"
        "                 AND p.seq < o.seq AND p.status <> 'delivered')"
        " ORDER BY o.seq LIMIT $2",
    [STMT_OUTBOX_CLAIM] =
        "UPDATE outbox SET next_attempt_at = $1"
        " WHERE id = $2 AND status = 'pending' AND next_attempt_at <= $3",
    [STMT_OUTBOX_GET] =
        "SELECT " OUTBOX_COLS("o.body") " FROM outbox o" OUTBOX_PRICED " WHERE o.id = $1",
    [STMT_OUTBOX_STATUS] =
        "SELECT status FROM outbox WHERE id = $1",
    [STMT_OUTBOX_DELIVERED] =
        "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = $1,"
        " last_error = NULL WHERE id = $2 AND status = 'pending'",
    [STMT_OUTBOX_FAILED] =
        "UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2,"
        " status = CASE WHEN $3 = 1 THEN 'failed' ELSE 'pending' END"
        " WHERE id = $4 AND status = 'pending'",
    [STMT_OUTBOX_REPLAY] =
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $1"
        " WHERE id = $2 AND status = 'failed'",
    [STMT_CONTRACT_COUNTER_NEXT] =
        "INSERT INTO contract_counters (year, last_seq) VALUES ($1, 1)"
        " ON CONFLICT (year) DO UPDATE SET last_seq = contract_counters.last_seq + 1"
        " RETURNING last_seq",
    [STMT_CONTRACT_INSERT] =
        "INSERT INTO contracts (id, number, year, seq, quote_id, quote_version, customer_id,"
        " partner_id, currency, total, signed_on, start_on, catalog_version, request, created_by,"
        " created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        " ON CONFLICT DO NOTHING",
    [STMT_CONTRACT_GET] =
        "SELECT " CONTRACT_COLS " FROM contracts WHERE id = $1",
    [STMT_CONTRACT_BY_QUOTE] =
        "SELECT " CONTRACT_COLS " FROM contracts WHERE quote_id = $1",
    [STMT_CONTRACT_LIST] =
        "SELECT k.id, k.number, k.quote_id, k.quote_version, k.customer_id, k.partner_id,"
        " k.currency, k.total, k.signed_on, k.start_on, k.catalog_version, NULL, k.created_by,"
        " k.created_at FROM contracts k"
        " WHERE (CAST($1 AS TEXT) IS NULL OR k.customer_id = $1)"
        " AND (CAST($2 AS TEXT) IS NULL OR k.quote_id = $2)"
        " AND (CAST($3 AS TEXT) IS NULL OR k.partner_id = $3)"
        " AND (CAST($4 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM contracts a WHERE a.id = $4"
        "      AND (k.created_at, k.year, k.seq) < (a.created_at, a.year, a.seq)))"
        " ORDER BY k.created_at DESC, k.year DESC, k.seq DESC LIMIT $5",
    [STMT_RECV_INSERT] =
        "INSERT INTO receivables (id, contract_id, line_id, line_no, kind, service, seq, part, ref,"
        " waits_for, due_on, bill_on, expected_on, period_from, period_to, amount, amount_known,"
        " description, paid)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
        " $18, $19) ON CONFLICT DO NOTHING",
    [STMT_RECV_OF_CONTRACT] =
        "SELECT " RECV_COLS " FROM receivables r JOIN contracts c ON c.id = r.contract_id"
        " WHERE r.contract_id = $1",
    [STMT_RECV_GET] =
        "SELECT " RECV_COLS " FROM receivables r JOIN contracts c ON c.id = r.contract_id"
        " WHERE r.id = $1",
    /* candidates of the due-soon and overdue lists: known due dates up to
     * $1, optionally one partner's ($2) */
    [STMT_RECV_DUE_UNTIL] =
        "SELECT " RECV_COLS " FROM receivables r JOIN contracts c ON c.id = r.contract_id"
        " WHERE r.due_on IS NOT NULL AND r.due_on <= $1"
        " AND (CAST($2 AS TEXT) IS NULL OR c.partner_id = $2)"
        " ORDER BY r.due_on, c.number, r.line_no, r.id",
    /* a due list's page, filtered and paged in SQL (store_receivables_due_page):
     * row values compare as the order does (byte order: SQLite's BINARY
     * collation, PostgreSQL databases made with collation C) */
    [STMT_RECV_DUE_PAGE] =
        "SELECT " RECV_COLS " FROM receivables r JOIN contracts c ON c.id = r.contract_id"
        " WHERE r.due_on IS NOT NULL AND r.due_on <= $1"
        " AND (CAST($2 AS TEXT) IS NULL OR c.partner_id = $2)"
        " AND (CAST($3 AS TEXT) IS NULL OR c.customer_id = $3)"
        " AND (CAST($4 AS TEXT) IS NULL OR r.contract_id = $4)"
        " AND (CAST($5 AS TEXT) IS NULL OR (r.due_on, c.number, r.line_no, r.id) > ($5, $6, $7, $8))"
        " ORDER BY r.due_on, c.number, r.line_no, r.id LIMIT $9",
    [STMT_RECV_SET_PAID] =
        "UPDATE receivables SET paid = $1 WHERE id = $2 AND paid = $3",
    [STMT_RECV_SET_DATES] =
        "UPDATE receivables SET waits_for = $1, due_on = $2, bill_on = $3, expected_on = $4,"
        " description = $5 WHERE contract_id = $6 AND line_no = $7 AND kind = $8"
        " AND service = $9 AND seq = $10 AND part = $11",
    [STMT_PAYMENT_INSERT] =
        "INSERT INTO payments (id, receivable_id, client_id, amount, paid_on, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (receivable_id, client_id) DO NOTHING",
    [STMT_PAYMENT_GET] =
        "SELECT " PAYMENT_COLS " FROM payments WHERE receivable_id = $1 AND client_id = $2",
    [STMT_PAYMENTS_OF] =
        "SELECT " PAYMENT_COLS " FROM payments WHERE receivable_id = $1 ORDER BY paid_on, created_at, id",
    [STMT_PAYMENTS_OF_CONTRACT] =
        "SELECT p.id, p.receivable_id, p.client_id, p.amount, p.paid_on, p.created_at"
        " FROM payments p JOIN receivables r ON r.id = p.receivable_id WHERE r.contract_id = $1"
        " ORDER BY p.paid_on, p.created_at, p.id",
    [STMT_LINE_EVENTS_OF] =
        "SELECT contract_id, line_no, event, ref, happened_on, recorded_by, recorded_at"
        " FROM contract_line_events WHERE contract_id = $1 ORDER BY line_no, event, ref",
    [STMT_LINE_EVENT_INSERT] =
        "INSERT INTO contract_line_events (contract_id, line_no, event, ref, happened_on,"
        " recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (contract_id, line_no, event, ref) DO NOTHING",
    [STMT_USAGE_GET] =
        "SELECT " USAGE_COLS " FROM usage_records WHERE contract_id = $1 AND client_id = $2",
    [STMT_USAGE_INSERT] =
        "INSERT INTO usage_records (contract_id, client_id, line_no, seq, quantity, recorded_on,"
        " recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (contract_id, client_id) DO NOTHING",
    [STMT_USAGE_OF_PERIOD] =
        "SELECT " USAGE_COLS " FROM usage_records"
        " WHERE contract_id = $1 AND line_no = $2 AND seq = $3 ORDER BY created_at, client_id",
    /* an open usage item gets its amount once: amount_known = 0 guards
     * against a second close racing the first */
    [STMT_RECV_SET_AMOUNT] =
        "UPDATE receivables SET amount = $1, amount_known = 1, waits_for = $2, due_on = $3,"
        " bill_on = $4, expected_on = $5, description = $6 WHERE contract_id = $7"
        " AND line_no = $8 AND kind = $9 AND service = $10 AND seq = $11 AND part = $12"
        " AND amount_known = 0",
    [STMT_CONTRACT_SET_TOTAL] =
        "UPDATE contracts SET total = $1 WHERE id = $2 AND total = $3",
    /* open usage items whose period ended on or before $1 */
    [STMT_RECV_OPEN_USAGE] =
        "SELECT " RECV_COLS " FROM receivables r JOIN contracts c ON c.id = r.contract_id"
        " WHERE r.kind = 'usage' AND r.amount_known = 0 AND r.period_to <= $1"
        " ORDER BY c.number, r.line_no, r.seq, r.part",
    [STMT_WARNING_INSERT] =
        "INSERT INTO receivable_warnings (receivable_id, state, at) VALUES ($1, $2, $3)"
        " ON CONFLICT (receivable_id, state) DO NOTHING",
    [STMT_CHANGES_OF] =
        "SELECT " CHANGE_COLS " FROM contract_line_changes WHERE contract_id = $1"
        " ORDER BY line_no, effective_on, change_no, term_no, created_at",
    [STMT_CHANGE_INSERT] =
        "INSERT INTO contract_line_changes (" CHANGE_COLS ")"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        " ON CONFLICT (contract_id, kind, client_id) DO NOTHING",
    /* a seat change reprices a later period: the old amount guards it */
    [STMT_RECV_RESET_AMOUNT] =
        "UPDATE receivables SET amount = $1 WHERE contract_id = $2 AND line_no = $3 AND kind = $4"
        " AND service = $5 AND seq = $6 AND part = $7 AND amount = $8",
    /* the last period items of subscription lines whose term ended on or
     * before $1 (renewal candidates of the sweep) */
    [STMT_RECV_TERMS_ENDED] =
        "SELECT " RECV_COLS " FROM receivables r JOIN contracts c ON c.id = r.contract_id"
        " WHERE r.kind = 'period' AND r.period_to <= $1 AND r.period_to = (SELECT MAX(x.period_to)"
        " FROM receivables x WHERE x.contract_id = r.contract_id AND x.line_no = r.line_no"
        " AND x.kind = 'period') ORDER BY c.number, r.line_no, r.seq, r.part",
    [STMT_PROMO_USAGE_GET] =
        "SELECT uses, spent FROM promotion_usage WHERE promotion = $1 AND scope = $2",
    /* the scopes a limit rule reads ($2; $3, $4 may be NULL) of 1, 2 or
     * 4 promotions ($1, then $5..$7; unused ones NULL), in one statement:
     * a seek on the key for each pair (an IN list would build two
     * temporary tables on every run), no more pairs than asked for (each
     * costs its seek, NULL or not) */
    [STMT_PROMO_USAGE_1] = USAGE_ARMS1,
    [STMT_PROMO_USAGE_2] = USAGE_ARMS1 USAGE_ARMS("5"),
    [STMT_PROMO_USAGE_4] = USAGE_ARMS1 USAGE_ARMS("5") USAGE_ARMS("6") USAGE_ARMS("7"),
    [STMT_PROMO_USAGE_SET] =
        "INSERT INTO promotion_usage (promotion, scope, uses, spent) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (promotion, scope) DO UPDATE SET uses = $3, spent = $4",
    [STMT_SWEEP_FAIL_GET] =
        "SELECT " SWEEP_FAIL_COLS " FROM sweep_failures WHERE item = $1",
    [STMT_SWEEP_FAIL_INSERT] =
        "INSERT INTO sweep_failures (" SWEEP_FAIL_COLS ")"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)",
    /* another failure: a resolved item starts a new run of failures */
    [STMT_SWEEP_FAIL_AGAIN] =
        "UPDATE sweep_failures SET kind = $1, contract_id = $2, ref = $3, code = $4,"
        " message = $5, first_failed_at = $6, last_failed_at = $7, failures = $8,"
        " resolved_at = NULL WHERE item = $9",
    [STMT_SWEEP_FAIL_RESOLVE] =
        "UPDATE sweep_failures SET resolved_at = $1 WHERE item = $2 AND resolved_at IS NULL",
    /* $1: 0 all, 1 failing only, 2 resolved only; newest failure first */
    [STMT_SWEEP_FAIL_LIST] =
        "SELECT " SWEEP_FAIL_COLS " FROM sweep_failures WHERE $1 = 0"
        " OR ($1 = 1 AND resolved_at IS NULL) OR ($1 = 2 AND resolved_at IS NOT NULL)"
        " ORDER BY last_failed_at DESC, item LIMIT $2",
    [STMT_OUTBOX_PRUNE] =
        "DELETE FROM outbox WHERE status = 'delivered' AND delivered_at < $1",
    /* a counter of flat writes written back (store_flat_end) */
    [STMT_OUTBOX_SEQ_SET] =
        "UPDATE outbox_counter SET last_seq = $1 WHERE id = 1",
};
/* clang-format on */
