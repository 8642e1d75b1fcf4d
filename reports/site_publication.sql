-- The publication file of a rating date (OUT_DIR/<as_of>/public.sqlite): everything the
-- public pages show, already suppressed. Written once by the nightly run, then read-only.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
CREATE TABLE compounds (
  compound_id TEXT PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT, aliases TEXT, district TEXT,
  street TEXT, community TEXT, street_slug TEXT, safety_index REAL, stars INTEGER, status TEXT,
  downgrade_kinds TEXT, lapse_on TEXT, months_withheld INTEGER, street_avg REAL, street_five REAL,
  district_avg REAL, district_five REAL, plaque_serial TEXT, plaque_path TEXT,
  -- this month's needs and check-ins: a count NULL is under the threshold (少量); a share NULL
  -- is not shown (nothing to share, or a part of it under the threshold)
  needs_received INTEGER, needs_closed INTEGER, checkins INTEGER, on_time_share REAL, satisfaction_share REAL,
  appeal_filed TEXT, appeal_status TEXT, appeal_outcome TEXT, reply_text TEXT, leading TEXT,
  -- JSON, read with the compound (one lookup a page): {"rows": [...]} of the category groups
  -- with at least one incident in display order, {"label", "n"}, and of the 12 trend months
  -- ending with the month of meta.as_of, {"n", "safety_index"}. n null: fewer than the
  -- threshold (少量), or the monthly counts withheld.
  groups TEXT NOT NULL, months TEXT NOT NULL
);
CREATE INDEX compounds_street ON compounds (street_slug, name, compound_id);
CREATE TABLE streets (street_slug TEXT PRIMARY KEY, district TEXT, street TEXT, n INTEGER) WITHOUT ROWID;
-- district NULL: the whole city.
CREATE TABLE districts (district TEXT, n INTEGER, n_rated INTEGER, n_five INTEGER, avg REAL, five REAL);
CREATE TABLE plaques (
  serial TEXT PRIMARY KEY, compound_id TEXT, stars INTEGER, rating_year INTEGER, issued_on TEXT,
  status_changed_on TEXT, status TEXT, current_serial TEXT, current_stars INTEGER, path TEXT
) WITHOUT ROWID;
